import Foundation
import TestSupport
import Testing

@testable import emeter

@Test func everyShippedBoardFileIsValid() throws {
    let boards = repositoryRoot.appendingPathComponent("boards")
    let files = try FileManager.default.contentsOfDirectory(atPath: boards.path).filter { $0.hasSuffix(".yaml") }
    #expect(files.count >= 3)
    for file in files {
        #expect(throws: Never.self, "\(file)") {
            _ = try YAMLFile.load(BoardFile.self, path: boards.appendingPathComponent(file).path)
        }
    }
}

@Test func shippedSimulatorBoardSimulatesBothMeters() throws {
    let board = try YAMLFile.load(
        BoardFile.self, path: repositoryRoot.appendingPathComponent("boards/simulator.yaml").path)
    #expect(board.ade9000?.simulate != nil)
    #expect(board.ade9000?.spi == nil)
    #expect(board.p1?.simulate?.profile == "belgian-3phase")
    #expect(board.ade9000?.pollInterval?.duration == .seconds(1))
}

private let validP1 = """
    name: test
    p1:
      port: /dev/ttyUSB0
      serial: auto
    """

private let validADE = """
    name: test
    ade9000:
      spi:
        device: /dev/spidev0.0
        mode: 0
        max_speed_hz: 5000000
      gpio:
        chip: gpiochip0
        reset: 25
        irq0: 24
      front_end:
        wiring: 3P4W
        line_frequency_hz: 50
        voltage_divider_top_ohms: 800000
        voltage_divider_bottom_ohms: 1000
        ct_turns: 2500
        burden_ohms: 10.2
    """

func problems(_ yaml: String) -> [ConfigError] {
    do {
        _ = try YAMLFile.decode(BoardFile.self, yaml: yaml, file: "bad.yaml")
        return []
    } catch {
        return error.errors
    }
}

@Test func validInlineBoardsDecode() {
    #expect(problems(validP1).isEmpty)
    #expect(problems(validADE).isEmpty)
}

/// Each broken board: what to change, and the exact first error expected (file:line:column: field: message).
struct BrokenBoard: CustomStringConvertible, Sendable {
    var name: String
    var yaml: String
    var expected: String
    var description: String { name }
}

private func replacing(_ text: String, _ old: String, _ new: String) -> String {
    text.replacingOccurrences(of: old, with: new)
}

