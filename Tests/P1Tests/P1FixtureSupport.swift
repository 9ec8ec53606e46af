import CivilTime
import Foundation
import P1
import Simulator

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
