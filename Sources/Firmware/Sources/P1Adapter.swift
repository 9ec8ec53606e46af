import CivilTime
import P1

/// Why a parsed telegram cannot become a sample. A closed set: health counts by these names.
public enum P1SampleRejection: String, Error, Sendable, Equatable, CaseIterable {
    /// The telegram has no import register at all (nothing to meter).
    case noImportRegister = "no_import_register"
    /// A register or level is outside what any household meter can show (see ``P1Sample/registerRange``).
    case outOfRange = "out_of_range"
}

extension P1Sample {
    /// Energy registers a sample accepts, Wh: 0 … 2⁴⁰ (about 1.1 TWh; a 9-digit kWh register is 10⁹ kWh = 2⁴⁰ Wh).
    public static let registerRange: ClosedRange<Int64> = 0...(1 << 40)
    /// Powers a sample accepts, W (±2³¹).
    public static let powerRange: ClosedRange<Int64> = -(1 << 31)...(1 << 31)
    /// Voltages, 0.1 V (0 … 10 kV) and currents, mA (±100 kA): anything beyond is a meter or transmission fault.
    static let decivoltRange: ClosedRange<Int64> = 0...100_000
    static let milliampRange: ClosedRange<Int64> = -100_000_000...100_000_000

    /// A sample the measurement loop can meter: ``init(reading:receivedAt:)`` plus the check that the telegram has
    /// an import register (a heat- or water-only telegram has nothing to put in an energy record).
    /// - Throws: ``P1SampleRejection``.
    public static func metered(reading: P1Reading, receivedAt time: UnixTime) throws(P1SampleRejection) -> P1Sample {
        let sample = try P1Sample(reading: reading, receivedAt: time)
        guard sample.metersEnergy else { throw .noImportRegister }
        return sample
    }

    /// Reduces a parsed telegram to what the firmware meters and publishes.
    ///
    /// Tariff 1 is the meter's tariff-1 register (or its total when it sends only a total, as Luxembourg Smarty
    /// does); tariff 2 is the sum of tariffs 2–4 (Hungarian meters send four). Gas and water are the first M-Bus
    /// devices of that medium, whatever their channel, converted from m³ to litres.
    /// A telegram without any import register gives a sample with ``metersEnergy`` false and zero registers.
    /// - Throws: ``P1SampleRejection/outOfRange`` when a register, power, voltage or current cannot be real (a faulty
    ///   meter or a hostile network dongle): every later sum and difference then stays far from Int64's limits.
    public init(reading: P1Reading, receivedAt time: UnixTime) throws(P1SampleRejection) {
        func integer(_ value: P1Decimal?, _ range: ClosedRange<Int64>) throws(P1SampleRejection) -> Int64? {
            guard let value else { return nil }
            guard let result = value.boundedInteger, range.contains(result) else { throw .outOfRange }
            return result
        }
        func split(_ registers: P1Reading.Registers) throws(P1SampleRejection) -> (Int64, Int64)? {
            var first: Int64 = 0
            var others: Int64 = 0
            var sent = false
            for (index, tariff) in registers.tariffs.enumerated() {
                guard let value = try integer(tariff, Self.registerRange) else { continue }
                sent = true
                // Registers within 0…2⁴⁰ cannot overflow.
                if index == 0 { first = value } else { others += value }
            }
            if !sent { return try integer(registers.total, Self.registerRange).map { ($0, 0) } }
            return (first, others)
        }
        let imported = try split(reading.importWh) ?? (0, 0)
        let metersEnergy = reading.importWh.total != nil || reading.importWh.tariffs.contains { $0 != nil }
        let exported = try split(reading.exportWh) ?? (0, 0)

        func milli(_ device: P1Reading.MBusDevice) throws(P1SampleRejection) -> Int64? {
            try integer(device.value?.shifted(by: 3), Self.registerRange)
        }
        func litres(_ medium: P1Reading.Medium) throws(P1SampleRejection) -> (Int64, UnixTime?)? {
            // The first device of `medium`, read in place (`reading.device(_:)` copies the device).
            let devices = reading.mbus
            guard let index = devices.firstIndex(where: { $0.medium == medium }), let value = devices[index].value
            else { return nil }
            switch devices[index].unit {
            case .m3?, nil:
                guard let litres = try integer(value.shifted(by: 3), Self.registerRange) else { return nil }
                return (litres, devices[index].captureTime?.unixTime)
            default: return nil  // heat (GJ) or an unknown unit: not a volume
            }
        }

        var details = Details()
        details.country = reading.country.rawValue
        details.p1Version = reading.p1Version
        details.meterTime = reading.meterTime?.unixTime
        details.equipmentID = reading.equipmentId
        details.tariff = reading.tariff
        details.tariffName = reading.tariff.map { reading.country.tariffName($0) }
        var voltages: PhaseValues = []
        if let history = reading.demand?.history, !history.isEmpty {
            details.peakHistory.reserveCapacity(history.count)  // one allocation, not two or three while growing
        }
        if !reading.mbus.isEmpty { details.mbus.reserveCapacity(reading.mbus.count) }
        for phase in reading.phases {
            if let volts = try integer(phase.voltageV?.shifted(by: 1), Self.decivoltRange) { voltages.append(volts) }
            if let amps = try integer(phase.currentA?.shifted(by: 3), Self.milliampRange) {
                details.currentsMilliamps.append(amps)
            }
            if let watts = try integer(phase.powerImportW, Self.powerRange) { details.phasePowerImportW.append(watts) }
            if let watts = try integer(phase.powerExportW, Self.powerRange) { details.phasePowerExportW.append(watts) }
        }
        details.powerFailures = reading.powerFailures
        details.longPowerFailures = reading.longPowerFailures
        for device in reading.mbus {
            details.mbus.append(
                MBus(
                    channel: device.channel, medium: device.medium.rawValue, identifier: device.identifier,
                    valueMilli: try milli(device), unit: device.unit?.symbol,
                    captureTime: device.captureTime?.unixTime))
        }
        for peak in reading.demand?.history ?? [] {
            guard let month = peak.month?.unixTime, let value = peak.value,
                let watts = try integer(value.shifted(by: 3), Self.powerRange)
            else { continue }
            details.peakHistory.append(MonthPeak(monthStart: month, peakW: watts))
        }
        let gas = try litres(.gas)
        let water = try litres(.water)
        details.gasTime = gas?.1
        details.waterTime = water?.1

        self.init(
            time: time, importWh: (imported.0, imported.1), exportWh: (exported.0, exported.1),
            powerImportW: try integer(reading.powerImportW, Self.powerRange) ?? 0,
            powerExportW: try integer(reading.powerExportW, Self.powerRange) ?? 0,
            voltagesDecivolts: voltages, gasLitres: gas?.0, waterLitres: water?.0,
            quarterHourDemandW: try integer(reading.demand?.currentAverageW, Self.powerRange),
            monthPeakDemandW: try integer(reading.demand?.monthMaximumW, Self.powerRange),
            monthPeakTime: reading.demand?.monthMaximumTime?.unixTime, details: details)
        self.metersEnergy = metersEnergy
        var sent: Sent = []
        if reading.importWh.tariffs.contains(where: { $0 != nil }) { sent.insert(.importTariffs) }
        if reading.exportWh.tariffs.contains(where: { $0 != nil }) { sent.formUnion([.export, .exportTariffs]) }
        if reading.exportWh.total != nil { sent.insert(.export) }
        if reading.powerImportW != nil { sent.insert(.powerImport) }
        if reading.powerExportW != nil { sent.insert(.powerExport) }
        self.sent = sent
    }
}

