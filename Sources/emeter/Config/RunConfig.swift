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
    /// Where the 512-byte offline ring lives.
    var ring: RingConfig?
    /// How often the health counters are logged and published: default `60s`.
    var healthInterval: ConfigDuration?
    /// What `emeter run` prints on stdout as JSON Lines: live readings and/or closed records.
    var stdout: StdoutConfig?
    /// Backends to forward to (at most 3; each keeps its own position in the ring).
    var forward: [ForwardConfig]?

    /// One backend: `url:` (MQTT, or a plain HTTP JSON endpoint), or one of the sections `http:`, `orion:`,
    /// `thingspeak:` for the HTTP backends with their own settings.
    struct ForwardConfig: Codable, Equatable {
        /// `mqtt://[user[:password]@]host[:port][/prefix]`, `mqtts://…`, or `http(s)://…` (JSON POST, no auth).
        var url: String?
        /// Generic JSON POST with bearer token or JWT (djangorestframework-simplejwt).
        var http: HTTPForwarderConfiguration?
        /// FIWARE Orion NGSI-v2 (`POST /v2/op/update`, append).
        var orion: OrionConfiguration?
        /// ThingSpeak channel update (field1..8).
        var thingspeak: ThingSpeakConfiguration?
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
            case url, password, discovery, http, orion, thingspeak, name
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
        case device, interval, ring, stdout, forward
        case localTime = "local_time"
        case healthInterval = "health_interval"
        case stateDir = "state_dir"
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
            let kinds = [forward.url != nil, forward.http != nil, forward.orion != nil, forward.thingspeak != nil]
            if kinds.filter({ $0 }).count != 1 {
                problems.append(
                    FieldError(
                        ["forward", String(index)],
                        "expected exactly one of `url:`, `http:`, `orion:` or `thingspeak:`"))
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
        return problems
    }
}

extension RunConfig.ForwardConfig {
    /// The stable name under which the offline ring keeps this forwarder's position: `name:` when given,
    /// otherwise `mqtt:<host>/<prefix>` for an MQTT URL, `http:<host><path>` for an HTTP URL or `http:` section,
    /// `orion:<host><path>`, `thingspeak:<host><path>`. No credentials, port or query go into it, so changing a
    /// password or port keeps the position; the order of the `forward:` list does not matter.
    var consumerName: String {
        if let name { return name }
        if let http { return "http:" + Self.hostAndPath(http.url) }
        if let orion { return "orion:" + Self.hostAndPath(orion.url) }
        if let thingspeak { return "thingspeak:" + Self.hostAndPath(thingspeak.url) }
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
