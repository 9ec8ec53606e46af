import CivilTime
import Firmware
import Foundation
import P1
import TestSupport
import Testing

@testable import emeter

/// The HomeWizard P1 API v1 rendered from fixture telegrams: HomeWizard's names, types and units, and only the
/// fields the telegram had data for.
@Suite struct HomeWizardDataTests {
    /// `GET /api/v1/data` for a fixture telegram, as a JSON object.
    func data(_ fixture: String, localTime: LocalTime = .centralEurope) throws -> [String: Any] {
        let telegram = try P1Telegram.parse(try Fixtures.bytes(fixture))
        let sample = try P1Sample(reading: telegram.reading, receivedAt: UnixTime(milliseconds: 1_700_000_000_000))
        let bytes = HomeWizardAPI.data(sample, facts: HomeWizardTelegramFacts(telegram), localTime: localTime)
        let object = try JSONSerialization.jsonObject(with: Data(bytes))
        return try #require(object as? [String: Any], "not a JSON object: \(String(decoding: bytes, as: UTF8.self))")
    }

    @Test func dutchDSMR5TelegramHasHomeWizardsFields() throws {
        let json = try data("nl_dsmr50_iskra_am550_two_mbus.txt")
        #expect(json["smr_version"] as? Int == 50)
        #expect(json["meter_model"] as? String == "ISK5\\2M550T-1012")
        #expect(json["unique_id"] as? String == "4530303434303037333832323436303139")
        #expect(json["active_tariff"] as? Int == 1)
        #expect(json["total_power_import_kwh"] as? Double == 2375.582)
        #expect(json["total_power_import_t1_kwh"] as? Double == 2130.115)
        #expect(json["total_power_import_t2_kwh"] as? Double == 245.467)
        #expect(json["total_power_export_kwh"] as? Double == 0)
        #expect(json["total_power_export_t1_kwh"] as? Double == 0)
        #expect(json["active_power_w"] as? Int == 111)
        #expect(json["active_power_l1_w"] as? Int == 56)
        #expect(json["active_power_l2_w"] as? Int == 0)
        #expect(json["active_power_l3_w"] as? Int == 55)
        #expect(json["active_voltage_l1_v"] as? Double == 229.9)
        #expect(json["active_voltage_l3_v"] as? Double == 222.9)
        #expect(json["active_current_l3_a"] as? Double == 1)
        #expect(json["voltage_sag_l3_count"] as? Int == 192)
        #expect(json["voltage_swell_l1_count"] as? Int == 1)
        #expect(json["any_power_fail_count"] as? Int == 5)
        #expect(json["long_power_fail_count"] as? Int == 3)
        // Channel 1 is a gas meter without a reading (placeholder time, `00000000`): the sample takes the first gas
        // meter, so total_gas_m3 is its 0 with no time or id; `external` lists the one that has an id and a reading.
        #expect(json["total_gas_m3"] as? Double == 0)
        #expect(json["gas_timestamp"] == nil)
        #expect(json["gas_unique_id"] == nil)
        let external = try #require(json["external"] as? [[String: Any]])
        #expect(external.count == 1)
        #expect(external.first?["type"] as? String == "gas_meter")
        #expect(external.first?["unit"] as? String == "m3")
        #expect(external.first?["value"] as? Double == 246.138)
        #expect(external.first?["timestamp"] as? Int == 200_426_223_001)
        #expect(external.first?["unique_id"] as? String == "4730303339303031393336393930363139")
        // Not in this telegram: no tariffs 3/4, no demand (Belgium only), no peak.
        for key in ["total_power_import_t3_kwh", "active_power_average_w", "montly_power_peak_w"] {
            #expect(json[key] == nil, "\(key) should be absent")
        }
        // Present as null: clients tell a v1 answer by these keys.
        #expect(json.keys.contains("wifi_ssid") && json["wifi_ssid"] is NSNull)
    }

    @Test func belgianTelegramHasDemandPeakAndBothMBusMeters() throws {
        let json = try data("be_fluvius_emucs171_gas_water.txt")
        #expect(json["smr_version"] as? Int == 50)
        #expect(json["unique_id"] as? String == "3153414733313031303231363035")
        #expect(json["active_power_average_w"] as? Int == 2351)
        #expect(json["montly_power_peak_w"] as? Int == 2589)
        // 2020-05-09 13:45:58 summer time, as the meter wrote it.
        #expect(json["montly_power_peak_timestamp"] as? Int == 200_509_134_558)
        #expect(json["total_gas_m3"] as? Double == 112.384)
        #expect(json["gas_timestamp"] as? Int == 200_512_134_558)
        let external = try #require(json["external"] as? [[String: Any]])
        #expect(external.map { $0["type"] as? String } == ["gas_meter", "water_meter"])
        #expect(external.last?["unique_id"] as? String == "3853414731323334353637383930")
        #expect(external.last?["value"] as? Double == 872.234)
        // The meter sends no sag/swell counters and no failure counts.
        for key in ["voltage_sag_l1_count", "voltage_swell_l1_count", "any_power_fail_count"] {
            #expect(json[key] == nil, "\(key) should be absent")
        }
    }

    @Test func aMeterWithOnlyTotalsHasNoTariffFields() throws {
        let json = try data("lu_smarty_lux5_plain.txt")
        #expect(json["total_power_import_kwh"] as? Double != nil)
        #expect(json["total_power_export_kwh"] as? Double != nil)
        for key in ["total_power_import_t1_kwh", "total_power_import_t2_kwh", "total_power_export_t1_kwh"] {
            #expect(json[key] == nil, "\(key) should be absent")
        }
    }

