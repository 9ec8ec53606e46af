import Testing

@testable import YAML

private let decoder = YAMLDecoder()

/// The dotted coding path of a decoding error (`spi.mode`, `phases.1.angle`).
private func path(_ error: any Error) -> String {
    let context: DecodingError.Context? =
        switch error as? DecodingError {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context): context
        case .keyNotFound(let key, let context):
            DecodingError.Context(codingPath: context.codingPath + [key], debugDescription: "")
        default: nil
        }
    return context?.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".") ?? "?"
}

/// `kind at path` of the error decoding `type` from `yaml`.
private func failure<T: Decodable>(_ type: T.Type, _ yaml: String) -> String {
    do {
        _ = try decoder.decode(type, from: yaml)
        return "no error"
    } catch let error as DecodingError {
        let kind =
            switch error {
            case .typeMismatch: "typeMismatch"
            case .valueNotFound: "valueNotFound"
            case .keyNotFound: "keyNotFound"
            case .dataCorrupted: "dataCorrupted"
            @unknown default: "unknown"
            }
        return "\(kind) at \(path(error))"
    } catch {
        return "\(error)"
    }
}

private struct Board: Codable, Equatable {
    struct SPI: Codable, Equatable {
        var device: String
        var mode: UInt8
        var max_speed_hz: Int
    }
    struct Phase: Codable, Equatable {
        var voltage: Double
        var current: Double
        var angle: Double
    }
    var name: String
    var spi: SPI
    var phases: [Phase]
    var note: String?
    var enabled: Bool?
}

private let board = """
    name: test
    spi:
      device: /dev/spidev0.0
      mode: 0
      max_speed_hz: 5_000_000
    phases:
      - { voltage: 230, current: 2.0, angle: 10 }
      - { voltage: 231, current: 1.2, angle: -5 }
    note:
    """

@Suite struct DecoderTests {
    @Test func decodesStructsArraysAndOptionals() throws {
        let value = try decoder.decode(Board.self, from: board)
        #expect(value.spi == Board.SPI(device: "/dev/spidev0.0", mode: 0, max_speed_hz: 5_000_000))
        #expect(value.phases[1] == Board.Phase(voltage: 231, current: 1.2, angle: -5))
        #expect(value.note == nil && value.enabled == nil)
        #expect(try decoder.decode(Board.self, from: node(board)) == value)
    }

    @Test func bools() throws {
        for text in ["true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"] {
            #expect(try decoder.decode(Bool.self, from: text) == true, "\(text)")
        }
        for text in ["false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"] {
            #expect(try decoder.decode(Bool.self, from: text) == false, "\(text)")
        }
        #expect(failure(Bool.self, "tRuE") == "typeMismatch at ")
        #expect(failure(Bool.self, "1") == "typeMismatch at ")
    }

    @Test func integers() throws {
        #expect(try decoder.decode(Int.self, from: "-42") == -42)
        #expect(try decoder.decode(Int.self, from: "+42") == 42)
        #expect(try decoder.decode(Int.self, from: "1_000_000") == 1_000_000)
        #expect(try decoder.decode(UInt8.self, from: "0x50") == 0x50)
        #expect(try decoder.decode(UInt16.self, from: "0xFFFF") == 0xFFFF)
        #expect(try decoder.decode(Int32.self, from: "0o17") == 15)
        #expect(try decoder.decode(Int8.self, from: "-0b1010110") == -86)
        #expect(try decoder.decode(Int16.self, from: "-32768") == Int16.min)
        #expect(try decoder.decode(Int64.self, from: "9223372036854775807") == Int64.max)
        #expect(try decoder.decode(UInt64.self, from: "18446744073709551615") == UInt64.max)
        #expect(try decoder.decode(UInt.self, from: "'7'") == 7)
        #expect(try decoder.decode(UInt32.self, from: "\"7\"") == 7)
        #expect(failure(UInt8.self, "300") == "dataCorrupted at ")
        #expect(failure(UInt8.self, "-1") == "dataCorrupted at ")
        #expect(failure(Int8.self, "0b1010_1010") == "dataCorrupted at ")
        #expect(failure(Int.self, "99999999999999999999999") == "dataCorrupted at ")
        #expect(failure(Int.self, "1e300") == "typeMismatch at ")
        #expect(failure(Int.self, "2.0") == "typeMismatch at ")
        #expect(failure(Int.self, "0x") == "typeMismatch at ")
        #expect(failure(Int.self, "1__") == "typeMismatch at ")
        #expect(failure(Int.self, "_1") == "typeMismatch at ")
        #expect(failure(Int.self, "٣") == "typeMismatch at ")
        #expect(failure(Int.self, "~") == "valueNotFound at ")
        #expect(failure(Int.self, "[1]") == "typeMismatch at ")
    }

