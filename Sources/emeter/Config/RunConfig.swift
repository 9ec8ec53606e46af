import Firmware
import Forwarding

/// The daemon's configuration file (`emeter run --config FILE`); every key is optional.
/// See `config/emeter.example.yaml` for a commented example.
struct RunConfig: ValidatedConfig, Equatable {
    /// Device id used in payloads and topics (`emeter/<device>/…`), the MQTT client id and Home Assistant's ids.
    /// Default: chosen once per installation and saved in the state directory — `p1-<meter equipment id>`, else
    /// `emeter-<machine id>` (see `DeviceIdentity`).
    var device: String?
    /// Where the chosen device id and the announced Home Assistant entities are kept: default
    /// `$STATE_DIRECTORY` (systemd), else `~/.local/state/emeter`.
    var stateDir: String?
    /// Interval record length, aligned to the wall clock: default `60s`; must divide one hour.
    var interval: ConfigDuration?
    /// `europe-central` (CET/CEST, default: Belgium, the Netherlands, Luxembourg, Austria) or `utc`:
    /// month boundaries of the capacity-tariff peak.
    var localTime: String?
    /// Hold readings until the time is trusted (the kernel clock synchronised, or the P1 meter's clock `0-0:1.0.0`)
    /// and date them then against the monotonic clock: default `false` (the board's clock is taken as it is). For a
    /// board without an RTC, whose clock starts near 1970 until NTP sets it.
    var waitForTrustedTime: Bool?
    /// Where the 512-byte offline ring lives.
    var ring: RingConfig?
    /// How often the health counters are logged and published: default `60s`.
    var healthInterval: ConfigDuration?
    /// What `emeter run` prints on stdout as JSON Lines: live readings and/or closed records.
    var stdout: StdoutConfig?
    /// Backends to forward to (at most 3; each keeps its own position in the ring).
    var forward: [ForwardConfig]?
    /// Rules that switch the board's `outputs:` (relays): surplus, peak_guard, schedule, manual.
    var controllers: [ControllerConfig]?
    /// Data-quality alerts (missing data, reversed CT, night production, meters disagreeing, meter swap, clock
    /// skew). Missing data, swap and skew are checked by default; the others need the phases named here.
    var alerts: AlertsConfig?
    /// The HTTP API (HomeWizard P1 API v1, Prometheus `/metrics`); off unless configured.
    var api: APIConfig?

    struct APIConfig: Codable, Equatable {
        /// `address:port` to listen on: default `127.0.0.1:8080` (loopback); a LAN address (or `0.0.0.0:8080`)
        /// is the user's choice.
        var listen: String?
        /// Required (`Authorization: Bearer …`) for requests that change state: the value, `env:NAME` or
        /// `file:PATH`.
        var token: String?

        static let defaultListen = "127.0.0.1:8080"
    }

    struct AlertsConfig: Codable, Equatable {
        /// No P1 telegram for this long (default 60s), no ADE9000 sample (default 30s).
        var p1MissingAfter: ConfigDuration?
        var ade9000MissingAfter: ConfigDuration?
        /// A forwarder with records waiting and no delivery for this long (default 15m).
        var forwarderStalledAfter: ConfigDuration?
        /// Meter clock against the board's (default 30s).
        var clockSkewLimit: ConfigDuration?
        /// ADE9000 phases (1–3) with import-only CTs (negative power there: reversed CT).
        var importOnlyPhases: [Int]?
        /// ADE9000 phases (1–3) that carry PV (production at night: wiring or sign error); night is `night_from`
        /// to `night_to`, local time (default 23:00–04:00).
        var pvPhases: [Int]?
        var nightFrom: String?
        var nightTo: String?
        /// Compare P1 and ADE9000 net energy every hour when both measure the same supply; allowed difference, %.
        var disagreementPercent: Double?
        /// Warn (`peak_warning`) this many W before the running quarter-hour would set a new month peak. Default 0
        /// on a meter that reports the capacity tariff (Belgium), off elsewhere unless set.
        var peakWarningMarginW: Int?
        /// A condition must hold this long to raise an alert (default 60s) and be gone this long to clear it
        /// (default 5m).
        var raiseAfter: ConfigDuration?
        var clearAfter: ConfigDuration?

