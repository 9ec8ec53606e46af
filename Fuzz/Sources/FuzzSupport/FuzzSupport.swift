/// Chunk sizes 1…64 that vary along `input` (a pseudo-random walk from `seed`): feeds a streaming decoder the way
/// a serial port or a socket would, split anywhere.
public func fuzzChunks(_ input: [UInt8], seed: Int) -> [ArraySlice<UInt8>] {
    var result: [ArraySlice<UInt8>] = []
    var state = UInt32(truncatingIfNeeded: seed) &* 2_654_435_761 &+ 1
    var index = 0
    while index < input.count {
        state = state &* 1_103_515_245 &+ 12345
        let size = 1 + Int((state >> 16) % 64)
        let end = min(input.count, index + size)
        result.append(input[index..<end])
        index = end
    }
    return result
}

/// Traps on a broken invariant, so libFuzzer records the input as a crash. Only for properties of the code under
/// test: an input the code rejects properly is not a finding.
public func fuzzCheck(_ condition: Bool, _ target: String, _ message: @autoclosure () -> String) {
    if !condition { fatalError("\(target) fuzz invariant broken: \(message())") }
}
