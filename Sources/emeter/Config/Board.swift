import CivilTime
import Firmware
import FoundationEssentials
import HAL
import P1

/// A length of time in a YAML file: `250ms`, `1s`, `60s`, `15m`, `2h`, or a plain number of seconds.
struct ConfigDuration: Codable, Equatable, CustomStringConvertible {
    var duration: Duration

    init(_ duration: Duration) { self.duration = duration }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let seconds = try? container.decode(Double.self) {
            guard let parsed = Self.milliseconds(seconds) else {
                throw DecodingError.dataCorruptedError(
                    in: container,
                    debugDescription: "expected a number of seconds from 0 to \(Int(Self.maximumSeconds)) (one year)")
            }
            duration = parsed
            return
        }
        let text = try container.decode(String.self)
        guard let parsed = Self.parse(text) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "expected a duration such as `500ms`, `1s`, `15m` or `2h`, at most one year")
        }
        duration = parsed
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// The longest duration any setting accepts: one year. Longer ones are typos (`1e300s`), and refusing them keeps
    /// every later conversion in range.
    static let maximumSeconds: Double = 366 * 86400

    /// `text` as a duration, or nil when it is not a number with a known unit, negative, not finite or over a year.
    static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmed
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            guard let number = Double(trimmed.dropLast(suffix.count)) else { return nil }
            return milliseconds(number * scale)
        }
        return Double(trimmed).flatMap(milliseconds)
    }

    /// `seconds` rounded to milliseconds, or nil outside 0…`maximumSeconds` (NaN and infinities included).
    static func milliseconds(_ seconds: Double) -> Duration? {
        guard seconds.isFinite, seconds >= 0, seconds <= maximumSeconds else { return nil }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    var description: String {
        let ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        if ms % 3_600_000 == 0 && ms > 0 { return "\(ms / 3_600_000)h" }
        if ms % 60_000 == 0 && ms > 0 { return "\(ms / 60_000)m" }
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        return "\(ms)ms"
    }
}

