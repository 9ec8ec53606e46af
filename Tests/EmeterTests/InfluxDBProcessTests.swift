import Foundation
import TestSupport
import Testing

/// `emeter run` on the simulator board forwarding to a real `influxd` 1.x: every point read back is a record emeter
/// printed on stdout (same `id`), stamped with that record's `end`, tagged with the device.
@Test(.enabled(if: InfluxDBServer.isAvailable, "\(InfluxDBServer.missingMessage)"), .timeLimit(.minutes(2)))
func emeterRunWritesRecordsToInfluxDB() async throws {
    try await InfluxDBServer.with { influx in
        _ = try await influx.query(#"CREATE DATABASE "emeter""#)
        let directory = try temporaryDirectory("influx")
        defer { try? FileManager.default.removeItem(at: directory) }
        let board = directory.appendingPathComponent("board.yaml")
        try "name: influx\np1:\n  simulate:\n    profile: belgian-3phase\n    start: 2025-01-06T19:00:00Z\n".write(
            to: board, atomically: true, encoding: .utf8)
        let config = directory.appendingPathComponent("config.yaml")
        try """
        device: e2e-influx
        ring:
          storage: ram
        stdout:
          live: false
          records: true
        forward:
          - influxdb:
              url: \(influx.baseURL)
              version: 1
              database: emeter
        """.write(to: config, atomically: true, encoding: .utf8)
        let emeter = try EmeterProcess(["run", "--board", board.path, "--config", config.path, "--interval", "1s"])
        var points: [(time: Int64, id: String)] = []
        let deadline = ContinuousClock.now + .seconds(40)
        while points.count < 3, ContinuousClock.now < deadline, emeter.process.isRunning {
            try await Task.sleep(for: .milliseconds(250))
            let body = try await influx.query(
                #"SELECT "id" FROM "emeter_interval" WHERE "device" = 'e2e-influx' AND "source" = 'p1'"#,
                database: "emeter")
            points = timesAndIDs(body)
        }
        emeter.signal(SIGTERM)
        let status = await emeter.wait(timeout: .seconds(60))
        #expect(points.count >= 3, "emeter log: \(emeter.standardError.suffix(3000))")
        // Every point is a record stdout printed, at that record's end.
        var ends: [String: Int64] = [:]
        for line in emeter.outputLines {
            guard let object = jsonObject(line), object["type"] as? String == "interval",
                let id = object["id"] as? String,
                let end = (object["end"] as? NSNumber)?.int64Value
            else { continue }
            ends[id] = end
        }
        for point in points {
            #expect(ends[point.id] == point.time, "point \(point) has no record with that id and end on stdout")
        }
        #expect(status == 0)
    }
}

/// A bad `influxdb:` entry stops `emeter run` at start with the field named.
@Test func emeterRunNamesAMissingInfluxDBToken() async throws {
    let directory = try temporaryDirectory("influx-config")
    defer { try? FileManager.default.removeItem(at: directory) }
    let config = directory.appendingPathComponent("config.yaml")
    try "forward:\n  - influxdb: {url: http://127.0.0.1:8086, version: 2, org: home, bucket: emeter}\n".write(
        to: config, atomically: true, encoding: .utf8)
    let result = try await runEmeter(
        ["run", "--board", "boards/simulator.yaml", "--config", config.path], timeout: .seconds(30))
    #expect(result.status != 0)
    #expect(result.err.contains("forward[0].token: version 2 needs `token:`"), "\(result.err.suffix(2000))")
}

/// The `time` and `id` columns of an InfluxQL JSON answer to `SELECT "id" …` (`epoch=s`).
private func timesAndIDs(_ body: [UInt8]) -> [(time: Int64, id: String)] {
    guard let json = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
        let results = json["results"] as? [[String: Any]], let series = results.first?["series"] as? [[String: Any]],
        let values = series.first?["values"] as? [[Any]]
    else { return [] }
    return values.compactMap { row in
        guard row.count == 2, let time = (row[0] as? NSNumber)?.int64Value, let id = row[1] as? String else {
            return nil
        }
        return (time, id)
    }
}
