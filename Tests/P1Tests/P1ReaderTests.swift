import HAL
import Simulator
import TestSupport
import Testing

@testable import P1

/// Lets escaping `refill` closures share one simulator.
private final class MeterBox {
    var meter: P1MeterSimulator
    init(_ meter: P1MeterSimulator) { self.meter = meter }
    func next() -> [UInt8] { meter.nextTelegram() }
}

@Test func readerDeliversTelegramsFromAPortInChunks() throws {
    let port = InMemorySerialPort(maxChunk: 37)
    let telegram = try Fixtures.bytes("nl_dsmr50_iskra_mt382_v5.txt")
    port.enqueue(Array(telegram[300...]) + telegram + telegram)
    var reader = P1Reader<InMemorySerialPort>(configuration: .dsmr5) { _ throws(HALError) in port }
    let telegrams = try reader.readTelegrams(count: 5, maxPolls: 200, timeout: .milliseconds(100))
    #expect(telegrams.count == 2)
    #expect(telegrams.allSatisfy { $0["1-0:1.8.1"] == "4.426 kWh" })
    #expect(reader.openCount == 1)
    #expect(reader.statistics.telegrams == 2)
}

@Test func readerReopensAfterThePortBecomesUnavailable() throws {
    let telegram = try Fixtures.bytes("nl_dsmr42_kaifa_v4_2.txt")
    var ports: [InMemorySerialPort] = []
    var reader = P1Reader<InMemorySerialPort>(configuration: .dsmr5) { configuration throws(HALError) in
        let port = InMemorySerialPort(configuration: configuration, maxChunk: 100)
        ports.append(port)
        return port
    }
    var telegrams = 0
    var rejections: [P1RejectReason] = []
    let handler: (P1StreamEvent) -> Void = { event in
        switch event {
        case .telegram: telegrams += 1
        case .rejected(let rejection): rejections.append(rejection.reason)
        case .frameFailed: break
        }
    }
    try reader.poll(timeout: .milliseconds(10), handler)  // opens port 1, nothing queued
    ports[0].enqueue(telegram + Array(telegram.prefix(400)))
    for _ in 0..<13 { try reader.poll(timeout: .milliseconds(10), handler) }
    #expect(telegrams == 1)
    ports[0].unplug()
    try reader.poll(timeout: .milliseconds(10), handler)  // throws .unavailable inside → dropped
    #expect(reader.port == nil)
    #expect(reader.lostCount == 1)
    #expect(rejections == [.interrupted])
    try reader.poll(timeout: .milliseconds(10), handler)  // reopens: port 2
    #expect(ports.count == 2)
    #expect(reader.openCount == 2)
    ports[1].enqueue(Array(telegram.suffix(100)) + telegram)
    for _ in 0..<20 { try reader.poll(timeout: .milliseconds(10), handler) }
    #expect(telegrams == 2)
}

@Test func readerPropagatesOpenFailuresAndOtherReadErrors() throws {
    var attempts = 0
    var reader = P1Reader<InMemorySerialPort>(configuration: .dsmr5) { _ throws(HALError) in
        attempts += 1
        throw HALError(.permissionDenied, subsystem: "tty", device: "/dev/ttyUSB0", operation: "open")
    }
    #expect(throws: HALError.self) { try reader.poll(timeout: .seconds(1)) { _ in } }
    #expect(attempts == 1)
    let port = InMemorySerialPort()
    port.failure = HALError(.io, subsystem: "mem", device: "p", operation: "read")
    port.failureCount = 1
    var second = P1Reader<InMemorySerialPort>(configuration: .dsmr5) { _ throws(HALError) in port }
    #expect(throws: HALError(.io, subsystem: "mem", device: "p", operation: "read")) {
        try second.poll(timeout: .seconds(1)) { _ in }
    }
    #expect(second.port != nil, "an I/O error keeps the port")
}

@Test func encryptedReaderDecryptsSmartyFrames() throws {
    let key: [UInt8] = Array(100..<116)
    let box = MeterBox(try P1MeterSimulator(profile: .smartyEncrypted, seed: 2, encryptionKey: key))
    let port = InMemorySerialPort(maxChunk: 200)
    port.refill = box.next
    var reader = P1Reader<InMemorySerialPort>(
        configuration: .dsmr5, decryptor: try P1Decryptor(encryptionKey: key), port: port
    ) { _ throws(HALError) in port }
    let telegrams = try reader.readTelegrams(count: 3, maxPolls: 200, timeout: .seconds(1))
    #expect(telegrams.count == 3)
    #expect(telegrams.last?.reading.importWh.total == P1Decimal(box.meter.counters.importTotalWh))
    #expect(reader.failedFrames == 0)
}

@Test(arguments: [P1SimulatedProfile.dsmr5NL, .dsmr22, .dsmr42, .belgian3PhaseGasWater])
func autoDetectionFindsTheMetersLineSetting(profile: P1SimulatedProfile) throws {
    let clock = InMemorySerialClock()
    let box = MeterBox(try P1MeterSimulator(profile: profile, seed: 8))
    var opened: [SerialConfiguration] = []
    let detector = P1AutoDetector()
    let detection = try detector.detect(
        open: { (configuration: SerialConfiguration) throws(HALError) -> InMemorySerialPort in
            opened.append(configuration)
            let port = InMemorySerialPort(
                configuration: configuration, meterConfiguration: profile.serialConfiguration, maxChunk: 256,
                clock: clock)
            port.enqueue(Array(box.next().dropFirst(50)))  // joined mid-telegram
            port.refill = box.next
            return port
        }, now: { clock.now })
    #expect(detection.configuration == profile.serialConfiguration)
    #expect(detection.port.configuration == profile.serialConfiguration)
    let expectedOrder: [SerialConfiguration] = [.dsmr5, .dsmr22, .dsmr42Kaifa]
    #expect(opened == Array(expectedOrder.prefix(opened.count)))
    #expect(opened.last == profile.serialConfiguration)
    #expect(detection.telegram.reading.importWh.total == P1Decimal(box.meter.counters.importWh.reduce(0, +)))
}

