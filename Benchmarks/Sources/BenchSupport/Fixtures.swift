import Foundation

/// The P1 telegrams the benchmarks parse. Both are byte-exact captures from ndokter/dsmr_parser's tests (see
/// `fixtures/p1/README.md`), so the Python comparison in `scripts/bench-p1` parses the same bytes.
public enum P1Fixture: String, CaseIterable, Sendable {
    /// Belgium, Fluvius e-MUCS 1.7.1 (`/FLU5\253769484_A`): capacity-tariff history, gas and water M-Bus, 1059 bytes.
    case belgianFluvius = "be"
    /// Netherlands, DSMR 5.0 (`/ISk5\2MT382-1000`): two M-Bus channels, empty failure log, 890 bytes.
    case dutchDSMR50 = "nl"

    /// File name in the fixture directory.
    public var fileName: String {
        switch self {
        case .belgianFluvius: "be_fluvius_emucs171_gas_water.txt"
        case .dutchDSMR50: "nl_dsmr50_iskra_mt382_v5.txt"
        }
    }

    /// Short label used in tables and benchmark names.
    public var label: String {
        switch self {
        case .belgianFluvius: "BE Fluvius e-MUCS 1.7.1"
        case .dutchDSMR50: "NL DSMR 5.0"
        }
    }

    /// The dsmr_parser telegram specification that parses this telegram (used by `scripts/bench_dsmr_parser.py`).
    public var dsmrParserSpecification: String {
        switch self {
        case .belgianFluvius: "BELGIUM_FLUVIUS"
        case .dutchDSMR50: "V5"
        }
    }

    /// The fixture directory: `$EMETER_P1_FIXTURES` if set, else the repository's own `fixtures/p1` (the repository
    /// root is found from this source file's path).
    public static func directory(filePath: String = #filePath) -> [String] {
        if let override = ProcessInfo.processInfo.environment["EMETER_P1_FIXTURES"], !override.isEmpty {
            return [override]
        }
        // <repo>/Benchmarks/Sources/BenchSupport/Fixtures.swift → <repo>
        let repository = URL(fileURLWithPath: filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return [repository.appendingPathComponent("fixtures/p1").path]
    }

    /// Reads the fixture's bytes exactly as stored (CRLF line ends and CRC line kept).
    /// - Throws: `BenchError` naming every path tried when the file is found nowhere.
    public func load() throws(BenchError) -> [UInt8] {
        let candidates = Self.directory().map { $0 + "/" + fileName }
        for path in candidates {
            if let data = FileManager.default.contents(atPath: path) { return [UInt8](data) }
        }
        throw BenchError(
            "P1 fixture \(fileName) not found; tried \(candidates.joined(separator: ", ")) "
                + "(set EMETER_P1_FIXTURES to the directory holding it)")
    }
}
