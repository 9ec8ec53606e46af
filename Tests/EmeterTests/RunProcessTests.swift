import Foundation
import Testing

@Suite(.serialized) struct RunProcessTests {
    @Test func simulatorBoardRunsBothMetersThroughTheRealTTYAndSPICode() async throws {
        let result = try await runEmeter(
            ["run", "--board", "boards/simulator.yaml", "--duration", "4s"], timeout: .seconds(30))
        #expect(result.status == 0, "stderr: \(result.err)")
        let lines = result.out.split(separator: "\n").compactMap { jsonObject(String($0)) }
        let p1 = lines.filter { $0["type"] as? String == "p1" }
        let ade = lines.filter { $0["type"] as? String == "ade9000" }
        #expect(p1.count >= 2, "P1 telegrams read through the pty: \(result.err)")
        #expect(ade.count >= 3)
        // The Belgian simulated meter: both tariffs present, three phase voltages near 230 V.
        let voltages = (p1.first?["voltage_v"] as? [Double]) ?? []
        #expect(voltages.count == 3 && voltages.allSatisfy { (215...245).contains($0) })
        #expect((p1.first?["import_t1_wh"] as? Int ?? 0) > 1_000_000)
        let adeVoltages = (ade.last?["voltage_v"] as? [Double]) ?? []
        #expect(adeVoltages.count == 3 && adeVoltages.allSatisfy { (220...240).contains($0) })
        #expect(result.err.contains("P1 line setting detected"))
    }

    @Test func sigtermStopsCleanlyAndClosedRecordsArePrinted() async throws {
        let process = try EmeterProcess(["run", "--board", "boards/simulator.yaml", "--interval", "1s", "--no-live"])
        let gotRecord = await process.waitFor(timeout: .seconds(20)) {
            $0.standardOutput.contains("\"type\":\"interval\"")
        }
        #expect(gotRecord, "stderr: \(process.standardError)")
        process.signal(SIGTERM)
        let status = await process.wait(timeout: .seconds(30))
        #expect(status == 0)
        #expect(process.standardError.contains("stopped"))
        let records = process.outputLines.compactMap(jsonObject).filter { $0["type"] as? String == "interval" }
        #expect(!records.isEmpty)
        for record in records {
            let start = record["start"] as? Int ?? -1, end = record["end"] as? Int ?? -1
            #expect(end - start == 1)
        }
    }