@Test func autoDetectionReportsWhatItTried() throws {
    let clock = InMemorySerialClock()
    let detector = P1AutoDetector(window: .seconds(5))
    #expect(throws: P1Error.noMeterDetected(tried: [.dsmr5, .dsmr22, .dsmr42Kaifa])) {
        try detector.detect(
            open: { (configuration: SerialConfiguration) throws(HALError) -> InMemorySerialPort in
                InMemorySerialPort(configuration: configuration, clock: clock)
            }, now: { clock.now })
    }
    #expect(clock.now >= .seconds(15))
    #expect(throws: P1Error.serial(HALError(.unavailable, subsystem: "tty", device: "/dev/ttyUSB9", operation: "open")))
    {
        try detector.detect(
            open: { (_: SerialConfiguration) throws(HALError) -> InMemorySerialPort in
                throw HALError(.unavailable, subsystem: "tty", device: "/dev/ttyUSB9", operation: "open")
            }, now: { clock.now })
    }
}

@Test func encryptedReaderRecoversFromAnUnplugMidFrame() throws {
    let key: [UInt8] = Array(1...16)
    var meter = try P1MeterSimulator(profile: .smartyEncrypted, seed: 4, encryptionKey: key)
    let first = meter.nextTelegram()
    let second = meter.nextTelegram()
    let port = InMemorySerialPort(maxChunk: 300)
    port.enqueue(Array(first.prefix(500)))
    var telegrams: [P1Telegram] = []
    var failures = 0
    var reader = P1Reader<InMemorySerialPort>(
        configuration: .dsmr5, decryptor: try P1Decryptor(encryptionKey: key), port: port
    ) { _ throws(HALError) in port }
    let handler: (P1StreamEvent) -> Void = { event in
        switch event {
        case .telegram(let telegram): telegrams.append(telegram)
        case .frameFailed: failures += 1
        case .rejected: break
        }
    }
    for _ in 0..<2 { try reader.poll(timeout: .milliseconds(10), handler) }
    port.unplug(reads: 1)
    try reader.poll(timeout: .milliseconds(10), handler)
    #expect(reader.lostCount == 1)
    port.enqueue(second)  // the rest of `first` never arrives
    for _ in 0..<10 { try reader.poll(timeout: .milliseconds(10), handler) }
    #expect(telegrams.count == 1)
    #expect(failures == 0, "the partial frame was dropped, not decrypted")
    #expect(telegrams.first == (try P1Telegram.parse(meter.lastPlaintext)))
}

extension P1Reader {
    /// Polls until `count` telegrams arrived or `maxPolls` reads were made; returns the telegrams.
    mutating func readTelegrams(count: Int, maxPolls: Int, timeout: Duration) throws(HALError) -> [P1Telegram] {
        var telegrams: [P1Telegram] = []
        var polls = 0
        while telegrams.count < count && polls < maxPolls {
            polls += 1
            try poll(timeout: timeout) { event in
                if case .telegram(let telegram) = event { telegrams.append(telegram) }
            }
        }
        return telegrams
    }

}

/// Records what a reader's tap sees (P1 sharing).
private struct RecordingTap: P1StreamTap {
    var received: [UInt8] = []
    var decrypted: [[UInt8]] = []
    mutating func received(_ bytes: [UInt8]) { received += bytes }
    mutating func decrypted(_ plaintext: [UInt8]) { decrypted.append(plaintext) }
}

@Test func tapSeesTheBytesAsReadAndEachDecryptedTelegram() throws {
    let key: [UInt8] = Array(100..<116)
    let box = MeterBox(try P1MeterSimulator(profile: .smartyEncrypted, seed: 3, encryptionKey: key))
    let frames = [box.next(), box.next(), box.next()]
    let port = InMemorySerialPort(maxChunk: 97)
    port.enqueue(frames.flatMap { $0 })
    var reader = P1Reader<InMemorySerialPort>(
        configuration: .dsmr5, decryptor: try P1Decryptor(encryptionKey: key), port: port
    ) { _ throws(HALError) in port }
    var tap = RecordingTap()
    var telegrams = 0
    for _ in 0..<100 where tap.received.count < frames.joined().count {
        try reader.poll(timeout: .milliseconds(10), tap: &tap) { if case .telegram = $0 { telegrams += 1 } }
    }
    #expect(tap.received == frames.flatMap { $0 })
    #expect(telegrams == 3)
    #expect(tap.decrypted.count == 3)
    #expect(tap.decrypted.allSatisfy { $0.first == UInt8(ascii: "/") })
    // The decrypted telegram is what a plaintext meter would send: it splits as one whole telegram.
    var splitter = P1TelegramSplitter()
    var whole: [[UInt8]] = []
    for plaintext in tap.decrypted { splitter.feed(plaintext) { whole.append($0) } }
    #expect(whole == tap.decrypted)
    // Whole frames as read, cut by the frame splitter.
    var frameSplitter = P1FrameSplitter()
    var cut: [[UInt8]] = []
    frameSplitter.feed(tap.received) { cut.append($0) }
    #expect(cut == frames)
}
