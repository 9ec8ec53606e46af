import CivilTime
import Foundation
import Logging
import MQTT
import P1
import Simulator
import Synchronization
import TestSupport
import Testing

@testable import Firmware
@testable import Forwarding

// Issue "Home Assistant, exactly right". Fields relied on, as Home Assistant documents them:
// - MQTT sensor (https://www.home-assistant.io/integrations/sensor.mqtt/): `availability_topic`, `device`
//   (`identifiers`, `manufacturer`, `model`, `name`, `via_device`), `device_class`, `expire_after` ("if set, it
//   defines the number of seconds after the sensor's state expires, if it's not updated"), `name`, `state_class`,
//   `state_topic`, `suggested_display_precision`, `unique_id`, `unit_of_measurement`, `value_template`;
// - MQTT discovery (https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery): topic
//   `<discovery_prefix>/<component>/<object_id>/config`, retained; "an empty payload will cause a previously
//   discovered device to be deleted"; `origin` (`name` required); `default_entity_id` (2025.10, replaces the
//   deprecated `object_id`, which 2026.4 no longer uses);
// - Energy dashboard (https://www.home-assistant.io/docs/energy/faq/): grid and individual-device sensors need
//   `device_class: energy`, `state_class: total` or `total_increasing`, unit Wh/kWh/MWh; gas `device_class: gas`
//   in m³; water `device_class: water` in m³.

/// A live reading from a fixture telegram, as the loop would publish it.
func fixtureReading(_ name: String, at time: UnixTime = UnixTime(milliseconds: 1_700_000_000_000)) throws -> LiveReading
{
    let telegram = try P1Telegram.parse(try Fixtures.bytes(name))
    let sample = try P1Sample(reading: telegram.reading, receivedAt: time)
    return .p1(
        sample,
        demand: DemandView(
            quarterHourDemandW: 1234, monthPeakDemandW: 4321, monthPeakTime: UnixTime(seconds: 1_699_999_000)))
}

/// A reading of the simulator's Belgian single-phase meter (no M-Bus) without PV at a fixed time.
func belgianSinglePhaseReading() throws -> LiveReading {
    var meter = try P1MeterSimulator(profile: .belgian1Phase, load: .noSolar, startEpoch: 1_736_190_000)
    let telegram = try P1Telegram.parse(meter.nextTelegram())
    return .p1(
        try P1Sample(reading: telegram.reading, receivedAt: UnixTime(milliseconds: 1_736_190_000_000)),
        demand: DemandView(
            quarterHourDemandW: 500, monthPeakDemandW: 2500, monthPeakTime: UnixTime(seconds: 1_736_100_000)))
}

/// An ADE9000 board's reading: three phases with power factor and frequency.
func adeReading(at time: UnixTime = UnixTime(milliseconds: 1_700_000_000_000)) -> LiveReading {
    .ade9000(
        ADESample(
            time: time, importMilliwattHours: [1_000, 2_000, 3_000], exportMilliwattHours: [0, 0, 500],
            powerW: [230, 115, -50], voltageV: [230, 231, 229], currentA: [1, 0.5, 0.25],
            powerFactor: [1, 0.99, -0.9], frequencyHz: [50, 50, 50]),
        demand: DemandView(
            quarterHourDemandW: 300, monthPeakDemandW: 2000, monthPeakTime: UnixTime(seconds: 1_699_990_000)))
}

/// Every discovery message for `readings` (as the forwarder announces them on connect), by topic.
func announced(
    _ readings: [LiveReading], device: String = "house"
) -> (configs: [String: [String: Any]], removed: Set<String>) {
    var entities = HomeAssistantEntities()
    for reading in readings { _ = entities.observe(reading) }
    let configuration = MQTTForwarderConfiguration(host: "h", device: device)
    var configs: [String: [String: Any]] = [:]
    var removed: Set<String> = []
    for (topic, payload) in HomeAssistantDiscovery.messages(for: configuration, entities: entities) {
        if payload.isEmpty {
            removed.insert(topic)
        } else {
            configs[topic] = (try? JSONSerialization.jsonObject(with: Data(payload))) as? [String: Any] ?? [:]
        }
    }
    return (configs, removed)
}

func uniqueIDs(_ configs: [String: [String: Any]]) -> Set<String> {
    Set(configs.values.compactMap { $0["unique_id"] as? String })
}