let brokenBoards: [BrokenBoard] = [
    BrokenBoard(
        name: "YAML syntax", yaml: "name: test\np1:\n  port: [/dev/ttyUSB0\n",
        expected: "bad.yaml:4:1: invalid YAML: did not find expected ',' or ']'"),
    BrokenBoard(
        name: "top level is a list", yaml: "- name: test\n",
        expected: "bad.yaml:1:1: expected a mapping of keys (like `name: …`) at the top level, found a list"),
    BrokenBoard(
        name: "typo in a key", yaml: replacing(validP1, "serial:", "serail:"),
        expected:
            "bad.yaml:4:3: p1.serail: unknown key; did you mean `serial`? (known here: auth_key, data_request, key, port, serial, share, simulate)"
    ),
    BrokenBoard(
        name: "missing required field", yaml: replacing(validADE, "    wiring: 3P4W\n", ""),
        expected: "bad.yaml:12:5: ade9000.front_end.wiring: is missing; it is required here"),
    BrokenBoard(
        name: "wrong type", yaml: replacing(validADE, "max_speed_hz: 5000000", "max_speed_hz: fast"),
        expected: "bad.yaml:6:19: ade9000.spi.max_speed_hz: expected a whole number, found the value `fast`"),
    BrokenBoard(
        name: "SPI mode", yaml: replacing(validADE, "mode: 0", "mode: 4"),
        expected: "bad.yaml:5:11: ade9000.spi.mode: expected SPI mode 0, 1, 2 or 3 (ADE9000: 0 or 3), got 4"),
    BrokenBoard(
        name: "SPI speed", yaml: replacing(validADE, "5000000", "50000000"),
        expected:
            "bad.yaml:6:19: ade9000.spi.max_speed_hz: expected 1 to 20000000 Hz (the ADE9000's SPI clock limit), got 50000000"
    ),
    BrokenBoard(
        name: "spidev path", yaml: replacing(validADE, "/dev/spidev0.0", "spidev0.0"),
        expected: "bad.yaml:4:13: ade9000.spi.device: expected a spidev node like /dev/spidev0.0, got `spidev0.0`"),
    BrokenBoard(
        name: "serial setting", yaml: replacing(validP1, "serial: auto", "serial: 115200-9N1"),
        expected:
            "bad.yaml:4:11: p1.serial: expected `auto` or a setting like 115200-8N1, 9600-7E1 or 115200-7E1, got `115200-9N1`"
    ),
    BrokenBoard(
        name: "GPIO line used twice", yaml: replacing(validADE, "irq0: 24", "irq0: 25"),
        expected: "bad.yaml:10:11: ade9000.gpio.irq0: line 25 is already used by `reset`"),
    BrokenBoard(
        name: "wiring", yaml: replacing(validADE, "3P4W", "3P5W"),
        expected:
            "bad.yaml:12:13: ade9000.front_end.wiring: expected `3P4W` (wye with neutral) or `3P3W` (delta), got `3P5W`"
    ),
    BrokenBoard(
        name: "line frequency", yaml: replacing(validADE, "line_frequency_hz: 50", "line_frequency_hz: 55"),
        expected: "bad.yaml:13:24: ade9000.front_end.line_frequency_hz: expected 50 or 60, got 55"),
    BrokenBoard(
        name: "burden zero", yaml: replacing(validADE, "burden_ohms: 10.2", "burden_ohms: 0"),
        expected: "bad.yaml:17:18: ade9000.front_end.burden_ohms: expected a positive number, got 0.0"),
    BrokenBoard(
        name: "divider overdrives the ADC",
        yaml: replacing(validADE, "voltage_divider_top_ohms: 800000", "voltage_divider_top_ohms: 100000"),
        expected:
            "bad.yaml:15:34: ade9000.front_end.voltage_divider_bottom_ohms: the divider puts 230.0 V at 2.277 V rms on the ADC, above its 0.707 V rms full scale (after the voltage PGA); expected a larger top or smaller bottom resistor, or a smaller `voltage_pga`"
    ),
    BrokenBoard(
        name: "no meter", yaml: "name: empty\n",
        expected: "bad.yaml:1:1: the board has no meter: expected an `ade9000:` or a `p1:` section"),
    BrokenBoard(
        name: "port and simulate", yaml: validP1 + "\n  simulate:\n    profile: dsmr5\n",
        expected: "bad.yaml:6:5: p1.simulate: `port:` and `simulate:` exclude each other; remove one"),
    BrokenBoard(
        name: "P1 port not a device", yaml: replacing(validP1, "/dev/ttyUSB0", "COM3"),
        expected:
            "bad.yaml:3:9: p1.port: expected an absolute tty path like /dev/ttyUSB0 (or a link to one) or tcp://host:port, got `COM3`"
    ),
    BrokenBoard(
        name: "bad decryption key", yaml: validP1 + "\n  key: 00112233",
        expected:
            "bad.yaml:5:8: p1.key: expected 32 hex digits (AES-128), `env:VARIABLE` or `file:PATH`, got 8 characters"),
    BrokenBoard(
        name: "EEPROM address", yaml: validP1 + "\neeprom:\n  bus: /dev/i2c-1\n  address: 0x51\n",
        expected:
            "bad.yaml:7:12: eeprom.address: expected an even 24C04 address from 0x50 to 0x56 (decimal 80–86), got 81"),
    BrokenBoard(
        name: "bad duration", yaml: replacing(validADE, "  gpio:", "  poll_interval: soon\n  gpio:"),
        expected:
            "bad.yaml:7:18: ade9000.poll_interval: expected a duration such as `500ms`, `1s`, `15m` or `2h`, at most one year, found the value `soon`"
    ),
    // Numbers that would trap Int64(Double) further on: refused with the field's name (exit 65), never a crash.
    BrokenBoard(
        name: "huge duration", yaml: replacing(validADE, "  gpio:", "  poll_interval: 1e300s\n  gpio:"),
        expected:
            "bad.yaml:7:18: ade9000.poll_interval: expected a duration such as `500ms`, `1s`, `15m` or `2h`, at most one year, found the value `1e300s`"
    ),
    BrokenBoard(
        name: "infinite seconds", yaml: replacing(validADE, "  gpio:", "  poll_interval: .inf\n  gpio:"),
        expected:
            "bad.yaml:7:18: ade9000.poll_interval: expected a number of seconds from 0 to 31622400 (one year), found the value `.inf`"
    ),
    BrokenBoard(
        name: "NaN seconds", yaml: replacing(validADE, "  gpio:", "  poll_interval: .nan\n  gpio:"),
        expected:
            "bad.yaml:7:18: ade9000.poll_interval: expected a number of seconds from 0 to 31622400 (one year), found the value `.nan`"
    ),
    BrokenBoard(
        name: "unknown top-level section", yaml: validP1 + "\nade900:\n  spi: {}\n",
        expected:
            "bad.yaml:5:1: ade900: unknown key; did you mean `ade9000`? (known here: ade9000, description, eeprom, name, outputs, p1)"
    ),
]

