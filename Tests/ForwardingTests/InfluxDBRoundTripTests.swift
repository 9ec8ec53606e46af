import CivilTime
import Foundation
import Logging
import NIOHTTP1
import TestSupport
import Testing

@testable import Firmware
@testable import Forwarding

/// The InfluxDB forwarder against a real `influxd` 1.x (Debian package `influxdb`, v1 API) started on a random
/// loopback port: a backlog drained from the ring lands at the records' own (past) timestamps and reads back with
/// InfluxQL; InfluxDB's own refusals map to the retry table.
@Suite(.enabled(if: InfluxDBServer.isAvailable, "\(InfluxDBServer.missingMessage)"))
struct InfluxDBRoundTripTests {
    /// Minute `minute` of 2026-11-21 from 17:00 UTC: P1 and ADE9000 parts with values derived from `minute`.
    static func backlogRecord(_ minute: Int64) -> IntervalRecord {
        let end = HTTPTestData.end - 3600 + (minute + 1) * 60
        return IntervalRecord(
            start: UnixTime(seconds: end - 60), end: UnixTime(seconds: end),
            flags: minute == 2 ? [.gap, .sourceError] : [],
            p1: P1Interval(
                importTariff1Wh: 10 + minute, importTariff2Wh: 0, exportTariff1Wh: minute, averagePowerW: 600 + minute,
                maxImportPowerW: 900, voltageMinDecivolts: 2291 + minute, voltageMaxDecivolts: 2334, gasLitres: minute),
            ade9000: ADE9000Interval(
                phaseA: PhaseEnergy(importWh: 3 + minute), phaseB: PhaseEnergy(importWh: 4),
                phaseC: PhaseEnergy(importWh: 5, exportWh: 1), averagePowerW: -20 - minute, maxPowerW: 700))
    }

    /// `SELECT … ` result rows as column → value, ordered by time.
    static func rows(_ body: [UInt8]) throws -> [[String: HTTPJSON]] {
        let json = try #require(HTTPJSON.parse(body))
        let result = try #require(json["results"]?.arrayValue?.first)
        #expect(result["error"] == nil, "query error: \(String(decoding: body, as: UTF8.self))")
        guard let series = result["series"]?.arrayValue?.first else { return [] }
        let columnValues = try #require(series["columns"]?.arrayValue)
        let columns = columnValues.compactMap(\.stringValue)
        let values = try #require(series["values"]?.arrayValue)
        return values.compactMap { row in
            guard let cells = row.arrayValue, cells.count == columns.count else { return nil }
            return Dictionary(uniqueKeysWithValues: zip(columns, cells))
        }
    }

