import P1

/// A deterministic household: consumption per phase plus optional PV injection over local (CET/CEST) time of day,
/// and gas/water flow. Powers are multiples of 10 W so every profile can print them exactly (DSMR 2.2 prints kW with
/// two decimals).
public struct P1LoadProfile: Sendable, Hashable {
    /// Constant consumption, W, spread over the phases.
    public var baseLoadW: Int
    /// Extra consumption between 17:00 and 22:00 local, W.
    public var eveningLoadW: Int
    /// PV peak at 13:00 local (zero before 07:00 and after 19:00), W, on phase L1 (single-phase inverter).
    public var solarPeakW: Int
    /// Pseudo-random variation of the load, ± W (0 = perfectly smooth).
    public var jitterW: Int
    /// Gas flow, litres per hour (0 = none).
    public var gasLitresPerHour: Int
    /// Water flow, litres per hour (0 = none).
    public var waterLitresPerHour: Int

    public init(
        baseLoadW: Int = 350, eveningLoadW: Int = 1800, solarPeakW: Int = 3200, jitterW: Int = 60,
        gasLitresPerHour: Int = 180, waterLitresPerHour: Int = 12
    ) {
        self.baseLoadW = baseLoadW
        self.eveningLoadW = eveningLoadW
        self.solarPeakW = solarPeakW
        self.jitterW = jitterW
        self.gasLitresPerHour = gasLitresPerHour
        self.waterLitresPerHour = waterLitresPerHour
    }

    public static let household = P1LoadProfile()
    /// Consumption only, no PV: the simulated meter's export registers start at 0 and stay there.
    public static let noSolar = P1LoadProfile(solarPeakW: 0)

    /// Net power per phase at `time` (positive = import, negative = export), W, multiples of 10.
    public func netPowerW(at time: P1Timestamp, phases: Int, random: inout P1SeededRandom) -> [Int] {
        let local = time.localComponents
        let hour = Double(local.hour) + Double(local.minute) / 60 + Double(local.second) / 3600
        var load = Double(baseLoadW)
        if hour >= 17 && hour < 22 { load += Double(eveningLoadW) * Self.bump((hour - 17) / 5) }
        if jitterW > 0 { load += Double(Int.random(in: -jitterW...jitterW, using: &random)) }
        var solar = 0.0
        if solarPeakW > 0 && hour > 7 && hour < 19 { solar = Double(solarPeakW) * Self.bump((hour - 7) / 12) }
        let weights: [Double] = phases == 1 ? [1] : [0.45, 0.3, 0.25]
        return weights.enumerated().map { index, weight in
            let net = load * weight - (index == 0 ? solar : 0)
            return Int((net / 10).rounded()) * 10
        }
    }

    /// A smooth 0 → 1 → 0 hump over x ∈ [0, 1] (parabola 4x(1−x)).
    static func bump(_ x: Double) -> Double { x <= 0 || x >= 1 ? 0 : 4 * x * (1 - x) }
}