    @Test func floats() throws {
        #expect(try decoder.decode(Double.self, from: "10.2") == 10.2)
        #expect(try decoder.decode(Double.self, from: "1e-5") == 1e-5)
        #expect(try decoder.decode(Double.self, from: "-1.5E+3") == -1500)
        #expect(try decoder.decode(Double.self, from: ".5") == 0.5)
        #expect(try decoder.decode(Double.self, from: "5.") == 5)
        #expect(try decoder.decode(Double.self, from: "230") == 230)
        #expect(try decoder.decode(Double.self, from: "0x10") == 16)
        #expect(try decoder.decode(Double.self, from: "1_000.5") == 1000.5)
        #expect(try decoder.decode(Double.self, from: "123456789012345678901234567890") == 1.2345678901234568e29)
        for text in [".inf", ".Inf", ".INF", "+.inf"] {
            #expect(try decoder.decode(Double.self, from: text) == .infinity)
        }
        #expect(try decoder.decode(Double.self, from: "-.inf") == -.infinity)
        for text in [".nan", ".NaN", ".NAN"] { #expect(try decoder.decode(Double.self, from: text).isNaN) }
        #expect(try decoder.decode(Float.self, from: "0.1") == 0.1)
        #expect(failure(Double.self, "1e999") == "dataCorrupted at ")
        #expect(failure(Float.self, "1e39") == "dataCorrupted at ")
        for text in ["abc", "1.2.3", "1e", "e5", ".", "-", "inf", "nan", "1,5", "+.nan", "0x"] {
            #expect(failure(Double.self, text) == "typeMismatch at ", "\(text)")
        }
    }

    @Test func strings() throws {
        #expect(try decoder.decode(String.self, from: "60") == "60")
        #expect(try decoder.decode(String.self, from: "true") == "true")
        #expect(try decoder.decode(String.self, from: "'null'") == "null")
        #expect(try decoder.decode(String.self, from: "\"\"") == "")
        #expect(failure(String.self, "null") == "valueNotFound at ")
        #expect(failure(String.self, "{a: 1}") == "typeMismatch at ")
        #expect(try decoder.decode(String?.self, from: "~") == nil)
        #expect(try decoder.decode([String: Int].self, from: "a: 1\nb: 2") == ["a": 1, "b": 2])
        #expect(try decoder.decode([Int: String].self, from: "1: a\n2: b") == [1: "a", 2: "b"])
        #expect(try decoder.decode([Int?].self, from: "[1, ~, 3]") == [1, nil, 3])
    }

    @Test func errorPaths() {
        #expect(failure(Board.self, board.replacing("mode: 0", with: "mode: 300")) == "dataCorrupted at spi.mode")
        #expect(failure(Board.self, board.replacing("  mode: 0\n", with: "")) == "keyNotFound at spi.mode")
        #expect(
            failure(Board.self, board.replacing("angle: -5", with: "angle: east")) == "typeMismatch at phases.1.angle")
        #expect(failure(Board.self, board.replacing("angle: -5", with: "angle:")) == "valueNotFound at phases.1.angle")
        #expect(failure(Board.self, "name: x\nspi: fast\nphases: []") == "typeMismatch at spi")
        #expect(failure(Board.self, "name: x\nspi:\nphases: []") == "valueNotFound at spi")
        #expect(failure(Board.self, board.replacing("phases:", with: "phases: {}\nx:")) == "typeMismatch at phases")
        #expect(failure(Board.self, "name: [x]") == "typeMismatch at name")
        #expect(failure(Board.self, board + " [1]") == "typeMismatch at note")
        #expect(failure(Board.self, board + "\nenabled: maybe") == "typeMismatch at enabled")
        #expect(failure([Int].self, "[1, x]") == "typeMismatch at 1")
        #expect(failure(Board.self, "- 1") == "typeMismatch at ")
    }

