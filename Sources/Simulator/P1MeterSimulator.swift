import CivilTime
import HAL
import P1

/// The meters the simulator can play.
public enum P1SimulatedProfile: String, CaseIterable, Sendable, Codable {
    /// Fluvius e-MUCS 1.7.1, three-phase, capacity-tariff registers, gas (24.2.3) on channel 1, water on channel 2.
    case belgian3PhaseGasWater
    /// Fluvius e-MUCS 1.7.1, single-phase, no M-Bus devices.
    case belgian1Phase
    /// DSMR 5.0 (NL), three-phase, gas on channel 1.
    case dsmr5NL
    /// DSMR 4.2 Kaifa (NL), three-phase, hourly gas; sends 7E1 like the real Kaifa meters.
    case dsmr42
    /// DSMR 2.2 Iskra (NL): no CRC, no timestamp, gas as the two-line 24.3.0 profile.
    case dsmr22
    /// Luxembourg Smarty: DSMR 5 based totals, AES-128-GCM encrypted frames (12-byte tag).
    case smartyEncrypted

    /// The UART setting the meter sends with.
    public var serialConfiguration: SerialConfiguration {
        switch self {
        case .dsmr22: .dsmr22
        case .dsmr42: .dsmr42Kaifa
        default: .dsmr5
        }
    }

    /// Telegram cadence: 1 s for DSMR 5 / e-MUCS, 10 s for DSMR 2.2–4.2 and Smarty (spec v1.1.3 §3.2.1).
    public var interval: Duration {
        switch self {
        case .belgian3PhaseGasWater, .belgian1Phase, .dsmr5NL: .seconds(1)
        case .dsmr42, .dsmr22, .smartyEncrypted: .seconds(10)
        }
    }

    public var phases: Int { self == .belgian1Phase ? 1 : 3 }
    public var isBelgian: Bool { self == .belgian3PhaseGasWater || self == .belgian1Phase }
    public var hasCRC: Bool { self != .dsmr22 }
    public var isEncrypted: Bool { self == .smartyEncrypted }
    public var hasGas: Bool { self != .belgian1Phase }
    public var hasWater: Bool { self == .belgian3PhaseGasWater }
    /// M-Bus capture period of the gas/water reading: 5 min (DSMR 5, e-MUCS, Smarty), 1 h (DSMR 2.2–4.2).
    public var mbusCapturePeriod: Int64 { self == .dsmr42 || self == .dsmr22 ? 3600 : 300 }
}

/// One month of simulated capacity-tariff history.
public struct P1SimulatedPeak: Sendable, Hashable {
    public var month: P1Timestamp
    public var occurred: P1Timestamp
    public var valueW: Int64
}

/// The simulator's exact state as of the last telegram it produced (what that telegram printed).
public struct P1SimulatedCounters: Sendable, Hashable {
    public var time: P1Timestamp
    /// Energy per tariff (index 0 = tariff 1) in joules (W·s), exact.
    public var importJoules: [Int64]
    public var exportJoules: [Int64]
    /// The tariff in force (1 or 2, numbered as the country does: BE 1 = day, NL 2 = normal/day).
    public var tariff: Int
    /// Net power per phase, W (positive import, negative export).
    public var phasePowerW: [Int]
    /// Voltage per phase in tenths of a volt.
    public var phaseVoltageDecivolts: [Int]
    public var gasLitres: Int64
    public var gasCapturedLitres: Int64
    public var gasCaptureTime: P1Timestamp?
    public var waterLitres: Int64
    public var waterCapturedLitres: Int64
    public var waterCaptureTime: P1Timestamp?
    /// Belgian demand: running quarter-hour average, this month's maximum and when, and finished months.
    public var currentAverageDemandW: Int64 = 0
    public var monthMaximumDemandW: Int64 = 0
    public var monthMaximumDemandTime: P1Timestamp?
    public var peakHistory: [P1SimulatedPeak] = []
    public var frameCounter: UInt32 = 0