extension P1Decimal {
    /// Rounded half away from zero to an integer, or `nil` when the value saturated (see `shifted(by:)`).
    var boundedInteger: Int64? {
        guard mantissa != .max, mantissa != .min else { return nil }
        return roundedInteger
    }
}

extension P1RejectionKind {
    /// The framer's reason for dropping a telegram.
    public init(_ reason: P1RejectReason) {
        switch reason {
        case .crcMismatch: self = .crcMismatch
        case .missingCRC: self = .missingCRC
        case .malformedCRC: self = .malformedCRC
        case .lineTooLong: self = .lineTooLong
        case .telegramTooLong: self = .telegramTooLong
        case .tooManyLines: self = .tooManyLines
        case .truncated: self = .truncated
        case .interrupted: self = .interrupted
        }
    }

    /// Why a parsed telegram could not become a sample.
    public init(_ rejection: P1SampleRejection) {
        switch rejection {
        case .noImportRegister: self = .noImportRegister
        case .outOfRange: self = .outOfRange
        }
    }
}

extension P1Event {
    /// What the loop makes of one event of the P1 reader: a sample it can meter, or a rejection by reason.
    /// - Parameter time: When the bytes arrived, by the board's clock (not the meter's).
    public init(_ event: P1StreamEvent, receivedAt time: UnixTime) {
        switch event {
        case .telegram(let telegram):
            do throws(P1SampleRejection) {
                self = .sample(try P1Sample.metered(reading: telegram.reading, receivedAt: time))
            } catch {
                self = .rejected(P1RejectionKind(error))
            }
        case .rejected(let rejection):
            self = .rejected(P1RejectionKind(rejection.reason))
        case .frameFailed(.replayedFrame):
            self = .rejected(.replayedFrame)
        case .frameFailed:
            self = .rejected(.decryption)
        }
    }
}

extension P1Timestamp {
    /// The instant the meter's timestamp names (its text is local time with a summer-time letter; this is UTC).
    var unixTime: UnixTime { UnixTime(seconds: utcSeconds) }
}