        enum CodingKeys: String, CodingKey {
            case p1MissingAfter = "p1_missing_after"
            case ade9000MissingAfter = "ade9000_missing_after"
            case forwarderStalledAfter = "forwarder_stalled_after"
            case clockSkewLimit = "clock_skew_limit"
            case importOnlyPhases = "import_only_phases"
            case pvPhases = "pv_phases"
            case nightFrom = "night_from"
            case nightTo = "night_to"
            case disagreementPercent = "disagreement_percent"
            case peakWarningMarginW = "peak_warning_margin_w"
            case raiseAfter = "raise_after"
            case clearAfter = "clear_after"
        }
    }

    /// One output's rule. Durations like `5m`; powers in W.
    struct ControllerConfig: Codable, Equatable {
        /// The board output it switches (`outputs[].name`).
        var output: String
        /// `surplus`, `peak_guard`, `schedule` or `manual`.
        var rule: String
        /// surplus: on when export ≥ `on_export_w` for `on_after`; off when import ≥ `off_import_w` for `off_after`.
        var onExportW: Int?
        var onAfter: ConfigDuration?
        var offImportW: Int?
        var offAfter: ConfigDuration?
        /// peak_guard: shed above `limit_w` (default: the month peak so far, at least 2500 W) less `margin_w`;
        /// restore after the quarter-hour, `hysteresis_w` below that.
        var limitW: Int?
        var marginW: Int?
        var hysteresisW: Int?
        /// schedule: windows (`{days: [mon, tue], from: "22:00", to: "06:00"}`) and tariffs (`[2]`).
        var windows: [WindowConfig]?
        var tariffs: [Int]?
        /// Every rule: minimum on and off times, switches per hour (default 6).
        var minimumOn: ConfigDuration?
        var minimumOff: ConfigDuration?
        var maxSwitchesPerHour: Int?

        struct WindowConfig: Codable, Equatable {
            var days: [String]?
            var from: String
            var to: String
        }

        enum CodingKeys: String, CodingKey {
            case output, rule, windows, tariffs
            case onExportW = "on_export_w"
            case onAfter = "on_after"
            case offImportW = "off_import_w"
            case offAfter = "off_after"
            case limitW = "limit_w"
            case marginW = "margin_w"
            case hysteresisW = "hysteresis_w"
            case minimumOn = "minimum_on"
            case minimumOff = "minimum_off"
            case maxSwitchesPerHour = "max_switches_per_hour"
        }
    }

    /// One backend: `url:` (MQTT, or a plain HTTP JSON endpoint), or one of the sections `http:`, `orion:`,
    /// `thingspeak:`, `influxdb:` for the HTTP backends with their own settings.
    struct ForwardConfig: Codable, Equatable {
        /// `mqtt://[user[:password]@]host[:port][/prefix]`, `mqtts://…`, or `http(s)://…` (JSON POST, no auth).
        var url: String?
        /// Generic JSON POST with bearer token or JWT (djangorestframework-simplejwt).
        var http: HTTPForwarderConfiguration?
        /// FIWARE Orion NGSI-v2 (`POST /v2/op/update`, append).
        var orion: OrionConfiguration?
        /// ThingSpeak channel update (field1..8).
        var thingspeak: ThingSpeakConfiguration?
        /// InfluxDB line protocol (v1 `/write?db=`, v2 `/api/v2/write?org=&bucket=`).
        var influxdb: InfluxDBConfiguration?
        /// Overrides a password in the URL: the value, `env:NAME` or `file:PATH` (a file readable only by you).
        var password: String?
        /// MQTT: announce Home Assistant discovery configs (default true).
        var discovery: Bool?
        /// MQTT: discovery prefix (default `homeassistant`).
        var discoveryPrefix: String?
        /// MQTT over TLS: CA bundle, optional client certificate and key (PEM).
        var caFile: String?
        var certFile: String?
        var keyFile: String?
        /// MQTT keep-alive, seconds (default 30).
        var keepAlive: Int?
        /// The forwarder's name in the offline ring, which keeps its position under this name across restarts;
        /// default ``consumerName``'s derivation from the URL. Set it to keep a position when the URL changes, or
        /// to tell apart two forwarders to the same place.
        var name: String?

        init(url: String) { self.url = url }

        enum CodingKeys: String, CodingKey {
            case url, password, discovery, http, orion, thingspeak, influxdb, name
            case discoveryPrefix = "discovery_prefix"
            case caFile = "ca_file"
            case certFile = "cert_file"
            case keyFile = "key_file"
            case keepAlive = "keep_alive"
        }
    }

    /// The ring consumer names of the configured record consumers: `stdout` (when it prints records) and every
    /// forwarder's ``ForwardConfig/consumerName``, in configuration order.
    var consumerNames: [String] {
        ((stdout?.records ?? true) ? ["stdout"] : []) + (forward ?? []).map(\.consumerName)
    }

