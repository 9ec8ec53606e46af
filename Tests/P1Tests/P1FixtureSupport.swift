import CivilTime
import Foundation
import P1
import Simulator

/// The P1 fixtures, byte-exact copies kept in the repository's `fixtures/p1` (see its README for what each must
/// yield). Found from this source file's path: the first ancestor directory holding `Package.swift` is the
/// repository root.
enum Fixtures {
    static let directory: URL = {
        var root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while root.path != "/",
            !FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path)
        {
            root = root.deletingLastPathComponent()
        }
        return root.appendingPathComponent("fixtures/p1")
    }()

    /// The exact bytes of a fixture (path relative to the fixtures directory).
    static func bytes(_ name: String) throws -> [UInt8] {
        let url = directory.appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw FixtureError(message: "fixture \(url.path) not found or unreadable")
        }
        return [UInt8](data)
    }

    /// Every plain telegram fixture (top level, derived, spec) with a valid or absent CRC.
    static let validTelegrams = [
        "nl_dsmr22_iskra_mt382_v2_2.txt", "nl_dsmr30_iskra_mt382_v3.txt", "nl_dsmr42_kaifa_v4_2.txt",
        "nl_dsmr50_iskra_mt382_v5.txt", "nl_dsmr50_iskra_am550_two_mbus.txt",
        "nl_dsmr50_nwa_warmtelink_heat_unpadded_crc.txt", "be_fluvius_emucs171_gas_water.txt",
        "be_fluvius_emucs171_alt_invalid_peak_ts.txt", "de_easymeter_q3d_b1024_com1_gateway.txt",
        "de_easymeter_q3d_a1004_com1_gateway.txt", "at_sagemcom_t210dr_plain.txt", "ie_iskra_ie5t_ctrl02_header.txt",
        "hu_eon_sagemcom_v5.txt", "lt_eso_setp1_max_1ph.txt", "lt_eso_setp1_max_3ph.txt",
        "lt_eso_setp1_extended_1ph.txt", "lu_smarty_lux5_plain.txt",
        "derived/nl_dsmr50_gas_invalid_ts_632525252525S.txt", "derived/nl_dsmr22_iskra_mt382_ctrl02_header.txt",
        "derived/ie_iskra_ie5t_backslash_recrc.txt", "derived/lu_smarty_lux5_no_gas.txt",
        "spec/lu_smarty_spec_v113_appendix_example.txt",
    ]
}

struct FixtureError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Ways of chunking a byte stream (NIO's ByteToMessageDecoderVerifier pattern, STYLE §B.5).
enum Chunking: String, CaseIterable, CustomStringConvertible {
    case whole, byteByByte, randomSplits
    var description: String { rawValue }

    func chunks(_ bytes: [UInt8], seed: UInt64 = 0x5EED) -> [ArraySlice<UInt8>] {
        switch self {
        case .whole: return [bytes[...]]
        case .byteByByte: return bytes.indices.map { bytes[$0...$0] }
        case .randomSplits:
            var rng = P1SeededRandom(seed: seed &+ UInt64(bytes.count))
            var result: [ArraySlice<UInt8>] = []
            var index = 0
            while index < bytes.count {
                let length = Int.random(in: 1...97, using: &rng)
                let end = min(bytes.count, index + length)
                result.append(bytes[index..<end])
                index = end
            }
            return result
        }
    }
}

/// Feeds `bytes` through a new framer in the given chunking and collects the events.
func frame(_ bytes: [UInt8], _ chunking: Chunking, options: P1Framer.Options = .init()) -> (
    telegrams: [P1Telegram], rejections: [P1Rejection], framer: P1Framer
) {
    var framer = P1Framer(options: options)
    var telegrams: [P1Telegram] = []
    var rejections: [P1Rejection] = []
    for chunk in chunking.chunks(bytes) {
        framer.feed(chunk) { event in
            switch event {
            case .telegram(let telegram): telegrams.append(telegram)
            case .rejected(let rejection): rejections.append(rejection)
            }
        }
    }
    return (telegrams, rejections, framer)
}

func dec(_ text: String) -> P1Decimal {
    guard let value = P1Decimal(parsing: text) else { preconditionFailure("bad decimal literal \(text)") }
    return value
}

func utc(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int) -> P1Timestamp {
    P1Timestamp(
        utcSeconds: CivilTime.seconds(
            year: year, month: month, day: day, hour: hour, minute: minute, second: second))
}

extension P1Value {
    /// Compact exact rendering for assertions: `1581.123 kWh`, `15`, `0002`, `981.443 m3 @ 2016-11-29T19:00:00Z`.
    var rendered: String {
        switch self {
        case .empty: return "()"
        case .number(let n, let unit): return unit.map { "\(n) \($0.symbol)" } ?? "\(n)"
        case .timestamp(let t): return t?.iso8601 ?? "nil"
        case .text(let s), .obis(let s): return s
        case .hexText(let s): return "hex:" + s
        case .captured(let t, let v, let u):
            var value = "nil"
            if let v { value = u.map { "\(v) \($0.symbol)" } ?? "\(v)" }
            return "\(value) @ \(t?.iso8601 ?? "nil")"
        case .failureLog(let entries):
            return entries.map { "\($0.end?.iso8601 ?? "nil")/\($0.durationSeconds.map(String.init) ?? "nil")" }
                .joined(separator: ",")
        case .peakHistory(let entries):
            return entries.map {
                "\($0.month?.iso8601 ?? "nil")/\($0.occurred?.iso8601 ?? "nil")/\($0.value.map { "\($0)" } ?? "nil")"
            }.joined(separator: ",")
        case .list(let items): return "[" + items.map(\.rendered).joined(separator: ", ") + "]"
        }
    }
}

extension P1Telegram {
    /// The rendered value of the first line whose code is written `obis` (as sent).
    subscript(_ obis: String) -> String {
        lines.first { $0.obisText == obis }?.value.rendered ?? "<missing \(obis)>"
    }
}

enum FileManagerShim {
    /// Every `.txt` telegram fixture (top level, derived/, spec/), relative to the fixtures directory.
    static func listTelegramFixtures(_ directory: URL) -> [String] {
        var names: [String] = []
        for sub in ["", "derived/", "spec/"] {
            let path = directory.appendingPathComponent(sub).path
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            names += entries.filter { $0.hasSuffix(".txt") }.map { sub + $0 }
        }
        return names
    }
}