    /// Register values as printed (kWh with 3 decimals = whole Wh, truncated).
    public var importWh: [Int64] { importJoules.map { $0 / 3600 } }
    public var exportWh: [Int64] { exportJoules.map { $0 / 3600 } }
    /// Totals as a meter that prints only totals (Smarty `1-0:1.8.0`) computes them.
    public var importTotalWh: Int64 { importJoules.reduce(0, +) / 3600 }
    public var exportTotalWh: Int64 { exportJoules.reduce(0, +) / 3600 }
    public var powerImportW: Int { max(0, phasePowerW.reduce(0, +)) }
    public var powerExportW: Int { max(0, -phasePowerW.reduce(0, +)) }
}

/// A P1 meter simulator: produces the byte stream of a chosen meter profile over virtual time, with counters that
/// integrate exactly the power it reports (E += P·Δt in joules), so tests can compare parsed totals with
/// `counters`. Pure: no I/O, no clock; the caller sends the bytes at `profile.interval` over a pty or an
/// `InMemorySerialPort`.
public struct P1MeterSimulator: Sendable {
    public let profile: P1SimulatedProfile
    public var load: P1LoadProfile
    /// Unix time of the first telegram.
    public let startEpoch: Int64
    /// Virtual seconds since `startEpoch` of the last telegram produced.
    public private(set) var elapsedSeconds: Int64 = 0
    public private(set) var counters: P1SimulatedCounters
    /// The plaintext of the last telegram (for Smarty: before encryption).
    public private(set) var lastPlaintext: [UInt8] = []
    /// Smarty system title (8 bytes).
    public var systemTitle: [UInt8] = Array("SAGSIM01".utf8)
    private let cipher: P1Decryptor?
    private var random: P1SeededRandom
    private var started = false
    private var quarterJoules: Int64 = 0
    private var quarterStart: Int64 = 0

    /// - Parameters:
    ///   - startEpoch: Unix time of the first telegram (default 2025-01-06 07:30:00 UTC, a Monday).
    ///   - encryptionKey: Smarty only; the key the frames are encrypted with (the AK is the fixed Smarty key).
    /// - Throws: `P1Error.invalidKey` for a key that is not 16 bytes.
    public init(
        profile: P1SimulatedProfile, load: P1LoadProfile = .household, startEpoch: Int64 = 1_736_148_600,
        seed: UInt64 = 1, encryptionKey: [UInt8] = [UInt8](repeating: 0xAA, count: 16)
    ) throws(P1Error) {
        self.profile = profile
        self.load = load
        self.startEpoch = startEpoch
        random = P1SeededRandom(seed: seed)
        cipher = profile.isEncrypted ? try P1Decryptor(encryptionKey: encryptionKey) : nil
        let time = P1Timestamp(utcSeconds: startEpoch)
        counters = P1SimulatedCounters(
            time: time, importJoules: [1_234_567 * 3600, 2_345_678 * 3600],
            // A house without PV has never exported: its export registers read 0.
            exportJoules: load.solarPeakW > 0 ? [345_678 * 3600, 123_456 * 3600] : [0, 0],
            tariff: 1, phasePowerW: [Int](repeating: 0, count: profile.phases),
            phaseVoltageDecivolts: [Int](repeating: 2300, count: profile.phases), gasLitres: 4_321_000,
            gasCapturedLitres: 4_321_000, gasCaptureTime: nil, waterLitres: 87_654, waterCapturedLitres: 87_654,
            waterCaptureTime: nil)
        quarterStart = startEpoch - startEpoch % 900
        // A real meter's invocation counter has counted every frame since it was installed: start from the clock
        // (one frame per 10 s), so a later run of the simulator never repeats a counter a reader has accepted.
        counters.frameCounter = UInt32(truncatingIfNeeded: max(0, startEpoch) / 10)
    }

