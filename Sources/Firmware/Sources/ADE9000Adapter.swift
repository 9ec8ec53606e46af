import ADE9000

extension ADESample {
    /// The loop's view of a driver snapshot (the ADE9000 source adapter, beside the P1 one): per-phase energies
    /// accumulated by the driver, active power, voltage and current RMS.
    /// - Parameter time: When the snapshot was read, Unix milliseconds.
    public init(_ readings: Readings, time: Int64) {
        self.init(
            time: time, importWh: readings.energy.map(\.activeImportWh),
            exportWh: readings.energy.map(\.activeExportWh), powerW: readings.phases.map(\.activePower),
            voltageV: readings.phases.map(\.voltage), currentA: readings.phases.map(\.current))
    }
}
