import Foundation

/// The daemon's configuration file (`emeter run --config FILE`); every key is optional.
/// See `config/emeter.example.yaml` for a commented example.
struct RunConfig: ValidatedConfig, Equatable {
    /// Device id used in payloads and topics (`emeter/<device>/…`); default `emeter`.
    var device: String?
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
        case device, interval, ring, stdout
        case localTime = "local_time"
        case healthInterval = "health_interval"
    }

    static let `default` = RunConfig()

    func problems() -> [FieldError] {
        var problems: [FieldError] = []
        if let device, device.isEmpty || device.contains(where: { "/#+ ".contains($0) }) {
            problems.append(FieldError(["device"], "expected a non-empty id without `/`, `#`, `+` or spaces, got `\(device)`"))
        }
        if let interval {
            let seconds = interval.duration.components.seconds
            if interval.duration.components.attoseconds != 0 || seconds < 1 || 3600 % seconds != 0 {
                problems.append(FieldError(["interval"],
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
                problems.append(FieldError(["ring", "storage"], "expected `ram`, `file` or `eeprom`, got `\(ring.storage)`"))
            }
        }
        if let health = healthInterval, health.duration < .seconds(1) {
            problems.append(FieldError(["health_interval"], "expected at least 1s, got \(health)"))
        }
        return problems
    }
}