    /// How long until the next telegram (the profile's cadence).
    public var interval: Duration { profile.interval }

    /// Advances virtual time by one cadence (not before the first telegram) and returns the next transmission:
    /// the telegram bytes, or for Smarty the encrypted frame.
    public mutating func nextTelegram() -> [UInt8] {
        let step = profile.interval.components.seconds
        if started { advance(by: step) }
        started = true
        let now = startEpoch + elapsedSeconds
        counters.time = P1Timestamp(utcSeconds: now)
        counters.phasePowerW = load.netPowerW(at: counters.time, phases: profile.phases, random: &random)
        counters.phaseVoltageDecivolts = (0..<profile.phases).map { _ in 2300 + Int.random(in: -40...40, using: &random)
        }
        counters.tariff = tariff(at: counters.time)
        capture(now)
        let plaintext = telegramBytes()
        lastPlaintext = plaintext
        guard let cipher else { return plaintext }
        counters.frameCounter &+= 1
        do {
            return try cipher.encrypt(plaintext, systemTitle: systemTitle, frameCounter: counters.frameCounter).bytes
        } catch {
            // The key and system title were validated at init; a failure here is a crypto-library fault.
            return []
        }
    }

    /// Integrates the last reported power over `seconds`.
    private mutating func advance(by seconds: Int64) {
        let tariffIndex = counters.tariff - 1
        var importW: Int64 = 0
        var exportW: Int64 = 0
        // A meter registers the sum of the phases (net metering per phase sum, as DSMR meters do).
        let net = Int64(counters.phasePowerW.reduce(0, +))
        if net >= 0 { importW = net } else { exportW = -net }
        var remaining = seconds
        var now = startEpoch + elapsedSeconds
        while remaining > 0 {
            // split at quarter-hour boundaries for the demand registers
            let untilQuarter = quarterStart + 900 - now
            let slice = min(remaining, untilQuarter)
            counters.importJoules[tariffIndex] += importW * slice
            counters.exportJoules[tariffIndex] += exportW * slice
            quarterJoules += importW * slice
            now += slice
            remaining -= slice
            if now == quarterStart + 900 { closeQuarter(end: now) }
        }
        elapsedSeconds += seconds
        counters.gasLitres = 4_321_000 + Int64(load.gasLitresPerHour) * elapsedSeconds / 3600
        counters.waterLitres = 87_654 + Int64(load.waterLitresPerHour) * elapsedSeconds / 3600
        let inQuarter = now - quarterStart
        counters.currentAverageDemandW = inQuarter > 0 ? quarterJoules / inQuarter : 0
    }

    private mutating func closeQuarter(end: Int64) {
        let average = quarterJoules / 900
        let endTime = P1Timestamp(utcSeconds: end)
        let previous = P1Timestamp(utcSeconds: end - 1).localComponents
        let current = endTime.localComponents
        if previous.month != current.month {
            if let time = counters.monthMaximumDemandTime {
                counters.peakHistory.insert(
                    P1SimulatedPeak(
                        month: Self.firstOfMonth(year: current.year, month: current.month), occurred: time,
                        valueW: counters.monthMaximumDemandW), at: 0)
                if counters.peakHistory.count > 13 { counters.peakHistory.removeLast() }
            }
            counters.monthMaximumDemandW = 0
            counters.monthMaximumDemandTime = nil
        }
        if average > counters.monthMaximumDemandW || counters.monthMaximumDemandTime == nil {
            counters.monthMaximumDemandW = average
            counters.monthMaximumDemandTime = endTime
        }
        quarterStart = end
        quarterJoules = 0
    }