@Test func discoveryMakesEnergyDashboardCompatibleSensors() throws {
    let (configs, _) = announced([try fixtureReading("be_fluvius_emucs171_gas_water.txt"), adeReading()])
    let byID = Dictionary(uniqueKeysWithValues: configs.values.map { ($0["unique_id"] as? String ?? "", $0) })
    #expect(byID.count == configs.count)  // unique ids are unique
    let importT1 = try #require(byID["emeter_house_p1_import_t1_kwh"])
    #expect(importT1["device_class"] as? String == "energy")
    #expect(importT1["state_class"] as? String == "total_increasing")
    #expect(importT1["unit_of_measurement"] as? String == "kWh")
    #expect(importT1["state_topic"] as? String == "emeter/house/p1")
    #expect(
        importT1["value_template"] as? String
            == "{{ value_json.import_t1_wh / 1000 if value_json.import_t1_wh is number else None }}")
    // Defect 1: `default_entity_id` with the domain, never the deprecated `object_id`.
    #expect(importT1["default_entity_id"] as? String == "sensor.emeter_house_p1_import_t1_kwh")
    for config in configs.values {
        #expect(config["object_id"] == nil)
        #expect(config["availability_topic"] as? String == "emeter/house/status")
        #expect(config["expire_after"] as? Int == 300)
        #expect((config["origin"] as? [String: Any])?["name"] as? String == "emeter")
        if config["device_class"] as? String == "energy" {
            #expect(["total", "total_increasing"].contains(config["state_class"] as? String ?? ""))
            #expect(["Wh", "kWh", "MWh"].contains(config["unit_of_measurement"] as? String ?? ""))
        }
    }
    let gas = try #require(byID["emeter_house_p1_gas_m3"])
    #expect(gas["device_class"] as? String == "gas" && gas["unit_of_measurement"] as? String == "m³")
    let water = try #require(byID["emeter_house_p1_water_m3"])
    #expect(water["device_class"] as? String == "water" && water["unit_of_measurement"] as? String == "m³")
    // The ADE9000 channels are their own device, reached through the P1 reader's, with per-phase entities.
    let phaseEnergy = try #require(byID["emeter_house_ade9000_import_l2_kwh"])
    let device = try #require(phaseEnergy["device"] as? [String: Any])
    #expect(device["identifiers"] as? [String] == ["emeter_house_ade9000"])
    #expect(device["via_device"] as? String == "emeter_house")
    #expect(phaseEnergy["state_topic"] as? String == "emeter/house/ade9000")
    let powerFactor = try #require(byID["emeter_house_ade9000_power_factor_l3"])
    #expect(powerFactor["device_class"] as? String == "power_factor" && powerFactor["unit_of_measurement"] == nil)
    #expect(byID["emeter_house_ade9000_frequency_hz"]?["unit_of_measurement"] as? String == "Hz")
    // Capacity tariff: quarter-hour demand and month peak as power measurements.
    let peak = try #require(byID["emeter_house_p1_month_peak_demand_w"])
    #expect(peak["device_class"] as? String == "power" && peak["state_class"] as? String == "measurement")
}

/// Defect 3: a single-phase meter without M-Bus devices gets no L2/L3, gas or water entity, and the configs an
/// older emeter announced for them unconditionally are removed (empty retained payload).
@Test func onlyWhatTheMeterSendsIsAnnounced() throws {
    let (configs, removed) = announced([try belgianSinglePhaseReading()])
    let ids = uniqueIDs(configs)
    #expect(ids.contains("emeter_house_p1_voltage_l1_v"))
    #expect(ids.contains("emeter_house_p1_export_t1_kwh"))  // a Belgian meter sends export registers, PV or not
    for absent in ["voltage_l2_v", "voltage_l3_v", "current_l2_a", "current_l3_a", "gas_m3", "water_m3"] {
        #expect(!ids.contains("emeter_house_p1_\(absent)"), "\(absent) announced")
        #expect(removed.contains("homeassistant/sensor/emeter_house_p1_\(absent)/config"), "\(absent) not removed")
    }
    // Nothing is announced or removed for a source before its first reading.
    #expect(!ids.contains { $0.contains("ade9000") } && !removed.contains { $0.contains("ade9000") })
    let (none, noRemovals) = announced([])
    #expect(none.isEmpty && noRemovals.isEmpty)
}

