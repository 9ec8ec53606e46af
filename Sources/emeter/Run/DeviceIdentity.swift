import FoundationEssentials
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Where `emeter run` keeps what must survive a restart besides the ring: the device id it chose and the Home
/// Assistant entities it announced.
///
/// In order: the configuration's `state_dir:`; `$STATE_DIRECTORY` (set by systemd for `StateDirectory=emeter`,
/// i.e. `/var/lib/emeter`); `$XDG_STATE_HOME/emeter`; `~/.local/state/emeter`. Created (mode 0700) when missing.
enum StateDirectory {
    /// The directory to use, from the configuration and the environment, before it is created.
    static func path(configured: String?, environment: [String: String]) -> String? {
        if let configured { return configured }
        if let systemd = environment["STATE_DIRECTORY"]?.split(separator: ":").first, !systemd.isEmpty {
            return String(systemd)
        }
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") { return xdg + "/emeter" }
        if let home = environment["HOME"], home.hasPrefix("/") { return home + "/.local/state/emeter" }
        return nil
    }

    /// Resolves and creates the state directory.
    /// - Returns: its path, or `nil` (with a warning logged) when only a default could not be created: state is
    ///   then kept in memory.
    /// - Throws: `RunFailure` when the configured `state_dir` cannot be created.
    static func prepare(configured: String?, environment: [String: String], logger: Logger) throws -> String? {
        guard let path = path(configured: configured, environment: environment) else {
            logger.warning(
                "no state directory (no HOME, no STATE_DIRECTORY): device id and entity state in memory only")
            return nil
        }
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            let reason = "state directory \(path): cannot create it (\(error))"
            if configured != nil {
                throw RunFailure(
                    description: "\(reason); expected a directory emeter may write (state_dir:)",
                    exitCode: ExitStatus.cantCreate)
            }
            logger.warning("\(reason); device id and entity state in memory only")
            return nil
        }
        return path
    }
}

/// The id emeter publishes under (`<prefix>/<device>/…`, the MQTT client id `emeter-<device>`, every Home Assistant
/// `unique_id`). Two installations must never share it, and it must not change between restarts, so when the
/// configuration does not set `device:` it is, in order: the id saved in the state directory (`device-id`) by an
/// earlier start; `p1-<equipment id>` from the first telegram (0-0:96.1.1, the meter's serial number, which stays
/// the same when the SD card is replaced); `emeter-<12 hex digits of /etc/machine-id>`; `emeter-<hostname>`.
/// The chosen id is saved and logged.
enum DeviceIdentity {
    /// How an id was chosen, for the start-up log line.
    enum Origin: Equatable, CustomStringConvertible {
        case configuration
        case saved(String)
        case equipmentID(String)
        case machineID
        case hostname
        case fallback

        var description: String {
            switch self {
            case .configuration: "the configuration's device:"
            case .saved(let path): "saved in \(path)"
            case .equipmentID(let id): "the P1 meter's equipment id \(id)"
            case .machineID: "/etc/machine-id"
            case .hostname: "the host name"
            case .fallback: "the default (no P1 equipment id, machine id or host name)"
            }
        }
    }

    /// Whether `id` may be used in topics and ids: non-empty, at most 64 characters, no `/`, `#`, `+`, spaces or
    /// control characters.
    static func isValid(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 64
            && !id.unicodeScalars.contains { " /#+".unicodeScalars.contains($0) || $0.value < 0x21 || $0.value == 0x7F }
    }

    /// `p1-<id>` from a meter's equipment id: lower case, letters, digits and `-` only; `nil` for an id that
    /// cannot tell meters apart (empty, or one repeated character such as the `00000000000000` of test meters).
    static func fromEquipmentID(_ equipment: String) -> String? {
        let cleaned = String(
            equipment.lowercased().unicodeScalars.filter {
                ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-"
            }
            .prefix(40).map(Character.init))
        guard let first = cleaned.first, cleaned.contains(where: { $0 != first }) else { return nil }
        return "p1-" + cleaned
    }

    /// `emeter-<first 12 hex digits>` from the text of `/etc/machine-id`.
    static func fromMachineID(_ text: String) -> String? {
        let hex = text.lowercased().filter(\.isHexDigit)
        guard hex.count >= 12, hex.contains(where: { $0 != "0" }) else { return nil }
        return "emeter-" + hex.prefix(12)
    }

    /// `emeter-<host name>`, reduced like an equipment id.
    static func fromHostname(_ name: String) -> String? {
        let cleaned = String(
            name.lowercased().unicodeScalars.filter {
                ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-"
            }
            .prefix(40).map(Character.init))
        guard !cleaned.isEmpty, cleaned != "localhost" else { return nil }
        return "emeter-" + cleaned
    }

    /// Chooses the device id (see the type's documentation) and saves it in `stateDirectory`.
    /// - Parameters:
    ///   - configured: `device:` from the configuration.
    ///   - stateDirectory: where `device-id` is read and written; `nil` = nothing saved.
    ///   - equipmentID: waits (bounded) for the first telegram's equipment id; `nil` when the board has no P1
    ///     meter or none came in time.
    ///   - machineIDPath: `/etc/machine-id`, replaceable for tests.
    static func resolve(
        configured: String?, stateDirectory: String?, equipmentID: () async -> String?,
        machineIDPath: String = "/etc/machine-id", logger: Logger
    ) async -> (id: String, origin: Origin) {
        if let configured { return (configured, .configuration) }
        let file = stateDirectory.map { $0 + "/device-id" }
        if let file, let data = FileManager.default.contents(atPath: file) {
            let saved = String(decoding: data, as: UTF8.self).trimmed
            if isValid(saved) { return (saved, .saved(file)) }
            logger.warning("\(file) does not hold a usable device id (`\(saved.prefix(70))`); choosing one again")
        }
        let chosen: (id: String, origin: Origin)
        if let equipment = await equipmentID(), let id = fromEquipmentID(equipment) {
            chosen = (id, .equipmentID(equipment))
        } else if let data = FileManager.default.contents(atPath: machineIDPath),
            let id = fromMachineID(String(decoding: data, as: UTF8.self))
        {
            chosen = (id, .machineID)
        } else if let id = fromHostname(hostName()) {
            chosen = (id, .hostname)
        } else {
            chosen = ("emeter", .fallback)
        }
        if let file {
            do {
                try Data((chosen.id + "\n").utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
            } catch {
                logger.warning("cannot save the device id in \(file): \(error); the next start chooses again")
            }
        }
        return chosen
    }

    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