@Test(arguments: brokenBoards)
func brokenBoardFileGivesAPreciseError(board: BrokenBoard) {
    let found = problems(board.yaml)
    #expect(found.first?.description == board.expected, "all: \(found.map(\.description))")
}

@Test func allProblemsOfAFileAreReportedAtOnce() {
    let yaml = replacing(replacing(validADE, "mode: 0", "mode: 7"), "3P4W", "delta")
    #expect(problems(yaml).count == 2)
}

/// Issue "Hostile input" item 9: the service (user `emeter`) could not read a `root:root 0640` configuration and
/// said "cannot be read as UTF-8 text". The tests run as root, who reads anything, so the EACCES wording is checked
/// on the mapping itself; the other unreadable cases are real files.
@Test func unreadableFilesSayWhy() throws {
    #expect(
        YAMLFile.openFailure(errno: EACCES, path: "/etc/emeter/emeter.yaml", user: "emeter")
            == "permission denied: user `emeter` cannot read it (for the service: "
            + "`sudo chgrp emeter /etc/emeter/emeter.yaml && sudo chmod 0640 /etc/emeter/emeter.yaml`)")
    let directory = try temporaryDirectory("unreadable")
    defer { try? FileManager.default.removeItem(at: directory) }
    func message(_ path: String) -> String? {
        do {
            _ = try YAMLFile.load(BoardFile.self, path: path)
            return nil
        } catch {
            return error.description
        }
    }
    #expect(message(directory.path) == "\(directory.path): is a directory; expected a YAML file")
    let latin1 = directory.appendingPathComponent("latin1.yaml")
    try Data([0x6E, 0x61, 0x6D, 0x65, 0x3A, 0x20, 0xE9, 0x0A]).write(to: latin1)  // "name: é" in ISO 8859-1
    #expect(message(latin1.path) == "\(latin1.path): cannot be read as UTF-8 text")
    let huge = directory.appendingPathComponent("huge.yaml")
    try Data(repeating: 0x20, count: (1 << 20) + 1).write(to: huge)
    #expect(message(huge.path) == "\(huge.path): larger than 1024 KiB; expected a YAML text file")
}

@Test func missingFileIsReportedByName() {
    #expect {
        _ = try YAMLFile.load(BoardFile.self, path: "/nonexistent/board.yaml")
    } throws: { error in
        (error as? ConfigErrors)?.description == "/nonexistent/board.yaml: no such file"
    }
}

@Test(arguments: [
    ("250ms", Duration.milliseconds(250)), ("1s", .seconds(1)), ("15m", .seconds(900)),
    ("2h", .seconds(7200)), ("1.5", .milliseconds(1500)),
])
func durationsParse(text: String, expected: Duration) {
    #expect(ConfigDuration.parse(text) == expected)
}

@Test func boardCheckCommandExitsWithDataErrorForABrokenFile() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("emeter-board-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let broken = directory.appendingPathComponent("broken.yaml")
    try "name: x\np1:\n  port: /dev/ttyUSB0\n  serial: 115200-9N1\n".write(
        to: broken, atomically: true, encoding: .utf8)
    let good = repositoryRoot.appendingPathComponent("boards/raspberrypi-p1.yaml").path

    let ok = try BoardCommand.Check.parse([good, "--quiet"])
    try ok.run()
    var check = try BoardCommand.Check.parse([good, broken.path])
    #expect(throws: ExitStatus.dataError) { try check.run() }
    check = try BoardCommand.Check.parse([directory.appendingPathComponent("missing.yaml").path])
    #expect(throws: ExitStatus.noInput) { try check.run() }
}

