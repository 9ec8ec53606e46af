import P1

extension P1Sample {
    /// Reduces a parsed telegram to what the loop aggregates.
    ///
    /// Tariff 1 is the meter's tariff-1 register (or its total when it sends only a total, as Luxembourg Smarty
    /// does); tariff 2 is the sum of tariffs 2–4 (Hungarian meters send four). Gas and water are the first M-Bus
    /// devices of that medium, whatever their channel, converted from m³ to litres.
    /// - Returns: `nil` when the telegram has no import register at all (nothing to meter).
    public init?(reading: P1Reading, receivedAt time: Int64) {
        func wh(_ value: P1Decimal?) -> Int64? { value.map(\.roundedInteger) }
        func split(_ registers: P1Reading.Registers) -> (Int64, Int64)? {
            let tariffs = registers.tariffs.map(wh)
            if tariffs.allSatisfy({ $0 == nil }) {
                return wh(registers.total).map { ($0, 0) }
            }
            return (tariffs[0] ?? 0, tariffs[1...].reduce(0) { $0 + ($1 ?? 0) })
        }
        guard let imported = split(reading.importWh) else { return nil }
        let exported = split(reading.exportWh) ?? (0, 0)
        func litres(_ medium: P1Reading.Medium) -> Int64? {
            guard let device = reading.device(medium), let value = device.value else { return nil }
            switch device.unit {
            case .m3?, nil: return value.shifted(by: 3).roundedInteger
            default: return nil  // heat (GJ) or an unknown unit: not a volume
            }
        }
        self.init(
            time: time, importWh: (imported.0, imported.1), exportWh: (exported.0, exported.1),
            powerImportW: wh(reading.powerImportW) ?? 0, powerExportW: wh(reading.powerExportW) ?? 0,
            voltagesDecivolts: reading.phases.compactMap { $0.voltageV.map { $0.shifted(by: 1).roundedInteger } },
            gasLitres: litres(.gas), waterLitres: litres(.water),
            quarterHourDemandW: wh(reading.demand?.currentAverageW),
            monthPeakDemandW: wh(reading.demand?.monthMaximumW),
            monthPeakTime: reading.demand?.monthMaximumTime?.utcSeconds)
    }
}