    @Test func deviceAnswerIsAHomeWizardP1Meter() throws {
        let object = try JSONSerialization.jsonObject(with: Data(HomeWizardAPI.device(serial: "p1-E0012")))
        let json = try #require(object as? [String: String])
        #expect(json["product_type"] == "HWE-P1")
        #expect(json["product_name"] == "P1 meter")
        #expect(json["api_version"] == "v1")
        #expect(json["serial"] == "p1-E0012")
        #expect(json["firmware_version"]?.isEmpty == false)
    }

    @Test func timestampsAreLocalYYMMDDhhmmss() {
        // 2025-01-06 19:00:00 UTC is 20:00 in Brussels (winter), 2025-07-01 12:00 UTC is 14:00 (summer).
        #expect(HomeWizardAPI.timestamp(UnixTime(seconds: 1_736_190_000), localTime: .centralEurope) == 250_106_200_000)
        #expect(HomeWizardAPI.timestamp(UnixTime(seconds: 1_751_371_200), localTime: .centralEurope) == 250_701_140_000)
        #expect(HomeWizardAPI.timestamp(UnixTime(seconds: 1_736_190_000), localTime: .utc) == 250_106_190_000)
        #expect(HomeWizardAPI.hex("E0012") == "4530303132")
        #expect(HomeWizardAPI.smrVersion("50217") == 50)
        #expect(HomeWizardAPI.smrVersion("42") == 42)
        #expect(HomeWizardAPI.smrVersion("5") == nil)
    }

    @Test func tokenComparisonNeedsTheWholeToken() {
        #expect(APIRoutes.same(Array("secret".utf8), Array("secret".utf8)))
        #expect(!APIRoutes.same(Array("secreT".utf8), Array("secret".utf8)))
        #expect(!APIRoutes.same(Array("secret1".utf8), Array("secret".utf8)))
        #expect(!APIRoutes.same([], Array("secret".utf8)))
    }
}

@Suite struct APIConfigTests {
    @Test func apiSectionDecodes() throws {
        let config = try YAMLFile.decode(
            RunConfig.self, yaml: "api:\n  listen: \"0.0.0.0:8080\"\n  token: env:EMETER_API_TOKEN\n", file: "c.yaml")
        #expect(config.api?.listen == "0.0.0.0:8080")
        #expect(config.api?.token == "env:EMETER_API_TOKEN")
    }

    @Test func aBadListenAddressNamesTheField() {
        #expect {
            _ = try YAMLFile.decode(RunConfig.self, yaml: "api:\n  listen: localhost\n", file: "c.yaml")
        } throws: { error in
            guard let first = (error as? ConfigErrors)?.errors.first else { return false }
            return "\(first)".contains("api.listen") && first.message.contains("IPv4:port")
        }
    }
}

/// `/metrics` counts from the cumulative health reports: each report adds what grew since the previous one.
@Suite struct APIMetricsTests {
    func text(_ metrics: APIMetrics) -> String { String(decoding: metrics.exposition(), as: UTF8.self) }

    @Test func healthReportsBecomeCountersThatAddUp() {
        let metrics = APIMetrics()
        var health = Health()
        health.telegramsAccepted = 5
        health.rejectionReasons = ["crc_mismatch": 2]
        health.ticks = 3
        health.latenessHistogram[0] = 2  // ≤ 50 µs
        health.latenessHistogram[3] = 1  // ≤ 200 µs
        health.ringBytesUsed = 24
        metrics.update(health)
        health.telegramsAccepted = 7
        health.rejectionReasons = ["crc_mismatch": 3, "out_of_range": 1]
        health.ticks = 4
        health.latenessHistogram[3] = 2
        metrics.update(health)
        let exposition = text(metrics)
        #expect(exposition.contains("\nemeter_p1_telegrams_total 7\n"))
        #expect(exposition.contains("emeter_p1_telegrams_rejected_total{reason=\"crc_mismatch\"} 3\n"))
        #expect(exposition.contains("emeter_p1_telegrams_rejected_total{reason=\"out_of_range\"} 1\n"))
        #expect(exposition.contains("\nemeter_loop_ticks_total 4\n"))
        #expect(exposition.contains("emeter_loop_lateness_seconds_count 4\n"))
        #expect(exposition.contains("emeter_loop_lateness_seconds_bucket{le=\"0.00005\"} 2\n"))
        #expect(exposition.contains("emeter_loop_lateness_seconds_bucket{le=\"0.0002\"} 4\n"))
        #expect(exposition.contains("\nemeter_ring_used_bytes 24"))
        #expect(exposition.contains("# HELP emeter_p1_telegrams_total "))
    }

    @Test func forwarderCountersFollowTheDrain() {
        let metrics = APIMetrics()
        metrics.forwarder(
            "mqtt:broker/emeter", backlog: 4, delivered: 2, failedAttempts: 1,
            lastSuccess: UnixTime(seconds: 1_736_190_000))
        metrics.forwarder("mqtt:broker/emeter", backlog: nil, delivered: 5, failedAttempts: 1, lastSuccess: nil)
        let exposition = text(metrics)
        #expect(
            exposition.contains("emeter_forwarder_acknowledged_records_total{forwarder=\"mqtt:broker/emeter\"} 5\n"))
        #expect(exposition.contains("emeter_forwarder_errors_total{forwarder=\"mqtt:broker/emeter\"} 1\n"))
        #expect(exposition.contains("emeter_forwarder_backlog_records{forwarder=\"mqtt:broker/emeter\"} 4"))
        // A report without a delivery time keeps the last one.
        #expect(
            exposition.contains(
                "emeter_forwarder_last_success_timestamp_seconds{forwarder=\"mqtt:broker/emeter\"} 1736190000"))
    }
}
