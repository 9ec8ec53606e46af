import CivilTime

/// The byte encoding of ``IntervalRecord`` inside the ring (pure; no I/O).
///
/// A record is a presence bitmap (LEB128 varint) followed by the fields whose bit is set, each a LEB128 varint
/// (unsigned for quantities that are ≥ 0, zigzag for signed ones), in bit order. Absent and zero fields cost
/// nothing. Everything is relative to the *context* left by the previous record (its end time, its month peak
/// and its last sequence number; the ring header holds the context before the oldest record), so a typical
/// one-minute record costs 10 bytes:
///
/// | bit | field (present when …)                          | encoding                                    |
/// |-----|--------------------------------------------------|---------------------------------------------|
/// | 0   | P1 import T1 ≠ 0                                 | varint Wh                                   |
/// | 1   | P1 avg power ≠ estimate from energy              | zigzag(avg − netWh·3600/duration)           |
/// | 2   | P1 max import ≠ 0                                | varint W                                    |
/// | 3   | P1 voltage min present                           | zigzag(min − 2300) (0.1 V)                  |
/// | 4   | P1 voltage max present                           | varint(max − min), or zigzag(max − 2300) without a min |
/// | 5   | P1 gas ≠ 0                                       | varint litres                               |
/// | 6   | P1 quarter-hour demand ≠ 0                       | varint W                                    |
/// | 7–9 | P1 import T2, export T1, export T2 ≠ 0           | varint Wh                                   |
/// | 10  | P1 max export ≠ 0                                | varint W                                    |
/// | 11  | P1 water ≠ 0                                     | varint litres                               |
/// | 12  | P1 month peak ≠ previous record's                | varint W, zigzag(end − peak time)           |
/// | 13  | P1 present although every P1 bit above is clear  | —                                           |
/// | 14  | duration ≠ nominal interval                      | varint seconds                              |
/// | 15  | start ≠ previous end                             | zigzag(start − previous end)                |
/// | 16  | merged: last sequence ≠ first sequence           | varint(last − first)                        |
/// | 17  | flags ≠ 0                                        | one byte (``IntervalRecord/Flags/rawValue``) |
/// | 18  | ADE9000 part present                             | second bitmap (below) and its fields        |
/// | 19  | P1 gas capture time present (with gas ≠ 0)       | zigzag(end − gas time)                      |
///
/// ADE9000 bitmap: bits 0–5 phase A/B/C import, export Wh (varint); 6 avg power residual against the energy
/// estimate (zigzag); 7 max power (zigzag); 8 voltage min (zigzag from 2300); 9 voltage max (as above);
/// 10 quarter-hour demand (varint W); 11 month peak ≠ previous record's ADE9000 peak (varint W, zigzag(end − time)).
enum RecordCoding {
    /// Nominal phase voltage the voltage fields are coded against: 230.0 V in 0.1 V.
    static let nominalDecivolts: Int64 = 2300

    /// What a record is coded against: the state after the previous record.
    struct Context: Equatable, Sendable {
        /// End of the previous record, Unix seconds.
        var end: Int64
        /// Month peak demand (W) and its time (Unix seconds, 0 = none) as last reported by a P1 part.
        var peakW: Int64
        var peakTime: Int64
        /// Last sequence number of the previous record (the next record starts at `lastSequence + 1`).
        var lastSequence: UInt32
        /// Month peak demand (W) and its time as last reported by an ADE9000 part.
        var adePeakW: Int64 = 0
        var adePeakTime: Int64 = 0

        /// The context after `record`.
        func advanced(by record: IntervalRecord) -> Context {
            var next = self
            next.end = record.end.seconds
            next.lastSequence = record.lastSequence
            if let p1 = record.p1 {
                next.peakW = p1.monthPeakDemandW
                next.peakTime = RecordCoding.seconds(p1.monthPeakTime)
            }
            if let ade = record.ade9000 {
                next.adePeakW = ade.monthPeakDemandW
                next.adePeakTime = RecordCoding.seconds(ade.monthPeakTime)
            }
            return next
        }
    }

    // MARK: Times

    // The encoding holds Unix seconds; a peak time of 0 is "none" (`nil`).

    /// A peak time as the encoding holds it: Unix seconds, 0 for none.
    static func seconds(_ peakTime: UnixTime?) -> Int64 { peakTime?.seconds ?? 0 }

    /// A peak time from the encoding's Unix seconds (0: none).
    static func peakTime(_ seconds: Int64) -> UnixTime? { seconds == 0 ? nil : UnixTime(seconds: seconds) }

