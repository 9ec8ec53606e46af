import ADE9000
import CivilTime

extension ADESample {
    /// The loop's view of a driver snapshot (the ADE9000 source adapter, beside the P1 one): per-phase energies
    /// accumulated by the driver in integer mWh, active power, voltage and current RMS, power factor and frequency.
    /// - Parameter time: When the snapshot was read, by the board's wall clock.
    /// - Throws: `SourceError` when an energy is not a finite, non-negative number below 2⁵³ mWh (a driver or
    ///   chip fault: nothing downstream may do arithmetic on it).
    public init(_ readings: Readings, time: UnixTime) throws(SourceError) {
        func milliwattHours(_ wh: Double) throws(SourceError) -> Int64 {
            let scaled = (wh * 1000).rounded(.down)
            guard scaled.isFinite, scaled >= 0, scaled < 9_007_199_254_740_992 else {
                throw SourceError(source: "ADE9000", message: "energy \(wh) Wh out of range")
            }
            return Int64(scaled)
        }
        var imported: [Int64] = []
        var exported: [Int64] = []
        for energy in readings.energy {
            imported.append(try milliwattHours(energy.activeImportWh))
            exported.append(try milliwattHours(energy.activeExportWh))
        }
        self.init(
            time: time, importMilliwattHours: imported, exportMilliwattHours: exported,
            powerW: readings.phases.map(\.activePower), voltageV: readings.phases.map(\.voltage),
            currentA: readings.phases.map(\.current), powerFactor: readings.phases.map(\.powerFactor),
            frequencyHz: readings.phases.map(\.frequency))
    }
}
