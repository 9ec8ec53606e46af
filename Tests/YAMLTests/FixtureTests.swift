import Testing

@testable import YAML

@Test(arguments: repositoryYAMLFiles) func repositoryFileComposes(path: String) throws {
    let root = try node(try repositoryFile(path))
    #expect(root.mapping != nil)
    #expect(at(root) != "no mark")
}

@Test func boardValuesAndMarks() throws {
    let root = try node(try repositoryFile("boards/raspberrypi4-ade9000.yaml"))
    #expect(value("name", in: root)?.string == "Raspberry Pi 4 + ADE9000")
    #expect(value("ade9000.spi.device", in: root)?.string == "/dev/spidev0.0")
    #expect(value("ade9000.spi.max_speed_hz", in: root)?.string == "5000000")
    #expect(at(value("ade9000.spi.max_speed_hz", in: root)) == "9:19")
    #expect(at(key("ade9000.spi.max_speed_hz", in: root)) == "9:5")
    #expect(at(value("ade9000", in: root)) == "6:3")
    #expect(value("ade9000.front_end.wiring", in: root)?.string == "3P4W")
    #expect(value("eeprom.address", in: root)?.string == "0x50")
    #expect(try YAMLDecoder().decode(UInt8.self, from: try #require(value("eeprom.address", in: root))) == 0x50)
    #expect(value("ade9000.front_end.burden_ohms", in: root)?.string == "10.2")

    let p1 = try node(try repositoryFile("boards/raspberrypi-p1.yaml"))
    #expect(value("p1.port", in: p1)?.string == "/dev/ttyUSB0")
    #expect(value("p1.serial", in: p1)?.string == "auto")
    #expect(value("p1.data_request.line", in: p1)?.string == "none")
    #expect(at(key("p1.serial", in: p1)) == "6:3")
}

@Test func configAndScenarioValues() throws {
    let config = try node(try repositoryFile("config/emeter.example.yaml"))
    #expect(value("interval", in: config)?.string == "60s")
    #expect(value("ring.path", in: config)?.string == "/var/lib/emeter/ring.bin")
    #expect(value("stdout.health", in: config)?.string == "false")
    #expect(at(key("stdout.records", in: config)) == "31:3")

    let house = try node(try repositoryFile("fixtures/ade9000/house-3p.yaml"))
    let frontEnd = try #require(value("frontEnd", in: house))
    #expect(at(frontEnd) == "6:11")
    #expect(frontEnd.mapping?.count == 5)
    #expect(value("frontEnd.burdenOhms", in: house)?.string == "10.2")
    #expect(at(value("phases", in: house)) == "8:3")
    #expect(at(value("phases.1", in: house)) == "9:5")
    #expect(value("phases.2.angle", in: house)?.string == "-5")
    #expect(value("segments.2.frequency", in: house)?.string == "50.02")
    #expect(at(value("segments.3", in: house)) == "29:5")
    #expect(value("segments", in: house)?.sequence?.count == 4)

    let solar = try node(try repositoryFile("fixtures/ade9000/solar-export.yaml"))
    #expect(value("voltageAngles", in: solar)?.sequence?.compactMap(\.string) == ["0", "-120", "120"])
    #expect(at(value("voltageAngles", in: solar)) == "6:16")
}