    @Test func unkeyedContainerAtEnd() {
        struct Pair: Decodable {
            init(from decoder: any Decoder) throws {
                var container = try decoder.unkeyedContainer()
                _ = try container.decode(Int.self)
                _ = try container.decode(Int.self)
            }
        }
        #expect(failure(Pair.self, "[1]") == "valueNotFound at 1")
        #expect(failure([Pair].self, "[[1, 2], [3]]") == "valueNotFound at 1.1")
    }

    @Test func customSingleValueTypes() throws {
        struct Duration: Decodable, Equatable {
            var seconds: Int
            init(seconds: Int) { self.seconds = seconds }
            init(from decoder: any Decoder) throws {
                let text = try decoder.singleValueContainer().decode(String.self)
                guard text.hasSuffix("s"), let seconds = Int(text.dropLast()) else {
                    throw DecodingError.dataCorrupted(
                        .init(codingPath: decoder.codingPath, debugDescription: "bad duration"))
                }
                self.seconds = seconds
            }
        }
        struct Config: Decodable { var interval: Duration }
        enum Storage: String, Decodable { case ram, file, eeprom }
        #expect(try decoder.decode(Config.self, from: "interval: 60s").interval == Duration(seconds: 60))
        #expect(failure(Config.self, "interval: 60m") == "dataCorrupted at interval")
        #expect(try decoder.decode([Storage].self, from: "[ram, file]") == [.ram, .file])
        #expect(failure([Storage].self, "[ram, disk]") == "dataCorrupted at 1")
    }

    @Test func keyedContainerDetails() throws {
        struct Probe: Decodable {
            var keys: [String]
            var hasB: Bool
            var nilC: Bool
            var nested: Int
            var superValue: Int
            enum Key: String, CodingKey { case a, b, c, d, e, missing }
            enum Inner: String, CodingKey { case x }
            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: Key.self)
                keys = container.allKeys.map(\.stringValue)
                hasB = container.contains(.b)
                nilC = try container.decodeNil(forKey: .c)
                nested = try container.nestedContainer(keyedBy: Inner.self, forKey: .d).decode(Int.self, forKey: .x)
                superValue = try Int(from: container.superDecoder(forKey: .e))
                #expect(try container.decodeIfPresent(Int.self, forKey: .missing) == nil)
                #expect(try container.decodeIfPresent(Int.self, forKey: .c) == nil)
                #expect(try container.superDecoder(forKey: .missing).singleValueContainer().decodeNil())
                var list = try container.nestedUnkeyedContainer(forKey: .a)
                #expect(list.count == 2)
                #expect(try list.decodeNil() == false)
                #expect(try list.decode(Int.self) == 1)
                #expect(try list.decodeNil() == true)
                #expect(list.isAtEnd)
                #expect(container.codingPath.isEmpty)
            }
        }
        let probe = try decoder.decode(Probe.self, from: "a: [1, ~]\nb: 2\nc:\nd: {x: 4}\ne: 5\nunknown: 6")
        #expect(probe.keys == ["a", "b", "c", "d", "e"])
        #expect(probe.hasB && probe.nilC)
        #expect(probe.nested == 4 && probe.superValue == 5)
    }

    @Test func emptyDocumentIsNull() throws {
        #expect(try decoder.decode(Int?.self, from: "# nothing") == nil)
        #expect(throws: YAMLError.self) { try decoder.decode(Int.self, from: "[") }
    }
}