    // MARK: Encoding

    static func encode(_ record: IntervalRecord, after context: Context, nominalInterval: Int64) -> [UInt8] {
        let start = record.start.seconds
        let end = record.end.seconds
        let duration = end &- start
        var mask: UInt64 = 0
        var body: [UInt8] = []
        body.reserveCapacity(24)
        func field(_ bit: Int, _ present: Bool, _ write: (inout [UInt8]) -> Void) {
            guard present else { return }
            mask |= 1 << bit
            write(&body)
        }
        if let p1 = record.p1 {
            let residual = p1.averagePowerW &- powerEstimate(p1.netEnergyWh, duration: duration)
            field(0, p1.importTariff1Wh != 0) { $0.appendRingVarint(p1.importTariff1Wh) }
            field(1, residual != 0) { $0.appendRingZigzag(residual) }
            field(2, p1.maxImportPowerW != 0) { $0.appendRingVarint(p1.maxImportPowerW) }
            field(3, p1.voltageMinDecivolts != nil) {
                $0.appendRingZigzag((p1.voltageMinDecivolts ?? 0) &- nominalDecivolts)
            }
            field(4, p1.voltageMaxDecivolts != nil) {
                $0.appendRingVoltageMax(p1.voltageMaxDecivolts ?? 0, min: p1.voltageMinDecivolts)
            }
            field(5, p1.gasLitres != 0) { $0.appendRingVarint(p1.gasLitres) }
            field(6, p1.quarterHourDemandW != 0) { $0.appendRingVarint(p1.quarterHourDemandW) }
            field(7, p1.importTariff2Wh != 0) { $0.appendRingVarint(p1.importTariff2Wh) }
            field(8, p1.exportTariff1Wh != 0) { $0.appendRingVarint(p1.exportTariff1Wh) }
            field(9, p1.exportTariff2Wh != 0) { $0.appendRingVarint(p1.exportTariff2Wh) }
            field(10, p1.maxExportPowerW != 0) { $0.appendRingVarint(p1.maxExportPowerW) }
            field(11, p1.waterLitres != 0) { $0.appendRingVarint(p1.waterLitres) }
            let peakTime = seconds(p1.monthPeakTime)
            let peakChanged = p1.monthPeakDemandW != context.peakW || peakTime != context.peakTime
            field(12, peakChanged) {
                $0.appendRingVarint(p1.monthPeakDemandW)
                $0.appendRingZigzag(end &- peakTime)
            }
            if mask == 0 { mask |= 1 << 13 }
        }
        field(14, duration != nominalInterval) { $0.appendRingVarint(duration) }
        field(15, start != context.end) { $0.appendRingZigzag(start &- context.end) }
        field(16, record.lastSequence != record.firstSequence) {
            $0.appendRingVarint(Int64(record.lastSequence &- record.firstSequence))
        }
        field(17, !record.flags.isEmpty) { $0.append(record.flags.rawValue) }
        let gasTime = record.p1.flatMap { $0.gasLitres != 0 ? $0.gasTime?.seconds : nil }
        field(18, record.ade9000 != nil) { body in
            guard let ade = record.ade9000 else { return }
            var adeMask: UInt64 = 0
            var adeBody: [UInt8] = []
            func adeField(_ bit: Int, _ present: Bool, _ write: (inout [UInt8]) -> Void) {
                guard present else { return }
                adeMask |= 1 << bit
                write(&adeBody)
            }
            let phases = [ade.phaseA, ade.phaseB, ade.phaseC]
            for (index, phase) in phases.enumerated() {
                adeField(2 * index, phase.importWh != 0) { $0.appendRingVarint(phase.importWh) }
                adeField(2 * index + 1, phase.exportWh != 0) { $0.appendRingVarint(phase.exportWh) }
            }
            let residual = ade.averagePowerW &- powerEstimate(ade.netEnergyWh, duration: duration)
            adeField(6, residual != 0) { $0.appendRingZigzag(residual) }
            adeField(7, ade.maxPowerW != 0) { $0.appendRingZigzag(ade.maxPowerW) }
            adeField(8, ade.voltageMinDecivolts != nil) {
                $0.appendRingZigzag((ade.voltageMinDecivolts ?? 0) &- nominalDecivolts)
            }
            adeField(9, ade.voltageMaxDecivolts != nil) {
                $0.appendRingVoltageMax(ade.voltageMaxDecivolts ?? 0, min: ade.voltageMinDecivolts)
            }
            adeField(10, ade.quarterHourDemandW != 0) { $0.appendRingVarint(ade.quarterHourDemandW) }
            let adePeakTime = seconds(ade.monthPeakTime)
            let adePeakChanged = ade.monthPeakDemandW != context.adePeakW || adePeakTime != context.adePeakTime
            adeField(11, adePeakChanged) {
                $0.appendRingVarint(ade.monthPeakDemandW)
                $0.appendRingZigzag(end &- adePeakTime)
            }
            body.appendRingVarint(adeMask)
            body.append(contentsOf: adeBody)
        }
        field(19, gasTime != nil) { $0.appendRingZigzag(end &- (gasTime ?? 0)) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(body.count + 3)
        bytes.appendRingVarint(mask)
        bytes.append(contentsOf: body)
        return bytes
    }

    /// The average power implied by a net energy over `duration`: `netWh · 3600 / duration`, truncated;
    /// 0 when the duration is not positive or the result does not fit. Encoder and decoder compute the
    /// same value, so only the (small) residual is stored.
    static func powerEstimate(_ netWh: Int64, duration: Int64) -> Int64 {
        guard duration > 0 else { return 0 }
        let estimate = Int128(netWh) * 3600 / Int128(duration)
        return Int64(exactly: estimate) ?? 0
    }

    // MARK: Decoding

    struct DecodeError: Error {
        var offset: Int
        var reason: String
    }

    /// Decodes one record from `reader`, given the context after the previous record.
    static func decode(
        _ reader: inout RingByteReader, after context: Context, nominalInterval: Int64
    ) throws(DecodeError) -> IntervalRecord {
        let mask = try reader.varint()
        guard mask >> 20 == 0 else { throw DecodeError(offset: reader.position, reason: "unknown field bits") }
        func has(_ bit: Int) -> Bool { mask & (1 << bit) != 0 }
        var p1: P1Interval?
        var peakChanged = false
        var residual: Int64 = 0
        var peak: (Int64, Int64) = (0, 0)
        if mask & 0x3FFF != 0 {
            var part = P1Interval()
            if has(0) { part.importTariff1Wh = try reader.quantity() }
            if has(1) { residual = try reader.zigzag() }
            if has(2) { part.maxImportPowerW = try reader.quantity() }
            if has(3) { part.voltageMinDecivolts = try reader.zigzag() &+ nominalDecivolts }
            if has(4) { part.voltageMaxDecivolts = try reader.voltageMax(min: part.voltageMinDecivolts) }
            if has(5) { part.gasLitres = try reader.quantity() }
            if has(6) { part.quarterHourDemandW = try reader.quantity() }
            if has(7) { part.importTariff2Wh = try reader.quantity() }
            if has(8) { part.exportTariff1Wh = try reader.quantity() }
            if has(9) { part.exportTariff2Wh = try reader.quantity() }
            if has(10) { part.maxExportPowerW = try reader.quantity() }
            if has(11) { part.waterLitres = try reader.quantity() }
            if has(12) {
                peakChanged = true
                peak = (try reader.quantity(), try reader.zigzag())
            }
            p1 = part
        }
        let duration = has(14) ? try reader.quantity() : nominalInterval
        let start = has(15) ? context.end &+ (try reader.zigzag()) : context.end
        let span = has(16) ? try reader.quantity() : 0
        guard span <= Int64(UInt32.max) else { throw DecodeError(offset: reader.position, reason: "sequence span") }
        let flags = has(17) ? IntervalRecord.Flags(rawValue: try reader.byte()) : []
        let first = context.lastSequence &+ 1
        // Raw seconds as decoded (a forged image may hold anything): validate() rejects what is out of range.
        let end = start &+ duration
        var record = IntervalRecord(
            start: UnixTime(seconds: start), end: UnixTime(seconds: end), flags: flags,
            firstSequence: first, lastSequence: first &+ UInt32(span))
        if var part = p1 {
            part.averagePowerW = powerEstimate(part.netEnergyWh, duration: duration) &+ residual
            if peakChanged {
                part.monthPeakDemandW = peak.0
                part.monthPeakTime = peakTime(end &- peak.1)
            } else {
                part.monthPeakDemandW = context.peakW
                part.monthPeakTime = peakTime(context.peakTime)
            }
            record.p1 = part
        }
        if has(18) {
            let adeMask = try reader.varint()
            guard adeMask >> 12 == 0 else {
                throw DecodeError(offset: reader.position, reason: "unknown ADE9000 field bits")
            }
            func adeHas(_ bit: Int) -> Bool { adeMask & (1 << bit) != 0 }
            var phases = [PhaseEnergy(), PhaseEnergy(), PhaseEnergy()]
            for index in 0..<3 {
                if adeHas(2 * index) { phases[index].importWh = try reader.quantity() }
                if adeHas(2 * index + 1) { phases[index].exportWh = try reader.quantity() }
            }
            var ade = ADE9000Interval(phaseA: phases[0], phaseB: phases[1], phaseC: phases[2])
            let adeResidual = adeHas(6) ? try reader.zigzag() : 0
            ade.averagePowerW = powerEstimate(ade.netEnergyWh, duration: duration) &+ adeResidual
            if adeHas(7) { ade.maxPowerW = try reader.zigzag() }
            if adeHas(8) { ade.voltageMinDecivolts = try reader.zigzag() &+ nominalDecivolts }
            if adeHas(9) { ade.voltageMaxDecivolts = try reader.voltageMax(min: ade.voltageMinDecivolts) }
            if adeHas(10) { ade.quarterHourDemandW = try reader.quantity() }
            if adeHas(11) {
                ade.monthPeakDemandW = try reader.quantity()
                ade.monthPeakTime = peakTime(end &- (try reader.zigzag()))
            } else {
                ade.monthPeakDemandW = context.adePeakW
                ade.monthPeakTime = peakTime(context.adePeakTime)
            }
            record.ade9000 = ade
        }
        if has(19) {
            let back = try reader.zigzag()
            // Only with a gas delta (bit 5): anything else is a damaged record, not a time to trust.
            guard has(5), var part = record.p1 else {
                throw DecodeError(offset: reader.position, reason: "gas time without gas")
            }
            part.gasTime = UnixTime(seconds: end &- back)
            record.p1 = part
        }
        return record
    }
}

// MARK: - Varints

extension [UInt8] {
    /// LEB128: 7 bits per byte, least significant group first, high bit = more bytes follow.
    mutating func appendRingVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        append(UInt8(value))
    }

