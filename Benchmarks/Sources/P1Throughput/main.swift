// P1Throughput: times the P1 hot path (framing + CRC + parsing + P1Reading) per fixture telegram and counts heap
// allocations per telegram. Used by scripts/bench-p1; prints one JSON object per fixture and measurement.
//
//   P1Throughput [--seconds S] [--fixture be|nl|all] [--mode throughput|allocations]
//
// `--mode allocations` needs libMallocInterposerSwift.so preloaded (LD_PRELOAD), as the benchmark plugin does;
// without it the counters stay at zero and the run fails with a message saying so.

import BenchSupport
import MallocInterposerSwift
import P1

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Options {
    var seconds = 2.0
    var fixtures = P1Fixture.allCases
    var mode = "throughput"

    init(_ arguments: [String]) throws(BenchError) {
        var index = 1
        func value() throws(BenchError) -> String {
            index += 1
            guard index < arguments.count else { throw BenchError("\(arguments[index - 1]) needs a value") }
            return arguments[index]
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--seconds":
                let text = try value()
                guard let parsed = Double(text), parsed > 0 else {
                    throw BenchError("--seconds expects a positive number, got '\(text)'")
                }
                seconds = parsed
            case "--fixture":
                let text = try value()
                if text == "all" {
                    fixtures = P1Fixture.allCases
                } else if let fixture = P1Fixture(rawValue: text) {
                    fixtures = [fixture]
                } else {
                    throw BenchError("--fixture expects be, nl or all, got '\(text)'")
                }
            case "--mode":
                let text = try value()
                guard ["throughput", "allocations"].contains(text) else {
                    throw BenchError("--mode expects throughput or allocations, got '\(text)'")
                }
                mode = text
            case "--help", "-h":
                print("usage: P1Throughput [--seconds S] [--fixture be|nl|all] [--mode throughput|allocations]")
                exit(0)
            default:
                throw BenchError("unknown argument '\(arguments[index])'")
            }
            index += 1
        }
    }
}

func format(_ value: Double, decimals: Int = 1) -> String {
    let scale = Double([1, 10, 100, 1000, 10000][min(decimals, 4)])
    let rounded = (value * scale).rounded() / scale
    return "\(rounded)"
}

/// Feeds the single telegram repeatedly to one long-lived framer (as the firmware does with the serial stream) in
/// batches of ~50 ms for `seconds`, and reports the median and best batch rates, by thread CPU time and wall time.
func measureThroughput(_ workload: P1Workload, seconds: Double) throws(BenchError) -> String {
    var framer = P1Framer()
    var total = P1StreamResult()
    let telegram = workload.telegram
    func run(_ count: Int) -> (cpu: UInt64, wall: UInt64) {
        let cpu0 = BenchClock.threadCPUNanoseconds()
        let wall0 = BenchClock.wallNanoseconds()
        telegram.withUnsafeBufferPointer { buffer in
            for _ in 0..<count { total += feedAndRead(&framer, buffer) }
        }
        return (BenchClock.threadCPUNanoseconds() - cpu0, BenchClock.wallNanoseconds() - wall0)
    }
    // Warm-up and batch calibration: aim for ~50 ms of CPU per batch.
    var batch = 100
    while true {
        let (cpu, _) = run(batch)
        if cpu >= 20_000_000 || batch >= 10_000_000 { break }
        batch *= 4
    }
    let target = UInt64(seconds * 1e9)
    var cpuRates: [Double] = []
    var wallRates: [Double] = []
    var spent: UInt64 = 0
    var measured = 0
    while spent < target || cpuRates.count < 5 {
        let (cpu, wall) = run(batch)
        cpuRates.append(Double(batch) / (Double(max(cpu, 1)) / 1e9))
        wallRates.append(Double(batch) / (Double(max(wall, 1)) / 1e9))
        spent += wall
        measured += batch
    }
    let expected = total.telegrams
    try workload.verify(total, expectedTelegrams: expected)
    guard total.telegrams > measured else { throw BenchError("no telegram was parsed") }
    let cpuMedian = median(cpuRates)
    return """
        {"fixture":"\(workload.fixture.rawValue)","label":"\(workload.fixture.label)",\
        "bytes":\(telegram.count),"telegrams":\(measured),"batches":\(cpuRates.count),\
        "telegrams_per_s_cpu_median":\(format(cpuMedian)),"telegrams_per_s_cpu_best":\(format(cpuRates.max() ?? 0)),\
        "telegrams_per_s_wall_median":\(format(median(wallRates))),\
        "ns_per_telegram_cpu":\(format(1e9 / cpuMedian)),\
        "mb_per_s_cpu":\(format(cpuMedian * Double(telegram.count) / 1e6))}
        """
}