    @Test func crashedRunsKeepEveryRecordStoredBeforeTheKill() async throws {
        let directory = try temporaryDirectory("crash")
        defer { try? FileManager.default.removeItem(at: directory) }
        let ring = directory.appendingPathComponent("ring.bin").path
        let config = directory.appendingPathComponent("config.yaml")
        // No consumer takes records off the ring (stdout prints none), so everything appended stays stored.
        try """
        ring:
          storage: file
          path: \(ring)
        stdout:
          live: false
          records: false
        """.write(to: config, atomically: true, encoding: .utf8)
        let board = directory.appendingPathComponent("p1-sim.yaml")
        try "name: crash test\np1:\n  simulate:\n    profile: belgian-1phase\n".write(
            to: board, atomically: true, encoding: .utf8)

        var stored: Set<Int> = []
        for round in 0..<4 {
            let process = try EmeterProcess([
                "run", "--board", board.path, "--config", config.path, "--interval", "1s",
                "--log-level", "debug",
            ])
            // Let it store a few records, then kill it without warning.
            let target = stored.count + 2
            _ = await process.waitFor(timeout: .seconds(20)) {
                Self.storedSequences($0.standardError).count + stored.count >= target
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...400)))
            process.signal(SIGKILL)
            _ = await process.wait(timeout: .seconds(30))
            let confirmed = Self.storedSequences(process.standardError)
            #expect(!confirmed.isEmpty, "round \(round) stored nothing: \(process.standardError.suffix(2000))")
            if round > 0 {
                #expect(process.standardError.contains("offline ring loaded"), "round \(round)")
            }
            stored.formUnion(confirmed)
            // What a restart finds in the file: every record confirmed before any kill, in order.
            let show = try await runEmeter(["ring", "show", "--file", ring])
            #expect(show.status == 0, "\(show.err)")
            let sequences = show.out.split(separator: "\n").compactMap { jsonObject(String($0))?["sequence"] as? [Int] }
            let inFile = Set(sequences.flatMap { $0[0]...$0[1] })
            #expect(stored.isSubset(of: inFile), "round \(round): missing \(stored.subtracting(inFile).sorted())")
            let starts = show.out.split(separator: "\n").compactMap { jsonObject(String($0))?["start"] as? Int }
            #expect(starts == starts.sorted())
        }
        #expect(stored.count >= 8)
    }

    /// Sequences the process logged as stored (logged only after the ring committed them).
    static func storedSequences(_ log: String) -> Set<Int> {
        var result: Set<Int> = []
        for line in log.split(separator: "\n") where line.contains("record stored") {
            if let range = line.range(of: "sequence=") {
                let digits = line[range.upperBound...].prefix { $0.isNumber }
                if let value = Int(digits) { result.insert(value) }
            }
        }
        return result
    }

    @Test func calibrationAgainstTheSimulatorMeetsTheAccuracyTargets() async throws {
        let result = try await runEmeter([
            "calibrate", "--board", "boards/simulator.yaml", "--voltage", "230",
            "--current", "5", "--scenario", "fixtures/ade9000/calibration-errors.yaml", "--json",
        ])
        #expect(result.status == 0, "\(result.err)")
        let object = try #require(jsonObject(result.out.trimmingCharacters(in: .whitespacesAndNewlines)))
        let before = try #require(object["before"] as? [String: [String: Double]])
        let after = try #require(object["after"] as? [String: [String: Double]])
        for phase in ["a", "b", "c"] {
            let errorsBefore = try #require(before[phase])
            let errorsAfter = try #require(after[phase])
            #expect(errorsBefore.values.contains { abs($0) > 1 }, "the scenario has front-end errors on \(phase)")
            for key in ["voltage_percent", "current_percent", "active_power_percent"] {
                #expect(abs(errorsAfter[key] ?? 99) <= 0.1, "\(phase) \(key)")
            }
        }
        let registers = try #require(object["registers"] as? [String: [String: String]])
        #expect(registers["a"]?["xVGAIN"]?.hasPrefix("0x") == true)
    }
}

@Suite struct ADE9000CommandTests {
    @Test func readPrintsASnapshotOfTheSimulatedChip() async throws {
        let result = try await runEmeter(["ade9000", "read", "--board", "boards/simulator.yaml", "--json"])
        #expect(result.status == 0, "\(result.err)")
        let object = try #require(jsonObject(result.out.trimmingCharacters(in: .whitespacesAndNewlines)))
        let phases = try #require(object["phases"] as? [[String: Any]])
        #expect(phases.count == 3)
        for phase in phases {
            #expect((220...240).contains(phase["voltage_v"] as? Double ?? 0))
            #expect((49.9...50.1).contains(phase["frequency_hz"] as? Double ?? 0))
        }
    }

    @Test func regsDumpsRegistersByDatasheetName() async throws {
        let result = try await runEmeter(["ade9000", "regs", "--board", "boards/simulator.yaml", "--filter", "PART_ID"])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.contains("PART_ID"))
        #expect(result.out.contains("0x472"))  // PART_ID's address
    }

    @Test func aBoardWithoutTheChipIsAClearError() async throws {
        let result = try await runEmeter(["ade9000", "read", "--board", "boards/raspberrypi-p1.yaml"])
        #expect(result.status == 65)
        #expect(result.err.contains("has no `ade9000:` section"))
    }

    @Test func hardwareBoardWithoutSpidevNamesTheDevice() async throws {
        let result = try await runEmeter(["ade9000", "read", "--board", "boards/raspberrypi4-ade9000.yaml"])
        #expect(result.status == 69)
        #expect(result.err.contains("/dev/spidev0.0"))
    }
}

@Test func missingDataRequestGPIOChipStopsRunWithTheDeviceNamed() async throws {
    let directory = try temporaryDirectory("gpio")
    defer { try? FileManager.default.removeItem(at: directory) }
    let board = directory.appendingPathComponent("board.yaml")
    try "name: diy cable\np1:\n  port: /dev/ttyUSB0\n  data_request: {line: gpio, chip: gpiochip97, gpio: 17}\n"
        .write(to: board, atomically: true, encoding: .utf8)
    let result = try await runEmeter(["run", "--board", board.path, "--duration", "2s"])
    #expect(result.status == 69)
    #expect(result.err.contains("P1 data request: gpiod gpiochip97: gpiod_chip_open_lookup failed"))
}