    @Test func drainedBacklogReadsBackAtItsOwnTimestamps() async throws {
        try await InfluxDBServer.with { influx in
            _ = try await influx.query(#"CREATE DATABASE "emeter""#)
            let store = try RecordStore(storage: RAMRingStorage(), nominalInterval: 60, logger: Logger(label: "test"))
            let consumer = ConsumerID("influxdb")
            try await store.register(consumer)
            for minute in 0..<5 { _ = try await store.append(Self.backlogRecord(Int64(minute))) }
            let device = "meter 1,a=b"  // needs escaping as a tag value
            let forwarder = try InfluxDBForwarder(
                configuration: InfluxDBConfiguration(
                    url: influx.baseURL, version: 1, database: "emeter", batchSize: 2),
                device: device, logger: HTTPLogCapture().logger())
            let drain = ForwardingDrain(
                store: store, consumer: consumer, forwarder: forwarder, clock: ManualClock(),
                logger: Logger(label: "test"))
            let task = Task { await drain.run() }
            // Bounded: real HTTP round trips, at most 30 s.
            for _ in 0..<3000 where await store.statistics.backlog["influxdb"] != 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            task.cancel()
            let statistics = await task.value
            await forwarder.shutdown()
            #expect(statistics.delivered == 5)
            #expect(statistics.failedAttempts == 0)

            let p1 = try Self.rows(
                await influx.query(#"SELECT * FROM "emeter_interval" WHERE "source" = 'p1'"#, database: "emeter"))
            try #require(p1.count == 5)
            for (index, row) in p1.enumerated() {
                let record = Self.backlogRecord(Int64(index))
                #expect(row["time"]?.numberValue == Double(record.end.seconds))
                #expect(row["device"]?.stringValue == device)
                // The ring's id: its epoch (one per ring) and the sequence it assigned.
                #expect(row["id"]?.stringValue?.hasSuffix("-\(index + 1)-\(index + 1)") == true)
                #expect(row["id"]?.stringValue?.prefix(8) == p1[0]["id"]?.stringValue?.prefix(8))
                #expect(row["import_t1_wh"]?.numberValue == Double(10 + index))
                #expect(row["export_t1_wh"]?.numberValue == Double(index))
                #expect(row["average_power_w"]?.numberValue == Double(600 + index))
                #expect(row["voltage_min_v"]?.numberValue == Double(2291 + index) / 10)
                #expect(row["gas_l"]?.numberValue == Double(index))
                #expect(row["start"]?.numberValue == Double(record.start.seconds))
                #expect(row["flags"]?.stringValue == (index == 2 ? "gap,source_error" : ""))
            }
            let ade = try Self.rows(
                await influx.query(
                    #"SELECT "import_wh", "import_wh_a", "export_wh_c", "average_power_w" FROM "emeter_interval" "#
                        + #"WHERE "source" = 'ade9000' AND time >= 1795280400s"#,
                    database: "emeter"))
            try #require(ade.count == 5)
            for (index, row) in ade.enumerated() {
                #expect(row["time"]?.numberValue == Double(Self.backlogRecord(Int64(index)).end.seconds))
                #expect(row["import_wh"]?.numberValue == Double(12 + index))
                #expect(row["import_wh_a"]?.numberValue == Double(3 + index))
                #expect(row["export_wh_c"]?.numberValue == 1)
                #expect(row["average_power_w"]?.numberValue == Double(-20 - index))
            }
            // The fields are integers (written with `i`), not floats.
            let types = String(
                decoding: try await influx.query(#"SHOW FIELD KEYS FROM "emeter_interval""#, database: "emeter"),
                as: UTF8.self)
            #expect(types.contains(#"["import_wh","integer"]"#))
            #expect(types.contains(#"["voltage_min_v","float"]"#))
            #expect(types.contains(#"["id","string"]"#))
        }
    }

    @Test func resentRecordOverwritesAndRefusalsMapToTheRetryTable() async throws {
        try await InfluxDBServer.with { influx in
            _ = try await influx.query(#"CREATE DATABASE "emeter""#)
            let record = Self.backlogRecord(0)
            // A database that does not exist: 404, a configuration error (pause, record kept).
            let missing = try InfluxDBForwarder(
                configuration: InfluxDBConfiguration(url: influx.baseURL, database: "nope"),
                device: "d", logger: HTTPLogCapture().logger())
            let missingError = await httpSendResult(missing, record)
            await missing.shutdown()
            #expect(missingError?.action == .pause(for: .seconds(600)))
            #expect(missingError?.message.contains("database not found") == true)

            let forwarder = try InfluxDBForwarder(
                configuration: InfluxDBConfiguration(url: influx.baseURL, database: "emeter"),
                device: "d", logger: HTTPLogCapture().logger())
            // At least once: the same record twice is one point per source.
            #expect(await httpSendResult(forwarder, record) == nil)
            #expect(await httpSendResult(forwarder, record) == nil)
            let count = try Self.rows(
                await influx.query(#"SELECT COUNT("id") FROM "emeter_interval" GROUP BY "source""#, database: "emeter"))
            #expect(count.first?["count"]?.numberValue == 1)

            // A field type conflict (another writer made `import_wh` a string in this shard): 400 partial write →
            // drop.
            let transport = HTTPTransport(timeouts: HTTPTimeouts())
            let raw = try await transport.send(
                url: influx.baseURL + "/write?db=emeter&precision=s", headers: [:],
                body: Array("conflict,device=d,source=p1 import_wh=\"text\" 1795280000\n".utf8), backend: "raw")
            await transport.shutdown()
            #expect(raw.status == 204)
            let typed = try InfluxDBForwarder(
                configuration: InfluxDBConfiguration(url: influx.baseURL, database: "emeter", measurement: "conflict"),
                device: "d", logger: HTTPLogCapture().logger())
            let conflict = await httpSendResult(typed, record)
            await typed.shutdown()
            await forwarder.shutdown()
            #expect(conflict?.action == .drop)
            #expect(conflict?.message.contains("HTTP 400") == true)
        }
    }
}

extension HTTPJSON {
    /// The elements, if this is an array.
    fileprivate var arrayValue: [HTTPJSON]? {
        if case .array(let elements) = self { return elements }
        return nil
    }
}
