/// Plausibility of snapshot codes that may have come without CRC (burst reads carry none, spec §1.7). Pure: the
/// driver rejects a snapshot that fails it.
public enum Plausibility {
    /// Full scale of xPF plus 0.1 % (1.0 = 2²⁷).
    static let powerFactorLimit: Int64 = 134_217_728 + 134_218
    /// 0.1 % of the xWATT full scale (20,694,066).
    static let powerSlack: Int64 = 20_694

    /// RMS and VA are never negative, |PF| ≤ 1, |WATT| and |VAR| do not exceed VA by more than 10 % + 0.1 % of
    /// full scale.
    ///
    /// - Parameters:
    ///   - raw: Phases A, B, C.
    ///   - neutral: NIRMS.
    /// - Throws: `.implausibleReading` naming the first register that fails.
    public static func check(_ raw: [RawPhaseCodes], neutral: Int32) throws(ADE9000Error) {
        for (phase, codes) in zip(Phase.allCases, raw) {
            let p = phase.description
            if codes.irms < 0 {
                throw .implausibleReading(
                    register: p + "IRMS", value: Int64(codes.irms), reason: "RMS cannot be negative")
            }
            if codes.vrms < 0 {
                throw .implausibleReading(
                    register: p + "VRMS", value: Int64(codes.vrms), reason: "RMS cannot be negative")
            }
            if codes.apparent < 0 {
                throw .implausibleReading(
                    register: p + "VA", value: Int64(codes.apparent), reason: "apparent power cannot be negative")
            }
            if abs(Int64(codes.powerFactor)) > powerFactorLimit {
                throw .implausibleReading(register: p + "PF", value: Int64(codes.powerFactor), reason: "|PF| > 1")
            }
            // Generous: WATT and VA are filtered separately and may disagree briefly after a load step; the check
            // is for garbage (e.g. words from a stuck MISO), not for metrology.
            let limit = Int64(codes.apparent) + Int64(codes.apparent) / 10 + powerSlack
            if abs(Int64(codes.active)) > limit {
                throw .implausibleReading(register: p + "WATT", value: Int64(codes.active), reason: "|WATT| > VA")
            }
            if abs(Int64(codes.reactive)) > limit {
                throw .implausibleReading(register: p + "VAR", value: Int64(codes.reactive), reason: "|VAR| > VA")
            }
        }
        if neutral < 0 {
            throw .implausibleReading(register: "NIRMS", value: Int64(neutral), reason: "RMS cannot be negative")
        }
    }

    /// The checks that apply to a `.loop` snapshot (no VA or VAR read): RMS not negative, |PF| ≤ 1.
    /// - Throws: `.implausibleReading` naming the first register that fails.
    public static func checkLoop(_ raw: [RawPhaseCodes]) throws(ADE9000Error) {
        var bounded = raw
        for index in bounded.indices {
            bounded[index].apparent = .max
            bounded[index].reactive = 0
        }
        try check(bounded, neutral: 0)
    }
}