    private mutating func capture(_ now: Int64) {
        let period = profile.mbusCapturePeriod
        let boundary = now - now % period
        guard boundary >= startEpoch else { return }
        let sinceStart = boundary - startEpoch
        counters.gasCapturedLitres = 4_321_000 + Int64(load.gasLitresPerHour) * sinceStart / 3600
        counters.gasCaptureTime = P1Timestamp(utcSeconds: boundary)
        counters.waterCapturedLitres = 87_654 + Int64(load.waterLitresPerHour) * sinceStart / 3600
        counters.waterCaptureTime = P1Timestamp(utcSeconds: boundary)
    }

    /// Day tariff on weekdays 07:00–22:00 local: tariff 1 in Belgium (day), tariff 2 in the Netherlands (normal).
    private func tariff(at time: P1Timestamp) -> Int {
        let local = time.localComponents
        let day = local.weekday >= 1 && local.weekday <= 5 && local.hour >= 7 && local.hour < 22
        if profile.isBelgian { return day ? 1 : 2 }
        return day ? 2 : 1
    }

    static func firstOfMonth(year: Int, month: Int) -> P1Timestamp {
        let text = "\(P1MeterSimulator.pad(year % 100, 2))\(P1MeterSimulator.pad(month, 2))01000000"
        if case .time(let time) = P1Timestamp.parse(text) { return time }
        return P1Timestamp(
            utcSeconds: CivilTime.seconds(year: year, month: month, day: 1, hour: 0, minute: 0, second: 0))
    }

    // MARK: telegram text