    struct RingConfig: Codable, Equatable {
        /// `ram`, `file` (crash-safe image file) or `eeprom` (the board's 24C04).
        var storage: String
        /// For `file`: the image path (created when missing).
        var path: String?
    }

    struct StdoutConfig: Codable, Equatable {
        var live: Bool?
        var records: Bool?
        var health: Bool?
    }

    enum CodingKeys: String, CodingKey {
        case device, interval, ring, stdout, forward, controllers, alerts, api
        case localTime = "local_time"
        case healthInterval = "health_interval"
        case stateDir = "state_dir"
        case waitForTrustedTime = "wait_for_trusted_time"
    }

    static let `default` = RunConfig()

    func problems() -> [FieldError] {
        var problems: [FieldError] = []
        if let device, !DeviceIdentity.isValid(device) {
            problems.append(
                FieldError(
                    ["device"],
                    "expected a non-empty id of at most 64 characters without `/`, `#`, `+` or spaces, got `\(device)`")
            )
        }
        if let stateDir, stateDir.trimmed.isEmpty {
            problems.append(FieldError(["state_dir"], "expected a directory path"))
        }
        if let interval {
            let seconds = interval.duration.components.seconds
            if interval.duration.components.attoseconds != 0 || seconds < 1 || 3600 % seconds != 0 {
                problems.append(
                    FieldError(
                        ["interval"],
                        "expected whole seconds that divide one hour (e.g. 10s, 60s, 5m, 15m), got \(interval)"))
            }
        }
        if let listen = api?.listen, ShareAddress(listen) == nil {
            problems.append(
                FieldError(
                    ["api", "listen"],
                    "expected IPv4:port or [IPv6]:port, e.g. 127.0.0.1:8080 or 0.0.0.0:8080, got `\(listen)`"))
        }
        if let token = api?.token, token.trimmed.isEmpty {
            problems.append(FieldError(["api", "token"], "expected a token, `env:NAME` or `file:PATH`"))
        }
        if let localTime, !["europe-central", "utc"].contains(localTime) {
            problems.append(FieldError(["local_time"], "expected `europe-central` or `utc`, got `\(localTime)`"))
        }
        if let ring {
            switch ring.storage {
            case "ram", "eeprom": break
            case "file":
                if ring.path == nil { problems.append(FieldError(["ring", "path"], "`storage: file` needs `path:`")) }
            default:
                problems.append(
                    FieldError(["ring", "storage"], "expected `ram`, `file` or `eeprom`, got `\(ring.storage)`"))
            }
        }
        for (index, forward) in (forward ?? []).enumerated() {
            let kinds = [
                forward.url != nil, forward.http != nil, forward.orion != nil, forward.thingspeak != nil,
                forward.influxdb != nil,
            ]
            if kinds.filter({ $0 }).count != 1 {
                problems.append(
                    FieldError(
                        ["forward", String(index)],
                        "expected exactly one of `url:`, `http:`, `orion:`, `thingspeak:` or `influxdb:`"))
            }
            if let url = forward.url {
                let scheme = url.split(separator: ":").first.map { $0.lowercased() } ?? ""
                if !["mqtt", "mqtts", "http", "https"].contains(scheme) {
                    problems.append(
                        FieldError(
                            ["forward", String(index), "url"],
                            "expected mqtt://[user[:password]@]host[:port][/prefix], mqtts://…, http://… or https://…, got `\(url.split(separator: "@").last ?? "")`"
                        ))
                }
            }
            if let keepAlive = forward.keepAlive, !(5...3600).contains(keepAlive) {
                problems.append(
                    FieldError(
                        ["forward", String(index), "keep_alive"], "expected 5 to 3600 seconds, got \(keepAlive)"))
            }
            if (forward.certFile == nil) != (forward.keyFile == nil) {
                problems.append(FieldError(["forward", String(index)], "`cert_file` and `key_file` go together"))
            }
        }
        var seen: [String: Int] = [:]
        for (index, forward) in (forward ?? []).enumerated() {
            let name = forward.consumerName
            if let first = seen[name] {
                problems.append(
                    FieldError(
                        ["forward", String(index)],
                        "forward[\(first)] has the same ring name `\(name)`; give one of them another `name:`"))
            } else if name == "stdout" {
                problems.append(
                    FieldError(["forward", String(index), "name"], "`stdout` is the name of stdout's records"))
            }
            seen[name] = index
        }
        if (forward?.count ?? 0) > 3 {
            problems.append(
                FieldError(["forward"], "expected at most 3 forwarders (the ring tracks 4 consumers, one is stdout)"))
        }
        if let health = healthInterval, health.duration < .seconds(1) {
            problems.append(FieldError(["health_interval"], "expected at least 1s, got \(health)"))
        }
        if let alerts {
            for (key, phases) in [("import_only_phases", alerts.importOnlyPhases), ("pv_phases", alerts.pvPhases)] {
                if let bad = (phases ?? []).first(where: { !(1...3).contains($0) }) {
                    problems.append(FieldError(["alerts", key], "expected phases 1, 2 or 3, got \(bad)"))
                }
            }
            for (key, text) in [("night_from", alerts.nightFrom), ("night_to", alerts.nightTo)] {
                if let text, ControllerConfig.minute(text) == nil {
                    problems.append(FieldError(["alerts", key], "expected HH:MM, got `\(text)`"))
                }
            }
            if let percent = alerts.disagreementPercent, !(percent > 0 && percent <= 100) {
                problems.append(
                    FieldError(
                        ["alerts", "disagreement_percent"], "expected more than 0 and at most 100, got \(percent)"))
            }
        }
        var controlled: Set<String> = []
        for (index, controller) in (controllers ?? []).enumerated() {
            let path = ["controllers", String(index)]
            if !controlled.insert(controller.output).inserted {
                problems.append(FieldError(path + ["output"], "`\(controller.output)` already has a controller"))
            }
            switch controller.makeRule() {
            case .success: break
            case .failure(let problem): problems.append(FieldError(path + problem.path, problem.message))
            }
            if let budget = controller.maxSwitchesPerHour, !(1...60).contains(budget) {
                problems.append(
                    FieldError(path + ["max_switches_per_hour"], "expected 1 to 60 switches per hour, got \(budget)"))
            }
        }
        return problems
    }
}