/// A point in time in a YAML file, in UTC: `2025-01-06T19:00:00Z` (ISO 8601, seconds and the `Z` required).
struct ConfigTimestamp: Codable, Equatable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    var unixSeconds: Int64

    init(unixSeconds: Int64) { self.unixSeconds = unixSeconds }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let seconds = Self.parse(text) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "expected a UTC time such as `2025-01-06T19:00:00Z` (years 2000–2099)")
        }
        unixSeconds = seconds
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` with a valid calendar date in 2000–2099, or nil.
    static func parse(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count == 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            bytes[19] == UInt8(ascii: "Z")
        else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (2000...2099).contains(year), (1...12).contains(month), (0...23).contains(hour),
            (0...59).contains(minute), (0...59).contains(second)
        else { return nil }
        let leap = year % 4 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard (1...days).contains(day) else { return nil }
        return CivilTime.seconds(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    }

    var description: String { P1Timestamp(utcSeconds: unixSeconds).iso8601 }
}

/// A GPIO line in a board file: a line offset (`25`) or a line name from the device tree (`GPIO25`).
struct GPIOLineRef: Codable, Equatable, CustomStringConvertible {
    var selector: GPIOLineSelector

    init(_ selector: GPIOLineSelector) { self.selector = selector }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let offset = try? container.decode(Int.self) {
            guard (0...1023).contains(offset) else {
                throw DecodingError.dataCorruptedError(
                    in: container,
                    debugDescription: "expected a line offset from 0 to 1023 or a line name")
            }
            selector = .offset(UInt32(offset))
        } else if let name = try? container.decode(String.self), !name.isEmpty {
            selector = .name(name)
        } else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "expected a line offset (e.g. 25) or a line name (e.g. GPIO25)")
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch selector {
        case .offset(let offset): try container.encode(Int(offset))
        case .name(let name): try container.encode(name)
        }
    }

    var description: String { selector.description }
}

/// The wiring of one board: which buses and lines the meters hang on, and the analog front end.
/// Decoded from `boards/*.yaml`; see `boards/README.md` for every key.
struct BoardFile: ValidatedConfig, Equatable {
    var name: String
    var description: String?
    var ade9000: ADE9000Board?
    var p1: P1Board?
    var eeprom: EEPROMBoard?
    /// Relay outputs on GPIO lines, switched by the configuration's `controllers:`.
    var outputs: [OutputBoard]?

    /// One relay (or contactor, or an SSR) on a GPIO output line.
    struct OutputBoard: Codable, Equatable {
        /// The name controllers, logs, JSON Lines and MQTT use (`ev_charger`).
        var name: String
        /// `/dev/gpiochip0` or `gpiochip0`; absent when `simulate: true`.
        var chip: String?
        /// Line offset (17) or line name (`GPIO17`).
        var line: GPIOLineRef?
        /// The relay closes when the line is low.
        var activeLow: Bool?
        /// State at start when nothing was saved: `off` (default) or `on`.
        var initial: String?
        /// State applied when emeter stops (`off` by default); see the README for what happens on a crash.
        var failSafe: String?
        /// A simulated line: its state appears only in emeter's output.
        var simulate: Bool?

        enum CodingKeys: String, CodingKey {
            case name, chip, line, initial, simulate
            case activeLow = "active_low"
            case failSafe = "fail_safe"
        }
    }

    struct ADE9000Board: Codable, Equatable {
        /// spidev wiring; absent when `simulate` is given.
        var spi: SPIBoard?
        var gpio: ADE9000Lines?
        var frontEnd: FrontEndBoard
        /// Run the software ADE9000 instead of hardware.
        var simulate: ADE9000Simulation?
        /// Where `emeter calibrate --save` writes and `emeter run` reads the gains.
        var calibrationFile: String?
        /// Poll period, default 1 s.
        var pollInterval: ConfigDuration?
        /// Read the snapshot with one burst (CONFIG1.BURST_EN set only around it; burst data has no CRC).
        /// Default `false`: every register is read singly with CRC_SPI.
        var burst: Bool?
        /// Sample when IRQ0 signals EGYRDY (needs `gpio.irq0`), falling back to polling when it stops coming.
        /// Default `false`: sample on the loop's timer.
        var useIRQ: Bool?
        /// What the capacity-tariff demand is computed from: `net` across the phases (default, as the meter
        /// counts) or `import_sum`, the sum of the per-phase imports.
        var demand: String?

        /// ``demand`` as the loop takes it.
        var demandMode: ADEDemandMode { demand.flatMap(ADEDemandMode.init(rawValue:)) ?? .net }

        enum CodingKeys: String, CodingKey {
            case spi, gpio, simulate, burst, demand
            case frontEnd = "front_end"
            case calibrationFile = "calibration_file"
            case pollInterval = "poll_interval"
            case useIRQ = "use_irq"
        }
    }

    struct SPIBoard: Codable, Equatable {
        var device: String
        var mode: Int?
        var maxSpeedHz: Int?

        enum CodingKeys: String, CodingKey {
            case device, mode
            case maxSpeedHz = "max_speed_hz"
        }
    }

    struct ADE9000Lines: Codable, Equatable {
        /// `gpiochip0`, `/dev/gpiochip0`, or a chip label.
        var chip: String
        var reset: GPIOLineRef?
        var irq0: GPIOLineRef?
        var irq1: GPIOLineRef?
        var pm0: GPIOLineRef?
        var pm1: GPIOLineRef?
    }

    struct FrontEndBoard: Codable, Equatable {
        /// `3P4W` (wye, with neutral) or `3P3W` (delta).
        var wiring: String
        var lineFrequencyHz: Int
        /// Voltage divider: top resistor (line side) and bottom resistor (across the ADC input), in ohms.
        var voltageDividerTopOhms: Double
        var voltageDividerBottomOhms: Double
        /// Current transformer turns ratio (e.g. 2500 for 2500:1) and burden resistor across its secondary.
        var ctTurns: Double
        var burdenOhms: Double
        /// PGA gain of the current channels: 1, 2 or 4.
        var currentPGA: Int?
        /// PGA gain of the voltage channels: 1, 2 or 4 (default 1).
        var voltagePGA: Int?
        /// Nominal line voltage (V rms), used for VLEVEL and calibration defaults.
        var nominalVoltage: Double?

        enum CodingKeys: String, CodingKey {
            case wiring
            case lineFrequencyHz = "line_frequency_hz"
            case voltageDividerTopOhms = "voltage_divider_top_ohms"
            case voltageDividerBottomOhms = "voltage_divider_bottom_ohms"
            case ctTurns = "ct_turns"
            case burdenOhms = "burden_ohms"
            case currentPGA = "current_pga"
            case voltagePGA = "voltage_pga"
            case nominalVoltage = "nominal_voltage"
        }
    }

    struct ADE9000Simulation: Codable, Equatable {
        /// A scenario YAML file (see `fixtures/ade9000/`); the built-in house scenario when absent.
        var scenario: String?
    }

    struct P1Board: Codable, Equatable {
        /// `/dev/ttyUSB0`, a `/dev/serial/by-id/…` link, or `tcp://host:port`; absent when `simulate` is given.
        var port: String?
        /// `auto` (default) or a setting like `115200-8N1`, `9600-7E1`.
        var serial: String?
        /// How to raise the meter's data-request line: `none` (default; USB cables hold it high), `rts`, `dtr`,
        /// or a GPIO.
        var dataRequest: DataRequest?
        /// AES-128 key (32 hex digits) for encrypted meters (Luxembourg Smarty, Austria); or `env:NAME` / `file:PATH`.
        var key: String?
        /// Authentication key of an encrypted meter, given like `key`; default: the fixed Smarty key. `none` skips
        /// the GCM tag check (the telegram CRC is still checked).
        var authKey: String?
        var simulate: P1Simulation?
        /// Re-serve the telegrams to TCP clients (Home Assistant's DSMR integration, dsmr-reader), like ser2net.
        var share: P1Share?

        enum CodingKeys: String, CodingKey {
            case port, serial, key, simulate, share
            case authKey = "auth_key"
            case dataRequest = "data_request"
        }
    }

    /// P1 sharing: the telegrams exactly as read, served to any number of TCP clients.
    struct P1Share: Codable, Equatable {
        /// `address:port` to listen on: `0.0.0.0:2001` (every IPv4 interface), `127.0.0.1:2001`, `[::1]:2001`,
        /// `[::]:2001`.
        var listen: String
        /// Encrypted meters (Smarty): serve the decrypted telegrams (`true`) or the frames as received (`false`,
        /// default).
        var decrypted: Bool?
    }

    struct DataRequest: Codable, Equatable {
        /// `rts`, `dtr` or `gpio`.
        var line: String
        var chip: String?
        var gpio: GPIOLineRef?
    }

    struct P1Simulation: Codable, Equatable {
        /// Meter profile: see `emeter simulate p1 --help`.
        var profile: String
        /// Fault injection, e.g. `[bitflip, garbage]`.
        var faults: [String]?
        /// The simulated meter's clock at start, e.g. `2025-01-06T19:00:00Z`; the current time when absent. Its load
        /// profile (PV export by day, import by night) follows this clock, so tests and demos that need a known load
        /// set it.
        var start: ConfigTimestamp?
        /// Peak PV export of the simulated house at 13:00 local, W (default 3200). `0`: a house without PV, whose
        /// export registers read 0.
        var solarPeakW: Int?
        /// The simulated meter's clock runs this many times faster than real time (default 1; up to 1000): a day of
        /// PV in minutes, for demonstrations.
        var speedup: Double?

        enum CodingKeys: String, CodingKey {
            case profile, faults, start, speedup
            case solarPeakW = "solar_peak_w"
        }
    }

    struct EEPROMBoard: Codable, Equatable {
        /// `/dev/i2c-1`, or `simulate`.
        var bus: String
        /// 7-bit address of the first block (0x50 for a 24C04 with A1/A2 low); the second block is address + 1.
        var address: Int?
    }
}

extension BoardFile {
    static let knownWirings = ["3P4W", "3P3W"]
    static let maxSPISpeed = 20_000_000

    func problems() -> [FieldError] {
        var problems: [FieldError] = []
        if name.trimmed.isEmpty {
            problems.append(FieldError(["name"], "expected a non-empty board name"))
        }
        if ade9000 == nil && p1 == nil {
            problems.append(FieldError([], "the board has no meter: expected an `ade9000:` or a `p1:` section"))
        }
        if let ade = ade9000 { problems += ade.problems(path: ["ade9000"]) }
        if let p1 { problems += p1.problems(path: ["p1"]) }
        var outputNames: Set<String> = []
        for (index, output) in (outputs ?? []).enumerated() {
            let path = ["outputs", String(index)]
            if output.name.isEmpty || !output.name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" })
            {
                problems.append(
                    FieldError(path + ["name"], "expected a name of letters, digits, `_` or `-`, got `\(output.name)`"))
            } else if !outputNames.insert(output.name).inserted {
                problems.append(FieldError(path + ["name"], "`\(output.name)` is used by another output"))
            }
            if output.simulate == true {
                if output.chip != nil || output.line != nil {
                    problems.append(FieldError(path, "`simulate: true` excludes `chip:` and `line:`"))
                }
            } else if output.chip == nil || output.line == nil {
                problems.append(FieldError(path, "expected `chip:` and `line:` (or `simulate: true`)"))
            }
            for (key, value) in [("initial", output.initial), ("fail_safe", output.failSafe)] {
                if let value, value != "on" && value != "off" {
                    problems.append(FieldError(path + [key], "expected `on` or `off`, got `\(value)`"))
                }
            }
        }
        if let eeprom {
            if eeprom.bus != "simulate" && !eeprom.bus.hasPrefix("/dev/") {
                problems.append(
                    FieldError(
                        ["eeprom", "bus"],
                        "expected an i2c-dev path like /dev/i2c-1 or `simulate`, got `\(eeprom.bus)`"))
            }
            if let address = eeprom.address, !(0x50...0x56).contains(address) || address % 2 != 0 {
                problems.append(
                    FieldError(
                        ["eeprom", "address"],
                        "expected an even 24C04 address from 0x50 to 0x56 (decimal 80–86), got \(address)"))
            }
        }
        return problems
    }
}

extension BoardFile.ADE9000Board {
    func problems(path: [String]) -> [FieldError] {
        var problems: [FieldError] = []
        switch (spi, simulate) {
        case (nil, nil):
            problems.append(FieldError(path, "expected either `spi:` (hardware) or `simulate:` (software ADE9000)"))
        case (.some, .some):
            problems.append(FieldError(path + ["simulate"], "`spi:` and `simulate:` exclude each other; remove one"))
        default: break
        }
        if let spi {
            if !spi.device.hasPrefix("/dev/spidev") {
                problems.append(
                    FieldError(
                        path + ["spi", "device"],
                        "expected a spidev node like /dev/spidev0.0, got `\(spi.device)`"))
            }
            if let mode = spi.mode, !(0...3).contains(mode) {
                problems.append(
                    FieldError(path + ["spi", "mode"], "expected SPI mode 0, 1, 2 or 3 (ADE9000: 0 or 3), got \(mode)"))
            }
            if let speed = spi.maxSpeedHz, !(1...BoardFile.maxSPISpeed).contains(speed) {
                problems.append(
                    FieldError(
                        path + ["spi", "max_speed_hz"],
                        "expected 1 to 20000000 Hz (the ADE9000's SPI clock limit), got \(speed)"))
            }
        }
        if let gpio {
            let named: [(String, GPIOLineRef?)] = [
                ("reset", gpio.reset), ("irq0", gpio.irq0), ("irq1", gpio.irq1), ("pm0", gpio.pm0), ("pm1", gpio.pm1),
            ]
            var seen: [GPIOLineRef: String] = [:]
            for case let (key, line?) in named {
                if let other = seen[line] {
                    problems.append(FieldError(path + ["gpio", key], "\(line) is already used by `\(other)`"))
                }
                seen[line] = key
            }
        }
        if let interval = pollInterval?.duration, interval < .milliseconds(10) || interval > .seconds(3600) {
            problems.append(FieldError(path + ["poll_interval"], "expected 10ms to 1h, got \(pollInterval!)"))
        }
        if let demand, ADEDemandMode(rawValue: demand) == nil {
            problems.append(FieldError(path + ["demand"], "expected `net` or `import_sum`, got `\(demand)`"))
        }
        let fe = frontEnd
        let fePath = path + ["front_end"]
        if !BoardFile.knownWirings.contains(fe.wiring) {
            problems.append(
                FieldError(
                    fePath + ["wiring"],
                    "expected `3P4W` (wye with neutral) or `3P3W` (delta), got `\(fe.wiring)`"))
        }
        if fe.lineFrequencyHz != 50 && fe.lineFrequencyHz != 60 {
            problems.append(FieldError(fePath + ["line_frequency_hz"], "expected 50 or 60, got \(fe.lineFrequencyHz)"))
        }
        for (key, value) in [
            ("voltage_divider_top_ohms", fe.voltageDividerTopOhms),
            ("voltage_divider_bottom_ohms", fe.voltageDividerBottomOhms), ("ct_turns", fe.ctTurns),
            ("burden_ohms", fe.burdenOhms),
        ] where !(value > 0 && value.isFinite) {
            problems.append(FieldError(fePath + [key], "expected a positive number, got \(value)"))
        }
        if let pga = fe.currentPGA, ![1, 2, 4].contains(pga) {
            problems.append(FieldError(fePath + ["current_pga"], "expected PGA gain 1, 2 or 4, got \(pga)"))
        }
        if let pga = fe.voltagePGA, ![1, 2, 4].contains(pga) {
            problems.append(FieldError(fePath + ["voltage_pga"], "expected PGA gain 1, 2 or 4, got \(pga)"))
        }
        if let gpio, (gpio.pm0 == nil) != (gpio.pm1 == nil) {
            problems.append(
                FieldError(path + ["gpio"], "give both `pm0` and `pm1` or neither (PM1 = PM0 = 0 selects normal mode)"))
        }
        if useIRQ == true, gpio?.irq0 == nil, simulate == nil {
            problems.append(FieldError(path + ["use_irq"], "needs `gpio.irq0`: the line IRQ0 is wired to"))
        }
        if let nominal = fe.nominalVoltage, !(50...500).contains(nominal) {
            problems.append(FieldError(fePath + ["nominal_voltage"], "expected 50 to 500 V rms, got \(nominal)"))
        }
        // Full scale at the ADC pins is 0.707 V rms: check the nominal voltage stays inside it.
        if fe.voltageDividerTopOhms > 0 && fe.voltageDividerBottomOhms > 0 {
            let nominal = fe.nominalVoltage ?? (fe.lineFrequencyHz == 60 ? 120 : 230)
            // The voltage PGA multiplies what the ADC sees.
            let atPins =
                nominal * fe.voltageDividerBottomOhms / (fe.voltageDividerTopOhms + fe.voltageDividerBottomOhms)
                * Double(fe.voltagePGA ?? 1)
            if atPins > 0.707 {
                problems.append(
                    FieldError(
                        fePath + ["voltage_divider_bottom_ohms"],
                        "the divider puts \(nominal) V at \(format(atPins, 3)) V rms on the ADC, above its 0.707 V rms full scale (after the voltage PGA); expected a larger top or smaller bottom resistor, or a smaller `voltage_pga`"
                    ))
            }
        }
        return problems
    }
}

extension BoardFile.P1Board {
    func problems(path: [String]) -> [FieldError] {
        var problems: [FieldError] = []
        switch (port, simulate) {
        case (nil, nil):
            problems.append(FieldError(path, "expected either `port:` (a tty or tcp://host:port) or `simulate:`"))
        case (.some, .some):
            problems.append(FieldError(path + ["simulate"], "`port:` and `simulate:` exclude each other; remove one"))
        default: break
        }
        if let port, !port.hasPrefix("/") && !port.hasPrefix("tcp://") {
            problems.append(
                FieldError(
                    path + ["port"],
                    "expected an absolute tty path like /dev/ttyUSB0 (or a link to one) or tcp://host:port, got `\(port)`"
                ))
        }
        if let port, port.hasPrefix("tcp://") {
            let rest = port.dropFirst("tcp://".count)
            let pieces = rest.split(separator: ":")
            if pieces.count != 2 || UInt16(pieces[1]) == nil || UInt16(pieces[1]) == 0 {
                problems.append(
                    FieldError(path + ["port"], "expected tcp://host:port with a port from 1 to 65535, got `\(port)`"))
            }
        }
        if let speedup = simulate?.speedup, !(speedup > 0 && speedup <= 1000) {
            problems.append(FieldError(path + ["simulate", "speedup"], "expected more than 0 and at most 1000"))
        }
        if let solar = simulate?.solarPeakW, !(0...100_000).contains(solar) {
            problems.append(
                FieldError(path + ["simulate", "solar_peak_w"], "expected 0 (no PV) to 100000 W, got \(solar)"))
        }
        if let serial, serial != "auto", SerialConfiguration(parsing: serial) == nil {
            problems.append(
                FieldError(
                    path + ["serial"],
                    "expected `auto` or a setting like 115200-8N1, 9600-7E1 or 115200-7E1, got `\(serial)`"))
        }
        if let request = dataRequest {
            switch request.line {
            case "rts", "dtr", "none": break
            case "gpio":
                if request.gpio == nil || request.chip == nil {
                    problems.append(FieldError(path + ["data_request"], "`line: gpio` needs `chip:` and `gpio:`"))
                }
            default:
                problems.append(
                    FieldError(
                        path + ["data_request", "line"],
                        "expected `none`, `rts`, `dtr` or `gpio`, got `\(request.line)`"))
            }
        }
        /// 32 hex digits when the secret is given inline (`env:`/`file:` are resolved at start).
        func isKey(_ text: String) -> Bool {
            !Secret.isInline(text) || (text.count == 32 && text.allSatisfy(\.isHexDigit))
        }
        if let key, !isKey(key) {
            problems.append(
                FieldError(
                    path + ["key"],
                    "expected 32 hex digits (AES-128), `env:VARIABLE` or `file:PATH`, got \(key.count) characters"))
        }
        if let authKey, authKey != "none", !isKey(authKey) {
            problems.append(
                FieldError(
                    path + ["auth_key"],
                    "expected 32 hex digits, `env:VARIABLE`, `file:PATH` or `none`, got \(authKey.count) characters"))
        }
        if authKey != nil && key == nil && simulate == nil {
            problems.append(FieldError(path + ["auth_key"], "only used with `key:` (an encrypted meter)"))
        }
        if let share, ShareAddress(share.listen) == nil {
            problems.append(
                FieldError(
                    path + ["share", "listen"],
                    "expected an IP address and a port from 1 to 65535 like 0.0.0.0:2001, 127.0.0.1:2001 or "
                        + "[::1]:2001, got `\(share.listen)`"))
        }
        if share?.decrypted == true && key == nil && simulate?.profile != "smarty" {
            problems.append(
                FieldError(path + ["share", "decrypted"], "only used with `key:` (an encrypted meter)"))
        }
        return problems
    }
}

extension GPIOLineRef: Hashable {
    func hash(into hasher: inout Hasher) { hasher.combine(selector.description) }
}

/// The address P1 sharing listens on: an IPv4 literal and a port (`0.0.0.0:2001`), or a bracketed IPv6 literal and
/// a port (`[::1]:2001`).
struct ShareAddress: Equatable, CustomStringConvertible {
    var host: String
    var port: Int

    init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (1...65535).contains(port)
        else { return nil }
        let host = text[..<colon]
        if host.first == "[" && host.last == "]" {
            let inner = host.dropFirst().dropLast()
            let allowed = Set("0123456789abcdefABCDEF:.")
            guard inner.contains(":"), inner.count <= 45, inner.allSatisfy(allowed.contains) else { return nil }
            self.host = String(inner)
        } else {
            let parts = host.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4,
                parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isASCII) && UInt8($0) != nil })
            else { return nil }
            self.host = String(host)
        }
        self.port = port
    }

    var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