    private func telegramBytes() -> [UInt8] {
        var lines: [String] = []
        let c = counters
        let ts = c.time.dsmrString()
        func kWh(_ wh: Int64) -> String { Self.fixed(wh, integerDigits: 6, decimals: 3) }
        func kW(_ w: Int) -> String { Self.fixed(Int64(w), integerDigits: 2, decimals: 3) }
        func m3(_ litres: Int64) -> String { Self.fixed(litres, integerDigits: 5, decimals: 3) }
        let phaseCodes = [(21, 22, 31, 32), (41, 42, 51, 52), (61, 62, 71, 72)]
        func phaseVoltages() {
            for (index, codes) in phaseCodes.prefix(profile.phases).enumerated() {
                let volts = Self.fixed(Int64(c.phaseVoltageDecivolts[index]), integerDigits: 3, decimals: 1)
                lines.append("1-0:\(codes.3).7.0(\(volts)*V)")
            }
        }
        func phaseCurrents(decimals: Int) {
            for (index, codes) in phaseCodes.prefix(profile.phases).enumerated() {
                let scale = decimals == 2 ? 100 : 1
                let amps = Int64(abs(c.phasePowerW[index]) * 10 * scale / max(c.phaseVoltageDecivolts[index], 1))
                lines.append("1-0:\(codes.2).7.0(\(Self.fixed(amps, integerDigits: 3, decimals: decimals))*A)")
            }
        }
        func phasePowers() {
            for (index, codes) in phaseCodes.prefix(profile.phases).enumerated() {
                lines.append("1-0:\(codes.0).7.0(\(kW(max(0, c.phasePowerW[index])))*kW)")
            }
            for (index, codes) in phaseCodes.prefix(profile.phases).enumerated() {
                lines.append("1-0:\(codes.1).7.0(\(kW(max(0, -c.phasePowerW[index])))*kW)")
            }
        }
        let header: String
        switch profile {
        case .belgian3PhaseGasWater, .belgian1Phase:
            header = "FLU5\\253769484_A"
            lines += ["0-0:96.1.4(50217)", "0-0:96.1.1(3153414733313031303231363035)", "0-0:1.0.0(\(ts))"]
            lines += [
                "1-0:1.8.1(\(kWh(c.importWh[0]))*kWh)", "1-0:1.8.2(\(kWh(c.importWh[1]))*kWh)",
                "1-0:2.8.1(\(kWh(c.exportWh[0]))*kWh)", "1-0:2.8.2(\(kWh(c.exportWh[1]))*kWh)",
                "0-0:96.14.0(000\(c.tariff))", "1-0:1.4.0(\(kW(Int(c.currentAverageDemandW)))*kW)",
            ]
            let maxTime = (c.monthMaximumDemandTime ?? P1Timestamp(utcSeconds: quarterStart)).dsmrString()
            lines.append("1-0:1.6.0(\(maxTime))(\(kW(Int(c.monthMaximumDemandW)))*kW)")
            var history = "0-0:98.1.0(\(c.peakHistory.count))(1-0:1.6.0)(1-0:1.6.0)"
            for peak in c.peakHistory {
                history += "(\(peak.month.dsmrString()))(\(peak.occurred.dsmrString()))(\(kW(Int(peak.valueW)))*kW)"
            }
            lines.append(history)
            lines += ["1-0:1.7.0(\(kW(c.powerImportW))*kW)", "1-0:2.7.0(\(kW(c.powerExportW))*kW)"]
            phasePowers()
            phaseVoltages()
            phaseCurrents(decimals: 2)
            lines += ["0-0:96.3.10(1)", "0-0:17.0.0(999.9*kW)", "1-0:31.4.0(999*A)", "0-0:96.13.0()"]
            if profile.hasGas {
                lines += [
                    "0-1:24.1.0(003)", "0-1:96.1.1(37464C4F32313139303333373333)", "0-1:24.4.0(1)",
                    "0-1:24.2.3(\(Self.stamp(c.gasCaptureTime, ts)))(\(m3(c.gasCapturedLitres))*m3)",
                ]
            }
            if profile.hasWater {
                lines += [
                    "0-2:24.1.0(007)", "0-2:96.1.1(3853414731323334353637383930)",
                    "0-2:24.2.1(\(Self.stamp(c.waterCaptureTime, ts)))(\(m3(c.waterCapturedLitres))*m3)",
                ]
            }
        case .dsmr5NL, .dsmr42:
            let v5 = profile == .dsmr5NL
            header = v5 ? "ISK5\\2M550T-1012" : "KFM5KAIFA-METER"
            lines += [
                "1-3:0.2.8(\(v5 ? 50 : 42))", "0-0:1.0.0(\(ts))", "0-0:96.1.1(4530303434303037333832323436303139)",
            ]
            lines += [
                "1-0:1.8.1(\(kWh(c.importWh[0]))*kWh)", "1-0:1.8.2(\(kWh(c.importWh[1]))*kWh)",
                "1-0:2.8.1(\(kWh(c.exportWh[0]))*kWh)", "1-0:2.8.2(\(kWh(c.exportWh[1]))*kWh)",
                "0-0:96.14.0(000\(c.tariff))", "1-0:1.7.0(\(kW(c.powerImportW))*kW)",
                "1-0:2.7.0(\(kW(c.powerExportW))*kW)", "0-0:96.7.21(00005)", "0-0:96.7.9(00003)",
                "1-0:99.97.0(1)(0-0:96.7.19)(190326095015W)(0000002014*s)",
                "1-0:32.32.0(00000)", "1-0:52.32.0(00000)", "1-0:72.32.0(00000)", "1-0:32.36.0(00000)",
                "1-0:52.36.0(00000)", "1-0:72.36.0(00000)", "0-0:96.13.0()",
            ]
            if v5 { phaseVoltages() }
            phaseCurrents(decimals: 0)
            phasePowers()
            lines += [
                "0-1:24.1.0(003)", "0-1:96.1.0(4730303339303031393336393930363139)",
                "0-1:24.2.1(\(Self.stamp(c.gasCaptureTime, ts)))(\(m3(c.gasCapturedLitres))*m3)",
            ]
        case .dsmr22:
            header = "ISk5\\2MT382-1004"
            func kWh2(_ wh: Int64) -> String { Self.fixed(wh, integerDigits: 5, decimals: 3) }
            func kW2(_ w: Int) -> String { Self.fixed(Int64(w / 10), integerDigits: 4, decimals: 2) }
            lines += [
                "0-0:96.1.1(00000000000000)", "1-0:1.8.1(\(kWh2(c.importWh[0]))*kWh)",
                "1-0:1.8.2(\(kWh2(c.importWh[1]))*kWh)", "1-0:2.8.1(\(kWh2(c.exportWh[0]))*kWh)",
                "1-0:2.8.2(\(kWh2(c.exportWh[1]))*kWh)", "0-0:96.14.0(000\(c.tariff))",
                "1-0:1.7.0(\(kW2(c.powerImportW))*kW)", "1-0:2.7.0(\(kW2(c.powerExportW))*kW)",
                "0-0:17.0.0(0999.00*kW)", "0-0:96.3.10(1)", "0-0:96.13.1()", "0-0:96.13.0()", "0-1:24.1.0(3)",
                "0-1:96.1.0(000000000000)",
                "0-1:24.3.0(\((c.gasCaptureTime ?? c.time).dsmrString(suffix: false)))(00)(60)(1)(0-1:24.2.1)(m3)",
                "(\(m3(c.gasCapturedLitres)))", "0-1:24.4.0(1)",
            ]
        case .smartyEncrypted:
            header = "Lux5\\253663629_D"
            lines += [
                "1-3:0.2.8(42)", "0-0:1.0.0(\(ts))", "0-0:42.0.0(53414731303330373030303132373031)",
                "1-0:1.8.0(\(kWh(c.importTotalWh))*kWh)", "1-0:2.8.0(\(kWh(c.exportTotalWh))*kWh)",
                "1-0:3.8.0(000462.590*kvarh)", "1-0:4.8.0(007109.230*kvarh)",
                "1-0:1.7.0(\(kW(c.powerImportW))*kW)", "1-0:2.7.0(\(kW(c.powerExportW))*kW)",
                "1-0:3.7.0(00.000*kvar)", "1-0:4.7.0(00.154*kvar)", "0-0:17.0.0(027.6*kVA)",
                "1-0:9.7.0(00.000*kVA)", "1-0:10.7.0(00.913*kVA)", "1-1:31.4.0(040*A)(-040*A)", "0-0:96.3.10(1)",
                "0-1:96.3.10(0)", "0-2:96.3.10(0)", "0-0:96.7.21(01067)", "0-0:96.13.0()",
            ]
            phaseVoltages()
            phaseCurrents(decimals: 0)
            phasePowers()
            lines += [
                "0-1:24.1.0(003)", "0-1:96.1.0(464C4F313832333730313230333530)",
                "0-1:24.2.1(\(Self.stamp(c.gasCaptureTime, ts)))(\(m3(c.gasCapturedLitres))*m3)", "0-1:24.4.0(1)",
            ]
        }
        var text = "/" + header + "\r\n\r\n"
        for line in lines { text += line + "\r\n" }
        text += "!"
        var bytes = Array(text.utf8)
        if profile.hasCRC {
            bytes += Array(Self.hex4(CRC16.checksum(bytes)).utf8)
        }
        bytes += Array("\r\n".utf8)
        return bytes
    }

    static func stamp(_ time: P1Timestamp?, _ fallback: String) -> String { time?.dsmrString() ?? fallback }

    /// `value` × 10^-decimals, zero-padded to `integerDigits`: (4426, 6, 3) → `000004.426`.
    public static func fixed(_ value: Int64, integerDigits: Int, decimals: Int) -> String {
        let negative = value < 0
        var digits = String(value.magnitude)
        if digits.count < integerDigits + decimals {
            digits = String(repeating: "0", count: integerDigits + decimals - digits.count) + digits
        }
        if decimals > 0 { digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -decimals)) }
        return negative ? "-" + digits : digits
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        fixed(Int64(value), integerDigits: width, decimals: 0)
    }

    static func hex4(_ value: UInt16) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([12, 8, 4, 0].map { digits[Int(value >> UInt16($0) & 0xF)] })
    }
}