/// Luxembourg Smarty sends only register totals (1-0:1.8.0 / 2.8.0): it gets total entities, not tariffs.
@Test func aMeterWithOnlyTotalsGetsTotalEntities() throws {
    let ids = uniqueIDs(announced([try fixtureReading("lu_smarty_lux5_plain.txt")]).configs)
    #expect(ids.contains("emeter_house_p1_import_kwh") && ids.contains("emeter_house_p1_export_kwh"))
    #expect(!ids.contains("emeter_house_p1_import_t1_kwh") && !ids.contains("emeter_house_p1_import_t2_kwh"))
}

/// An entity the meter stops sending is removed after a day without it (never sooner), and comes back when the
/// meter sends it again; a clock stepped back removes nothing.
@Test func anEntityNotSentForADayIsRemoved() throws {
    let withGas = try fixtureReading("be_fluvius_emucs171_gas_water.txt", at: UnixTime(milliseconds: 1_700_000_000_000))
    guard case .p1(var sample, let demand) = withGas else { return }
    var entities = HomeAssistantEntities()
    var changed = entities.observe(withGas)
    #expect(changed)
    sample.gasLitres = nil
    sample.time = UnixTime(milliseconds: 1_700_000_000_000 + 86_400_000)  // exactly a day: kept
    changed = entities.observe(.p1(sample, demand: demand))
    #expect(!changed)
    #expect(entities.announced.contains("p1_gas_m3"))
    sample.time = UnixTime(milliseconds: 1_700_000_000_000 - 3_600_000)  // the clock stepped back an hour: kept
    changed = entities.observe(.p1(sample, demand: demand))
    #expect(!changed)
    sample.time = UnixTime(milliseconds: 1_700_000_000_000 + 86_401_000)
    let before = entities
    changed = entities.observe(.p1(sample, demand: demand))
    #expect(changed)
    #expect(!entities.announced.contains("p1_gas_m3") && entities.announced.contains("p1_water_m3"))
    let configuration = MQTTForwarderConfiguration(host: "h", device: "d")
    let change = HomeAssistantDiscovery.messages(for: configuration, from: before, to: entities)
    #expect(change.map(\.topic) == ["homeassistant/sensor/emeter_d_p1_gas_m3/config"])
    #expect(change.first?.payload == [])
    // Back again: announced again.
    changed = entities.observe(withGas)
    #expect(changed)
    #expect(entities.announced.contains("p1_gas_m3"))
}

/// The decided set survives a restart: its text form reads back equal; anything else is refused, not guessed.
@Test func announcedEntitiesPersistAsText() throws {
    var entities = HomeAssistantEntities()
    _ = entities.observe(try belgianSinglePhaseReading())
    _ = entities.observe(adeReading())
    #expect(HomeAssistantEntities(text: entities.text) == entities)
    #expect(HomeAssistantEntities(text: "") == HomeAssistantEntities())
    for bad in ["decided mars\n", "seen p1_gas_m3 soon\n", "garbage\n", "seen p1_gas_m3\n"] {
        #expect(HomeAssistantEntities(text: bad) == nil, "accepted \(bad)")
    }
    // An id a later release dropped is forgotten (its source is decided, so it gets a removal).
    let old = HomeAssistantEntities(text: "decided p1\nseen p1_retired_sensor 5\nseen p1_gas_m3 5\n")
    #expect(old?.announced == ["p1_gas_m3"])
}

// MARK: - golden files

/// One golden file per meter profile: every discovery topic and payload (`-` marks a removal), exactly as sent.
/// After a deliberate change, regenerate with `EMETER_UPDATE_GOLDEN=1 swift test --filter goldenDiscovery` and
/// review the diff field by field against the documentation cited at the top of this file.
@Test(arguments: [
    ("belgian-3phase", "be_fluvius_emucs171_gas_water.txt"),
    ("belgian-1phase-no-gas", ""),
    ("nl-dsmr5", "nl_dsmr50_iskra_mt382_v5.txt"),
    ("smarty", "lu_smarty_lux5_plain.txt"),
    ("ade9000-board", "-"),
])
func goldenDiscovery(profile: String, fixture: String) throws {
    let reading: LiveReading =
        switch fixture {
        case "": try belgianSinglePhaseReading()
        case "-": adeReading()
        default: try fixtureReading(fixture)
        }
    var entities = HomeAssistantEntities()
    _ = entities.observe(reading)
    let configuration = MQTTForwarderConfiguration(host: "h", device: "house")
    var text = ""
    for (topic, payload) in HomeAssistantDiscovery.messages(for: configuration, entities: entities) {
        text += payload.isEmpty ? "\(topic) -\n" : "\(topic) \(String(decoding: payload, as: UTF8.self))\n"
    }
    let file = repositoryRoot.appendingPathComponent("fixtures/homeassistant/\(profile).txt")
    if ProcessInfo.processInfo.environment["EMETER_UPDATE_GOLDEN"] == "1" {
        try FileManager.default.createDirectory(
            at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: file, atomically: true, encoding: .utf8)
    }
    let golden = try String(contentsOf: file, encoding: .utf8)
    #expect(text == golden, "discovery for \(profile) differs from \(file.path)")
}