    /// A quantity that is ≥ 0 (validated before encoding), as unsigned LEB128.
    mutating func appendRingVarint(_ value: Int64) { appendRingVarint(UInt64(bitPattern: value)) }

    /// A signed quantity, zigzag-mapped (0, −1, 1, −2 … → 0, 1, 2, 3 …) then LEB128.
    mutating func appendRingZigzag(_ value: Int64) {
        appendRingVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// Voltage max: as the (usually small, ≥ 0) distance above the min when there is one, else against nominal.
    mutating func appendRingVoltageMax(_ value: Int64, min: Int64?) {
        // max ≥ min is checked before a record enters the ring (``IntervalRecord/validate()``).
        if let min {
            appendRingVarint(UInt64(bitPattern: value &- min))
        } else {
            appendRingZigzag(value &- RecordCoding.nominalDecivolts)
        }
    }
}

/// Reads bytes of one ring segment in order; every read checks the bound.
struct RingByteReader {
    let bytes: [UInt8]
    private(set) var position: Int
    init(_ bytes: [UInt8], position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }
    var isAtEnd: Bool { position >= bytes.count }

    mutating func byte() throws(RecordCoding.DecodeError) -> UInt8 {
        guard position < bytes.count else { throw .init(offset: position, reason: "record runs past its segment") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func varint() throws(RecordCoding.DecodeError) -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 70, by: 7) {
            let byte = try byte()
            guard shift < 63 || byte <= 1 else { throw .init(offset: position, reason: "varint overflows 64 bits") }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
        }
        throw .init(offset: position, reason: "varint longer than 10 bytes")
    }

    mutating func signedFromUnsigned() throws(RecordCoding.DecodeError) -> Int64 {
        Int64(bitPattern: try varint())
    }

    /// A quantity (energy, power, volume, duration): the encoder stores only validated values in 0…2⁴⁰, so a
    /// larger one is damage, refused here before any sum over it could overflow.
    mutating func quantity() throws(RecordCoding.DecodeError) -> Int64 {
        let value = try varint()
        guard value <= UInt64(IntervalRecord.maxQuantity) else {
            throw RecordCoding.DecodeError(offset: position, reason: "quantity \(value) above 2^40")
        }
        return Int64(value)
    }

    mutating func zigzag() throws(RecordCoding.DecodeError) -> Int64 {
        let raw = try varint()
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    mutating func voltageMax(min: Int64?) throws(RecordCoding.DecodeError) -> Int64 {
        if let min { return min &+ (try signedFromUnsigned()) }
        return try zigzag() &+ RecordCoding.nominalDecivolts
    }
}
