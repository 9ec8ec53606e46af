import Firmware

/// A FIWARE Orion Context Broker (NGSI-v2) backend (`spec/forwarding.md` §3).
///
/// ```yaml
/// url: http://orion:1026          # base URL; records go to <url>/v2/op/update
/// service: emeter                 # Fiware-Service (tenant), optional
/// service_path: /belgium/home     # Fiware-ServicePath, optional
/// entity_type: ThreePhaseAcMeasurement   # or ACMeasurement
/// phase_type: threePhase          # or singlePhase (then per-phase objects carry L1 only)
/// token: env:ORION_TOKEN          # PEP proxy token, optional; token_header default X-Auth-Token
/// live_min_interval: 60           # also upsert live per-phase values at most every 60 s (absent: no live)
/// ```
public struct OrionConfiguration: Codable, Sendable, Equatable {
    /// Orion base URL (`http://host:1026`, optionally with a path prefix of a proxy).
    public var url: String
    /// `Fiware-Service` header (tenant): lower-case letters, digits, `_`, at most 50 characters.
    public var service: String?
    /// `Fiware-ServicePath` header: `/` or `/level/level…` (≤ 10 levels of 1–50 letters, digits, `_`).
    public var servicePath: String?
    /// Entity id; default `urn:ngsi-ld:<entity_type>:<device>`.
    public var entityID: String?
    /// `ThreePhaseAcMeasurement` (default for three-phase) or `ACMeasurement` (default for single-phase).
    public var entityType: String?
    /// `threePhase` (default) or `singlePhase`.
    public var phaseType: String?
    /// Which part of a record to send: `ade9000` or `p1`; default: the ADE9000 part when the record has one, else
    /// the P1 part.
    public var source: String?
    /// `[longitude, latitude]` for the `location` attribute (required by the `ACMeasurement` model).
    public var location: [Double]?
    /// Token for a PEP proxy in front of Orion; `nil` = no auth header.
    public var token: HTTPSecret?
    /// Header carrying `token`: `X-Auth-Token` (default) or `Authorization` (then sent as `Bearer <token>`).
    public var tokenHeader: String?
    /// When set, live readings upsert per-phase instantaneous values at most this often (seconds of reading time).
    public var liveMinInterval: Double?
    public var timeout: HTTPTimeouts
    /// Pause on a configuration error (401/403/404/409/3xx), seconds (default 600).
    public var pause: Double?

    public init(
        url: String, service: String? = nil, servicePath: String? = nil, entityID: String? = nil,
        entityType: String? = nil, phaseType: String? = nil, source: String? = nil, location: [Double]? = nil,
        token: HTTPSecret? = nil, tokenHeader: String? = nil, liveMinInterval: Double? = nil,
        timeout: HTTPTimeouts = HTTPTimeouts(), pause: Double? = nil
    ) {
        self.url = url
        self.service = service
        self.servicePath = servicePath
        self.entityID = entityID
        self.entityType = entityType
        self.phaseType = phaseType
        self.source = source
        self.location = location
        self.token = token
        self.tokenHeader = tokenHeader
        self.liveMinInterval = liveMinInterval
        self.timeout = timeout
        self.pause = pause
    }

    enum CodingKeys: String, CodingKey {
        case url, service, source, location, token, timeout, pause
        case servicePath = "service_path"
        case entityID = "entity_id"
        case entityType = "entity_type"
        case phaseType = "phase_type"
        case tokenHeader = "token_header"
        case liveMinInterval = "live_min_interval"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        url = try container.decode(String.self, forKey: .url)
        service = try container.decodeIfPresent(String.self, forKey: .service)
        servicePath = try container.decodeIfPresent(String.self, forKey: .servicePath)
        entityID = try container.decodeIfPresent(String.self, forKey: .entityID)
        entityType = try container.decodeIfPresent(String.self, forKey: .entityType)
        phaseType = try container.decodeIfPresent(String.self, forKey: .phaseType)
        source = try container.decodeIfPresent(String.self, forKey: .source)
        location = try container.decodeIfPresent([Double].self, forKey: .location)
        token = try container.decodeIfPresent(HTTPSecret.self, forKey: .token)
        tokenHeader = try container.decodeIfPresent(String.self, forKey: .tokenHeader)
        liveMinInterval = try container.decodeIfPresent(Double.self, forKey: .liveMinInterval)
        timeout = try container.decodeIfPresent(HTTPTimeouts.self, forKey: .timeout) ?? HTTPTimeouts()
        pause = try container.decodeIfPresent(Double.self, forKey: .pause)
    }
}