// MARK: - the forwarder against a real broker

/// Collects retained and live messages a subscriber receives, by topic.
final class TopicLog: Sendable {
    let messages = Mutex<[(topic: String, payload: [UInt8])]>([])
    func latest(_ topic: String) -> [UInt8]? { messages.withLock { $0.last { $0.topic == topic }?.payload } }
    var topics: Set<String> { messages.withLock { Set($0.map(\.topic)) } }
}

/// The forwarder decides its entities from the first reading, publishes them (and the removals), persists them,
/// and after a restart announces the same set on connect, before any reading.
@Test(.enabled(if: MosquittoBroker.isAvailable), .timeLimit(.minutes(3)))
func forwarderAnnouncesWhatTheFirstReadingShowsAndRemembersIt() async throws {
    try await MosquittoBroker.with { broker in
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "emeter-ha-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let statePath = directory.appendingPathComponent("entities.txt").path
        var configuration = try MQTTForwarderConfiguration.parse(
            url: "mqtt://127.0.0.1:\(broker.port)/emeter", device: "one"
        ).get()
        configuration.entitiesPath = statePath

        let log = TopicLog()
        let subscriber = MQTTClient(
            configuration: MQTTConfiguration(host: "127.0.0.1", port: broker.port, clientID: "ha-test", keepAlive: 5),
            logger: Logger(label: "subscriber"))
        let subscriberTask = Task { await subscriber.run() }
        defer { subscriberTask.cancel() }
        // Connected first, so `subscribe` returns after the SUBACK: a removal (an empty retained message) is
        // delivered only to subscribers that are already there.
        _ = try await subscriber.waitForConnection()
        try await subscriber.subscribe([MQTTSubscription("homeassistant/#", qos: .atLeastOnce)])
        let readerTask = Task {
            for await message in subscriber.messages {
                log.messages.withLock { $0.append((message.topic, message.payload)) }
            }
        }
        defer { readerTask.cancel() }

        let forwarder = MQTTForwarder(configuration: configuration, logger: Logger(label: "test"))
        let running = Task { await forwarder.run() }
        _ = try await forwarder.client.waitForConnection()
        await forwarder.publish(try belgianSinglePhaseReading())
        let l1 = "homeassistant/sensor/emeter_one_p1_voltage_l1_v/config"
        let l2 = "homeassistant/sensor/emeter_one_p1_voltage_l2_v/config"
        #expect(await waitUntil(.seconds(10)) { log.latest(l1)?.isEmpty == false && log.latest(l2) != nil })
        #expect(log.latest(l2) == [])  // removed, never announced
        await forwarder.shutdown()
        _ = await running.value
        #expect(
            HomeAssistantEntities(text: try String(contentsOfFile: statePath, encoding: .utf8))?.announced
                .contains("p1_voltage_l1_v") == true)

        // A restart announces the saved set on connect, before any reading; the retained removal stays empty.
        log.messages.withLock { $0.removeAll() }
        let again = MQTTForwarder(configuration: configuration, logger: Logger(label: "test"))
        let runningAgain = Task { await again.run() }
        _ = try await again.client.waitForConnection()
        #expect(await waitUntil(.seconds(10)) { log.latest(l1)?.isEmpty == false })
        #expect(!log.topics.contains { $0.contains("voltage_l2") && log.latest($0)?.isEmpty == false })
        await again.shutdown()
        _ = await runningAgain.value
    }
}

/// Polls `condition` every 20 ms for at most `limit`.
func waitUntil(_ limit: Duration, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now.advanced(by: limit)
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}