/// Counts heap allocations: per telegram for a long-lived framer fed one telegram at a time (steady state), and
/// for a fresh framer fed 1000 concatenated telegrams in one buffer (must equal 1000 × the steady state plus the
/// framer's own one-time allocations: no per-stream growth).
func measureAllocations(_ workload: P1Workload) throws(BenchError) -> String {
    // Is the interposer loaded? A malloc/free pair through an opaque call must be counted.
    MallocInterposerSwift.initialize()
    MallocInterposerSwift.hook()
    let probe = malloc(64)
    keepAlive(probe)
    free(probe)
    MallocInterposerSwift.unhook()
    guard MallocInterposerSwift.getStatistics().mallocCount >= 1 else {
        throw BenchError(
            "allocation counting is not active: run with LD_PRELOAD=<Benchmarks/.build/release>/"
                + "libMallocInterposerSwift.so (scripts/bench-p1 does)")
    }

    let count = 1000
    // Steady state: one framer, one telegram per feed call.
    var framer = P1Framer()
    var result = P1StreamResult()
    workload.telegram.withUnsafeBufferPointer { buffer in
        for _ in 0..<10 { result += feedAndRead(&framer, buffer) }  // warm-up (first-use allocations)
    }
    MallocInterposerSwift.reset()
    MallocInterposerSwift.hook()
    workload.telegram.withUnsafeBufferPointer { buffer in
        for _ in 0..<count { result += feedAndRead(&framer, buffer) }
    }
    MallocInterposerSwift.unhook()
    let steady = MallocInterposerSwift.getStatistics()
    try workload.verify(result, expectedTelegrams: count + 10)

    // 1000 concatenated telegrams into a fresh framer (framer creation included).
    let stream = workload.concatenated(count)
    MallocInterposerSwift.reset()
    MallocInterposerSwift.hook()
    var fresh = P1Framer()
    let streamResult = stream.withUnsafeBufferPointer { feedAndRead(&fresh, $0) }
    MallocInterposerSwift.unhook()
    let concatenated = MallocInterposerSwift.getStatistics()
    keepAlive(fresh)
    try workload.verify(streamResult, expectedTelegrams: count)

    let perTelegram = Double(steady.mallocCount) / Double(count)
    return """
        {"fixture":"\(workload.fixture.rawValue)","label":"\(workload.fixture.label)",\
        "mallocs_per_telegram":\(format(perTelegram, decimals: 3)),\
        "frees_per_telegram":\(format(Double(steady.freeCount) / Double(count), decimals: 3)),\
        "malloc_bytes_per_telegram":\(format(Double(steady.mallocBytesCount) / Double(count))),\
        "concat_telegrams":\(count),"concat_mallocs":\(concatenated.mallocCount),\
        "concat_frees":\(concatenated.freeCount),\
        "concat_mallocs_per_telegram":\(format(Double(concatenated.mallocCount) / Double(count), decimals: 3)),\
        "concat_retained_allocations":\(concatenated.mallocCount - concatenated.freeCount)}
        """
}

do {
    let options = try Options(CommandLine.arguments)
    for fixture in options.fixtures {
        let workload = try P1Workload(fixture)
        if options.mode == "allocations" {
            print(try measureAllocations(workload))
        } else {
            print(try measureThroughput(workload, seconds: options.seconds))
        }
    }
} catch {
    printError("P1Throughput: \(error)")
    exit(1)
}