@Test func exampleConfigurationIsValid() throws {
    let config = try YAMLFile.load(
        RunConfig.self, path: repositoryRoot.appendingPathComponent("config/emeter.example.yaml").path)
    #expect(config.interval?.duration == .seconds(60))
    #expect(config.ring?.storage == "file")
}

@Test(arguments: [
    (
        "interval: 7s\n",
        "bad.yaml:1:11: interval: expected whole seconds that divide one hour (e.g. 10s, 60s, 5m, 15m), got 7s"
    ),
    ("ring:\n  storage: flash\n", "bad.yaml:2:12: ring.storage: expected `ram`, `file` or `eeprom`, got `flash`"),
    ("ring:\n  storage: file\n", "bad.yaml:2:3: ring.path: `storage: file` needs `path:`"),
    ("local_time: mars\n", "bad.yaml:1:13: local_time: expected `europe-central` or `utc`, got `mars`"),
    (
        "device: a/b\n",
        "bad.yaml:1:9: device: expected a non-empty id of at most 64 characters without `/`, `#`, `+` or spaces, got `a/b`"
    ),
])
func brokenConfigurationGivesAPreciseError(yaml: String, expected: String) {
    do {
        _ = try YAMLFile.decode(RunConfig.self, yaml: yaml, file: "bad.yaml")
        Issue.record("accepted: \(yaml)")
    } catch {
        #expect(error.errors.first?.description == expected)
    }
}

@Test func forwardersOfEveryKindDecodeWithoutUnknownKeyFalseAlarms() throws {
    let yaml = """
        forward:
          - url: mqtt://meter:pw@127.0.0.1:1883/emeter
            discovery: true
            keep_alive: 20
          - http:
              url: https://example.org/api/readings/
              auth: {token_url: https://example.org/api/token/, username: meter, password: env:EMETER_PASSWORD}
              live_url: https://example.org/api/live/
              timeout: {connect: 5, total: 20}
          - orion:
              url: http://orion.local:1026
              service: energy
              service_path: /house
        """
    let config = try YAMLFile.decode(RunConfig.self, yaml: yaml, file: "c.yaml")
    #expect(config.forward?.count == 3)
    let thingspeak = try YAMLFile.decode(
        RunConfig.self,
        yaml: "forward:\n  - thingspeak:\n      api_key: env:TS_KEY\n      fields: {field1: p1.import_t1_wh}\n",
        file: "t.yaml")
    #expect(thingspeak.forward?.first?.thingspeak?.fields?["field1"] == "p1.import_t1_wh")
    let influxdb = try YAMLFile.decode(
        RunConfig.self,
        yaml: "forward:\n  - influxdb:\n      url: http://influx.local:8086\n      version: 1\n      database: emeter\n"
            + "      retention_policy: one_year\n      username: meter\n      password: file:/etc/emeter/pw\n"
            + "      measurement: energy\n      timeout: 10\n      pause: 60\n"
            + "  - influxdb: {url: http://h:8086, version: 2, org: home, bucket: b, token: env:T}\n",
        file: "i.yaml")
    #expect(influxdb.forward?.first?.influxdb?.retentionPolicy == "one_year")
    #expect(influxdb.forward?.last?.influxdb?.org == "home")
    #expect(config.forward?[1].http?.url == "https://example.org/api/readings/")
    #expect(config.forward?[2].orion?.service == "energy")
}

@Test func aForwarderWithTwoKindsIsRefused() {
    let yaml = "forward:\n  - url: mqtt://h\n    orion: {url: http://o:1026}\n"
    #expect {
        _ = try YAMLFile.decode(RunConfig.self, yaml: yaml, file: "c.yaml")
    } throws: { error in
        (error as? ConfigErrors)?.errors.first?.message
            == "expected exactly one of `url:`, `http:`, `orion:`, `thingspeak:` or `influxdb:`"
    }
}