/// Checked Orion settings (`spec/forwarding.md` §3.4, §3.5 identifier rules).
struct OrionSettings: Sendable {
    var updateURL: String
    var service: String?
    var servicePath: String?
    var entity: OrionEntity.Identity
    var source: OrionEntity.Source?

    init(_ configuration: OrionConfiguration, device: String) throws(HTTPConfigurationError) {
        try httpValidateURL(configuration.url, field: "url")
        var base = configuration.url
        while base.hasSuffix("/") { base.removeLast() }
        updateURL = base + "/v2/op/update"

        if let service = configuration.service {
            let lower = service.lowercased()
            guard !lower.isEmpty, lower.count <= 50,
                lower.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
            else {
                throw HTTPConfigurationError(
                    field: "service",
                    "expected 1–50 letters, digits or `_` (Fiware-Service), got `\(service)`")
            }
            self.service = lower
        }
        if let path = configuration.servicePath {
            var levels = path.split(separator: "/", omittingEmptySubsequences: false)
            if path.hasSuffix("/") && path.count > 1 { levels.removeLast() }  // trailing slash is discarded by Orion
            let valid =
                path.hasPrefix("/")
                && (path == "/"
                    || (levels.count - 1 <= 10
                        && levels.dropFirst().allSatisfy { level in
                            (1...50).contains(level.count)
                                && level.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
                        }))
            guard valid else {
                throw HTTPConfigurationError(
                    field: "service_path",
                    "expected `/` or up to 10 levels `/a/b` of 1–50 letters, digits or `_`, got `\(path)`")
            }
            servicePath = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        }

        let phases: Int
        switch configuration.phaseType ?? "threePhase" {
        case "threePhase": phases = 3
        case "singlePhase": phases = 1
        case let other:
            throw HTTPConfigurationError(field: "phase_type", "expected `threePhase` or `singlePhase`, got `\(other)`")
        }
        let type = configuration.entityType ?? (phases == 3 ? "ThreePhaseAcMeasurement" : "ACMeasurement")
        guard type == "ThreePhaseAcMeasurement" || type == "ACMeasurement" else {
            throw HTTPConfigurationError(
                field: "entity_type",
                "expected `ThreePhaseAcMeasurement` or `ACMeasurement`, got `\(type)`")
        }
        let id = configuration.entityID ?? "urn:ngsi-ld:\(type):\(device)"
        guard Self.isValidIdentifier(id) else {
            throw HTTPConfigurationError(
                field: configuration.entityID == nil ? "device" : "entity_id",
                "entity id `\(id)` must be 1–256 printable ASCII characters without whitespace, `& ? / #` or "
                    + "`< > \" ' = ; ( )` (Orion §3.5)")
        }
        var location: (longitude: Double, latitude: Double)?
        if let coordinates = configuration.location {
            guard coordinates.count == 2, (-180...180).contains(coordinates[0]), (-90...90).contains(coordinates[1])
            else {
                throw HTTPConfigurationError(field: "location", "expected [longitude, latitude] in degrees")
            }
            location = (coordinates[0], coordinates[1])
        }
        entity = OrionEntity.Identity(id: id, type: type, phases: phases, location: location)

        switch configuration.source {
        case nil: source = nil
        case "ade9000": source = .ade9000
        case "p1": source = .p1
        case let other?:
            throw HTTPConfigurationError(field: "source", "expected `ade9000` or `p1`, got `\(other)`")
        }
    }

    /// NGSI-v2 identifier syntax plus the general forbidden characters (§3.5).
    static func isValidIdentifier(_ text: String) -> Bool {
        (1...256).contains(text.count)
            && text.unicodeScalars.allSatisfy { scalar in
                scalar.value > 0x20 && scalar.value < 0x7F && !"&?/#<>\"'=;()".unicodeScalars.contains(scalar)
            }
    }
}