extension RunConfig.ControllerConfig {
    private static let weekdays = ["mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7]

    /// `HH:MM` as minutes since midnight (24:00 allowed as the end of the day).
    static func minute(_ text: String) -> Int? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[1].count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]),
            (0...24).contains(hour), (0...59).contains(minute), hour * 60 + minute <= 1440
        else { return nil }
        return hour * 60 + minute
    }

    /// The rule this entry describes, or the first field that is missing or wrong.
    func makeRule() -> Result<ControlRule, FieldError> {
        func seconds(_ value: ConfigDuration?) -> Int64 { value?.duration.components.seconds ?? 0 }
        func power(_ value: Int?, _ key: String) -> Result<Int64, FieldError> {
            guard let value else { return .failure(FieldError([key], "`rule: \(rule)` needs `\(key):` (W)")) }
            guard (0...1_000_000).contains(value) else {
                return .failure(FieldError([key], "expected 0 to 1000000 W, got \(value)"))
            }
            return .success(Int64(value))
        }
        switch rule {
        case "surplus":
            let on = power(onExportW, "on_export_w")
            let off = power(offImportW, "off_import_w")
            switch (on, off) {
            case (.failure(let error), _), (_, .failure(let error)): return .failure(error)
            case (.success(let on), .success(let off)):
                return .success(
                    .surplus(onExportW: on, onAfter: seconds(onAfter), offImportW: off, offAfter: seconds(offAfter)))
            }
        case "peak_guard":
            if let limitW, !(ControlRule.minimumBilledPeakW...1_000_000).contains(Int64(limitW)) {
                return .failure(FieldError(["limit_w"], "expected 2500 to 1000000 W, got \(limitW)"))
            }
            return .success(
                .peakGuard(
                    limitW: limitW.map(Int64.init), marginW: Int64(marginW ?? 0), hysteresisW: Int64(hysteresisW ?? 200)
                ))
        case "schedule":
            var result: [ScheduleWindow] = []
            for (index, window) in (windows ?? []).enumerated() {
                guard let from = Self.minute(window.from) else {
                    return .failure(
                        FieldError(["windows", String(index), "from"], "expected HH:MM, got `\(window.from)`"))
                }
                guard let to = Self.minute(window.to) else {
                    return .failure(FieldError(["windows", String(index), "to"], "expected HH:MM, got `\(window.to)`"))
                }
                var days: Set<Int> = []
                for day in window.days ?? ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] {
                    guard let number = Self.weekdays[day.lowercased()] else {
                        return .failure(
                            FieldError(["windows", String(index), "days"], "expected mon, tue, … sun, got `\(day)`"))
                    }
                    days.insert(number)
                }
                result.append(ScheduleWindow(weekdays: days, fromMinute: from, toMinute: to))
            }
            if let bad = (tariffs ?? []).first(where: { !(1...4).contains($0) }) {
                return .failure(FieldError(["tariffs"], "expected tariffs 1 to 4, got \(bad)"))
            }
            if result.isEmpty && (tariffs ?? []).isEmpty {
                return .failure(FieldError(["windows"], "`rule: schedule` needs `windows:` or `tariffs:`"))
            }
            return .success(.schedule(windows: result, tariffs: tariffs ?? []))
        case "manual":
            return .success(.manual)
        default:
            return .failure(
                FieldError(["rule"], "expected `surplus`, `peak_guard`, `schedule` or `manual`, got `\(rule)`"))
        }
    }
}

