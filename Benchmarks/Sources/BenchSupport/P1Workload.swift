import P1

/// What feeding a byte stream produced: counts plus a digest of the readings, so the optimiser cannot drop the
/// work and a run can be checked against the expected telegram count.
public struct P1StreamResult: Sendable, Equatable {
    public var telegrams = 0
    public var rejected = 0
    /// Sum over readings of a few normalised values (import tariff 1 in Wh, L1 voltage, M-Bus device count).
    public var digest: Int64 = 0

    public init() {}

    public static func += (lhs: inout P1StreamResult, rhs: P1StreamResult) {
        lhs.telegrams += rhs.telegrams
        lhs.rejected += rhs.rejected
        lhs.digest &+= rhs.digest
    }
}

/// The measured unit of work, as the firmware does it for every telegram off the serial port: framing, CRC-16/ARC
/// check, line parsing into `P1Telegram` (all inside `P1Framer.feed`), then building the normalised `P1Reading`.
///
/// Not inlined, so every caller (ordo-one benchmark, timed executable) measures the same compiled code.
@inline(never)
public func feedAndRead(_ framer: inout P1Framer, _ bytes: UnsafeBufferPointer<UInt8>) -> P1StreamResult {
    var result = P1StreamResult()
    framer.feed(buffer: bytes) { event in
        switch event {
        case .telegram(let telegram):
            let reading = telegram.reading
            result.telegrams += 1
            result.digest &+= reading.importWh.tariffs[0]?.mantissa ?? 0
            result.digest &+= reading.phases[0].voltageV?.mantissa ?? 0
            result.digest &+= Int64(reading.mbus.count)
        case .rejected:
            result.rejected += 1
        }
    }
    return result
}

/// One fixture telegram, checked once, plus the same telegram repeated back to back (a continuous serial stream).
public struct P1Workload: Sendable {
    public let fixture: P1Fixture
    /// The telegram's bytes, `/` … `!CRC\r\n`.
    public let telegram: [UInt8]
    /// The digest of one telegram (see `P1StreamResult.digest`).
    public let digestPerTelegram: Int64

    /// Loads `fixture` and checks that it frames to exactly one CRC-checked telegram.
    /// - Throws: `BenchError` when the file is missing or does not parse as exactly one valid telegram.
    public init(_ fixture: P1Fixture) throws(BenchError) {
        self.fixture = fixture
        telegram = try fixture.load()
        var framer = P1Framer()
        var crcChecked = 0
        var rejections: [String] = []
        framer.feed(telegram) { event in
            switch event {
            case .telegram(let parsed): if parsed.transmittedCRC == parsed.computedCRC { crcChecked += 1 }
            case .rejected(let rejection): rejections.append(rejection.description)
            }
        }
        guard crcChecked == 1, rejections.isEmpty else {
            throw BenchError(
                "\(fixture.fileName): expected exactly one telegram with a valid CRC, got \(crcChecked) "
                    + "and rejections \(rejections)")
        }
        var check = P1Framer()
        let once = telegram.withUnsafeBufferPointer { feedAndRead(&check, $0) }
        digestPerTelegram = once.digest
    }

    /// `count` copies of the telegram back to back.
    public func concatenated(_ count: Int) -> [UInt8] {
        var stream: [UInt8] = []
        stream.reserveCapacity(telegram.count * count)
        for _ in 0..<count { stream.append(contentsOf: telegram) }
        return stream
    }

    /// Checks a run's result against `expectedTelegrams` copies of this telegram.
    /// - Throws: `BenchError` when telegrams were lost or rejected, or the readings differ.
    public func verify(_ result: P1StreamResult, expectedTelegrams: Int) throws(BenchError) {
        guard result.telegrams == expectedTelegrams, result.rejected == 0,
            result.digest == digestPerTelegram &* Int64(expectedTelegrams)
        else {
            throw BenchError(
                "\(fixture.fileName): expected \(expectedTelegrams) telegrams and 0 rejections, got "
                    + "\(result.telegrams) telegrams, \(result.rejected) rejections (digest \(result.digest))")
        }
    }
}