extension RunConfig.ForwardConfig {
    /// The stable name under which the offline ring keeps this forwarder's position: `name:` when given,
    /// otherwise `mqtt:<host>/<prefix>` for an MQTT URL, `http:<host><path>` for an HTTP URL or `http:` section,
    /// `orion:<host><path>`, `thingspeak:<host><path>`, `influxdb:<host><path>/<database or org/bucket>`. No credentials, port or query go into it, so changing a
    /// password or port keeps the position; the order of the `forward:` list does not matter.
    var consumerName: String {
        if let name { return name }
        if let http { return "http:" + Self.hostAndPath(http.url) }
        if let orion { return "orion:" + Self.hostAndPath(orion.url) }
        if let thingspeak { return "thingspeak:" + Self.hostAndPath(thingspeak.url) }
        if let influxdb {
            var path = Self.hostAndPath(influxdb.url)
            while path.hasSuffix("/") { path.removeLast() }
            let target =
                influxdb.effectiveVersion == 1
                ? (influxdb.database ?? "") : "\(influxdb.org ?? "")/\(influxdb.bucket ?? "")"
            return "influxdb:\(path)/\(target)"
        }
        guard let url else { return "forward" }
        if url.lowercased().hasPrefix("http") { return "http:" + Self.hostAndPath(url) }
        if case .success(let mqtt) = MQTTForwarderConfiguration.parse(url: url, device: "emeter") {
            return "mqtt:\(mqtt.host)/\(mqtt.prefix)"
        }
        return "mqtt:" + Self.hostAndPath(url)
    }

    /// `https://user:pw@Host:8443/api/readings/?x=1` → `Host/api/readings/`.
    static func hostAndPath(_ url: String) -> String {
        var rest = Substring(url)
        if let colon = rest.firstIndex(of: ":"), rest[colon...].hasPrefix("://") {
            rest = rest[rest.index(colon, offsetBy: 3)...]
        }
        if let end = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = rest[..<slash]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            authority = authority[...close]
        } else if let colon = authority.lastIndex(of: ":") {
            authority = authority[..<colon]
        }
        return String(authority) + rest[slash...]
    }
}

extension RunConfig {
    /// The alert settings for a board: missing-data checks for the meters it has, the rest as configured.
    func alertSettings(hasP1: Bool, hasADE9000: Bool) -> AlertMonitor.Settings {
        var settings = AlertMonitor.Settings()
        func seconds(_ value: ConfigDuration?, _ fallback: Int64) -> Int64 {
            value.map { max(1, $0.duration.components.seconds) } ?? fallback
        }
        settings.p1MissingAfter = hasP1 ? seconds(alerts?.p1MissingAfter, 60) : nil
        settings.adeMissingAfter = hasADE9000 ? seconds(alerts?.ade9000MissingAfter, 30) : nil
        settings.forwarderStalledAfter = seconds(alerts?.forwarderStalledAfter, 900)
        settings.clockSkewLimit = seconds(alerts?.clockSkewLimit, 30)
        settings.importOnlyPhases = Set(alerts?.importOnlyPhases ?? [])
        settings.pvPhases = Set(alerts?.pvPhases ?? [])
        if let from = alerts?.nightFrom.flatMap(ControllerConfig.minute) { settings.nightFromMinute = from }
        if let to = alerts?.nightTo.flatMap(ControllerConfig.minute) { settings.nightToMinute = to }
        settings.disagreementPercent = hasP1 && hasADE9000 ? alerts?.disagreementPercent : nil
        settings.peakWarningMarginW = alerts?.peakWarningMarginW.map(Int64.init)
        settings.peakWarningWhenMeterReportsDemand = hasP1
        settings.peakWarningFromP1 = hasP1
        settings.raiseAfter = seconds(alerts?.raiseAfter, 60)
        settings.clearAfter = seconds(alerts?.clearAfter, 300)
        return settings
    }
}
