import Foundation
import Logging
import MQTT
import Synchronization
import TestSupport
import Testing

@testable import emeter

// Issue "Home Assistant, exactly right", defect 4: two installations left at the default `device: emeter` shared
// the MQTT client id, the topics and every unique_id. The default is now unique per meter and stable.

@Test func theDeviceIDComesFromTheMeterAndIsKeptAcrossRestarts() async throws {
    let directory = try temporaryDirectory("device-id")
    defer { try? FileManager.default.removeItem(at: directory) }
    let logger = Logger(label: "test")
    let noMachineID = directory.appendingPathComponent("no-machine-id").path

    // Two meters, two ids; the equipment id is the meter's serial number (decoded from hex by the parser).
    let first = await DeviceIdentity.resolve(
        configured: nil, stateDirectory: directory.path, equipmentID: { "1SAG3101021605" },
        machineIDPath: noMachineID, logger: logger)
    #expect(first.id == "p1-1sag3101021605")
    #expect(first.origin == .equipmentID("1SAG3101021605"))
    let other = await DeviceIdentity.resolve(
        configured: nil, stateDirectory: nil, equipmentID: { "E0044007382246019" }, machineIDPath: noMachineID,
        logger: logger)
    #expect(other.id == "p1-e0044007382246019")

    // A restart keeps the saved id, whatever the meter says now (a swapped meter does not rename the entities).
    let again = await DeviceIdentity.resolve(
        configured: nil, stateDirectory: directory.path, equipmentID: { "SOMETHINGELSE" }, machineIDPath: noMachineID,
        logger: logger)
    #expect(again.id == "p1-1sag3101021605")
    #expect(again.origin == .saved(directory.path + "/device-id"))
    // The configuration wins over everything.
    let configured = await DeviceIdentity.resolve(
        configured: "house", stateDirectory: directory.path, equipmentID: { nil }, logger: logger)
    #expect(configured.id == "house" && configured.origin == .configuration)
}

@Test func withoutAUsableEquipmentIDTheMachineIDNamesTheDevice() async throws {
    let directory = try temporaryDirectory("machine-id")
    defer { try? FileManager.default.removeItem(at: directory) }
    let machineID = directory.appendingPathComponent("machine-id")
    try "0123456789abcdef0123456789abcdef\n".write(to: machineID, atomically: true, encoding: .utf8)
    // A test meter's all-zero id cannot tell installations apart; neither can no P1 at all.
    for equipment in ["00000000000000", "", nil] as [String?] {
        let chosen = await DeviceIdentity.resolve(
            configured: nil, stateDirectory: nil, equipmentID: { equipment }, machineIDPath: machineID.path,
            logger: Logger(label: "test"))
        #expect(chosen.id == "emeter-0123456789ab" && chosen.origin == .machineID)
    }
    // A damaged saved id is not used.
    try "a/b\n".write(to: directory.appendingPathComponent("device-id"), atomically: true, encoding: .utf8)
    let repaired = await DeviceIdentity.resolve(
        configured: nil, stateDirectory: directory.path, equipmentID: { "KFM5 1234" }, machineIDPath: machineID.path,
        logger: Logger(label: "test"))
    #expect(repaired.id == "p1-kfm51234")
    #expect(DeviceIdentity.fromEquipmentID("////") == nil)
    #expect(DeviceIdentity.fromMachineID("short") == nil)
}

@Test func stateDirectoryFollowsSystemdThenXDGThenHome() {
    #expect(StateDirectory.path(configured: "/x", environment: ["STATE_DIRECTORY": "/y"]) == "/x")
    #expect(
        StateDirectory.path(configured: nil, environment: ["STATE_DIRECTORY": "/var/lib/emeter:/other"])
            == "/var/lib/emeter")
    #expect(StateDirectory.path(configured: nil, environment: ["XDG_STATE_HOME": "/s", "HOME": "/h"]) == "/s/emeter")
    #expect(StateDirectory.path(configured: nil, environment: ["HOME": "/h"]) == "/h/.local/state/emeter")
    #expect(StateDirectory.path(configured: nil, environment: [:]) == nil)
}

/// Must show of the issue: `emeter run` on a simulated single-phase Belgian meter without PV or gas, forwarding to
/// a real mosquitto with no `device:` configured. What a `mosquitto_sub -t 'homeassistant/#'` sees: no `object_id`,
/// no entity for L2/L3, gas or water (their configs are removed), ids named after the meter; and the export
/// registers published as 0.
@Test(.enabled(if: MosquittoBroker.isAvailable), .timeLimit(.minutes(2)))
func runAnnouncesExactlyWhatASinglePhaseMeterWithoutPVSends() async throws {
    try await MosquittoBroker.with { broker in
        let directory = try temporaryDirectory("ha-run")
        defer { try? FileManager.default.removeItem(at: directory) }
        let board = directory.appendingPathComponent("board.yaml")
        try """
        name: single phase, no PV
        p1:
          simulate:
            profile: belgian-1phase
            start: 2025-01-06T11:00:00Z
            solar_peak_w: 0
        """.write(to: board, atomically: true, encoding: .utf8)

        let recorder = try await TopicRecorder(
            port: broker.port, clientID: "ha-sub", filters: ["homeassistant/#", "emeter/+/p1"])
        defer { recorder.stop() }
        func latest(_ topic: String) -> [UInt8]? { recorder.latestBytes(topic) }

        let device = "p1-1sag3101021605"  // the simulated meter's 0-0:96.1.1
        let configTopic = { (key: String) in "homeassistant/sensor/emeter_\(device)_p1_\(key)/config" }
        let emeter = try EmeterProcess([
            "run", "--board", board.path, "--forward", "mqtt://127.0.0.1:\(broker.port)/emeter", "--duration", "60s",
        ])
        let settled = await waitUntil(.seconds(60)) {
            latest(configTopic("voltage_l1_v"))?.isEmpty == false && latest(configTopic("gas_m3")) != nil
                && latest("emeter/\(device)/p1") != nil
        }
        #expect(settled, "stderr: \(emeter.standardError.suffix(3000))")
        #expect(emeter.standardError.contains("device id"))
        #expect(emeter.standardError.contains(device))

        let configs = recorder.received.list.withLock { $0 }.filter { $0.topic.hasPrefix("homeassistant/") }
        let announced = configs.filter { !$0.payload.isEmpty }
        #expect(!announced.isEmpty)
        for (topic, payload) in announced {
            let text = String(decoding: payload, as: UTF8.self)
            #expect(!text.contains("object_id"), "\(topic)")
            #expect(topic.contains("emeter_\(device)_"), "\(topic)")
        }
        for absent in ["voltage_l2_v", "voltage_l3_v", "current_l2_a", "current_l3_a", "gas_m3", "water_m3"] {
            #expect(latest(configTopic(absent)) == [], "\(absent) is announced or not removed")
        }
        #expect(latest(configTopic("export_t1_kwh"))?.isEmpty == false)
        let live = try #require(
            latest("emeter/\(device)/p1").flatMap { jsonObject(String(decoding: $0, as: UTF8.self)) })
        #expect(live["export_t1_wh"] as? Int == 0 && live["export_t2_wh"] as? Int == 0, "\(live)")
        #expect(live["device"] as? String == device)
        emeter.signal(SIGTERM)
        #expect(await emeter.wait(timeout: .seconds(60)) == 0)
    }
}

/// What a subscriber received, in order.
final class Messages: Sendable {
    let list = Mutex<[(topic: String, payload: [UInt8])]>([])
}

/// Issue "Hostile input" item 10: the Smarty frame counter was kept in memory only, so right after a restart a
/// recording of earlier frames was accepted again. It is saved in the state directory; a second run fed the same
/// frames (the simulated meter starting at the same instant = a replayed recording) refuses them all.
@Test(.timeLimit(.minutes(2)))
func theSmartyFrameCounterSurvivesARestart() async throws {
    let directory = try temporaryDirectory("frame-counter")
    defer { try? FileManager.default.removeItem(at: directory) }
    let state = directory.appendingPathComponent("state")
    let board = directory.appendingPathComponent("board.yaml")
    try """
    name: smarty replay
    p1:
      simulate:
        profile: smarty
        start: 2025-01-06T19:00:00Z
      serial: 115200-8N1
    """.write(to: board, atomically: true, encoding: .utf8)
    let config = directory.appendingPathComponent("config.yaml")
    try "device: replay\nhealth_interval: 1s\nstdout:\n  health: true\n  records: false\n".write(
        to: config, atomically: true, encoding: .utf8)
    let arguments = ["run", "--board", board.path, "--config", config.path, "--duration", "12s"]

    let first = try EmeterProcess(arguments, environment: ["STATE_DIRECTORY": state.path])
    #expect(await first.wait(timeout: .seconds(40)) == 0, "\(first.standardError.suffix(2000))")
    let p1Lines = first.outputLines.compactMap(jsonObject).filter { $0["type"] as? String == "p1" }
    #expect(p1Lines.count >= 1, "\(first.standardError.suffix(2000))")
    let saved = try String(contentsOf: state.appendingPathComponent("p1-frame-counter"), encoding: .utf8)
    #expect(saved.hasPrefix("53414753494D3031 "))  // "SAGSIM01", the simulated meter's system title

    let second = try EmeterProcess(arguments, environment: ["STATE_DIRECTORY": state.path])
    #expect(await second.wait(timeout: .seconds(40)) == 0, "\(second.standardError.suffix(2000))")
    let lines = second.outputLines.compactMap(jsonObject)
    #expect(!lines.contains { $0["type"] as? String == "p1" }, "a replayed frame was accepted")
    let replayed =
        lines.compactMap { ($0["rejection_reasons"] as? [String: Any])?["replayed_frame"] as? Int }.max() ?? 0
    #expect(replayed >= 1, "health: \(lines.filter { $0["type"] as? String == "health" }.last ?? [:])")
}

/// Issue "Act on the readings", must show: `emeter run` on a simulated PV day (1000× speed) with a surplus rule:
/// the simulated relay switches on during the PV hump and off after it, visible in the JSON Lines; a clean stop
/// applies the fail-safe state; the state file keeps the switch times.
@Test(.timeLimit(.minutes(2)))
func aSurplusRuleSwitchesTheSimulatedRelayThroughAPVDay() async throws {
    let state = try temporaryDirectory("surplus-state")
    defer { try? FileManager.default.removeItem(at: state) }
    let emeter = try EmeterProcess(
        [
            "run", "--board", "boards/simulator-pv-day.yaml", "--config", "config/surplus-demo.yaml", "--duration",
            "60s",
        ], environment: ["STATE_DIRECTORY": state.path])
    let switchedTwice = await waitUntil(.seconds(80)) {
        emeter.outputLines.compactMap(jsonObject).filter { $0["type"] as? String == "switch" }.count >= 2
    }
    #expect(switchedTwice, "\(emeter.standardError.suffix(3000))")
    emeter.signal(SIGTERM)
    #expect(await emeter.wait(timeout: .seconds(60)) == 0)
    let switches = emeter.outputLines.compactMap(jsonObject).filter { $0["type"] as? String == "switch" }
    #expect(switches.map { $0["on"] as? Bool } == [true, false])
    #expect((switches.first?["reason"] as? String)?.hasPrefix("surplus: export") == true)
    #expect((switches.last?["reason"] as? String)?.hasPrefix("surplus: import") == true)
    #expect(switches.allSatisfy { $0["output"] as? String == "ev_charger" })
    #expect(emeter.standardError.contains("output set to its fail-safe state"))
    let saved = try String(contentsOf: state.appendingPathComponent("output-ev_charger"), encoding: .utf8)
    #expect(saved.hasPrefix("off "))
}

@Test(arguments: [
    (
        "controllers:\n  - output: ev\n    rule: surplus\n    on_export_w: 1400\n",
        "bad.yaml:2:5: controllers.0.off_import_w: `rule: surplus` needs `off_import_w:` (W)"
    ),
    (
        "controllers:\n  - output: ev\n    rule: solar\n",
        "bad.yaml:3:11: controllers.0.rule: expected `surplus`, `peak_guard`, `schedule` or `manual`, got `solar`"
    ),
    (
        "controllers:\n  - output: ev\n    rule: schedule\n    windows:\n      - from: \"25:00\"\n        to: \"06:00\"\n",
        "bad.yaml:5:15: controllers.0.windows.0.from: expected HH:MM, got `25:00`"
    ),
    (
        "controllers:\n  - output: ev\n    rule: manual\n  - output: ev\n    rule: manual\n",
        "bad.yaml:4:13: controllers.1.output: `ev` already has a controller"
    ),
])
func brokenControllersGiveAPreciseError(yaml: String, expected: String) {
    do {
        _ = try YAMLFile.decode(RunConfig.self, yaml: yaml, file: "bad.yaml")
        Issue.record("accepted: \(yaml)")
    } catch {
        #expect(error.errors.first?.description == expected)
    }
}

@Test func aControllerForAnOutputTheBoardLacksIsRefusedAtStart() async throws {
    let directory = try temporaryDirectory("no-output")
    defer { try? FileManager.default.removeItem(at: directory) }
    let config = directory.appendingPathComponent("config.yaml")
    try "controllers:\n  - output: heat_pump\n    rule: manual\n".write(to: config, atomically: true, encoding: .utf8)
    let result = try await runEmeter(
        ["run", "--board", "boards/simulator-pv-day.yaml", "--config", config.path, "--duration", "5s"])
    #expect(result.status == 65)
    #expect(
        result.err.contains(
            "controllers[0].output: boards/simulator-pv-day.yaml has no output `heat_pump` (it has: ev_charger)"),
        "\(result.err)")
}

/// A manual output is a Home Assistant `switch`: its state is retained on `…/output/<name>`, a command on
/// `…/output/<name>/set` switches it (a JSON Lines event with the reason), and a retained command left on the broker
/// is never acted on.
@Test(.enabled(if: MosquittoBroker.isAvailable), .timeLimit(.minutes(2)))
func aManualOutputIsAHomeAssistantSwitchCommandedOverMQTT() async throws {
    try await MosquittoBroker.with { broker in
        let directory = try temporaryDirectory("manual")
        defer { try? FileManager.default.removeItem(at: directory) }
        let board = directory.appendingPathComponent("board.yaml")
        try """
        name: manual relay
        p1:
          simulate:
            profile: belgian-3phase
            start: 2025-01-06T19:00:00Z
        outputs:
          - name: pump
            simulate: true
        """.write(to: board, atomically: true, encoding: .utf8)
        let config = directory.appendingPathComponent("config.yaml")
        try """
        device: relay
        stdout:
          live: false
          records: false
        controllers:
          - output: pump
            rule: manual
        forward:
          - url: mqtt://127.0.0.1:\(broker.port)/emeter
        """.write(to: config, atomically: true, encoding: .utf8)

        let recorder = try await TopicRecorder(port: broker.port, clientID: "ha", filters: [])
        defer { recorder.stop() }
        let client = recorder.client
        // A stale retained command: must not switch the pump when emeter subscribes.
        try await client.publish(
            topic: "emeter/relay/output/pump/set", payload: Array("ON".utf8), qos: .atLeastOnce, retain: true)
        try await recorder.subscribe(["homeassistant/switch/#", "emeter/relay/output/pump"])
        func latest(_ topic: String) -> String? { recorder.latest(topic) }

        let emeter = try EmeterProcess(["run", "--board", board.path, "--config", config.path, "--duration", "60s"])
        let configTopic = "homeassistant/switch/emeter_relay_output_pump/config"
        #expect(
            await waitUntil(.seconds(30)) { latest(configTopic) != nil && latest("emeter/relay/output/pump") == "OFF" },
            "\(emeter.standardError.suffix(3000))")
        let discovery = try #require(latest(configTopic).flatMap(jsonObject))
        #expect(discovery["command_topic"] as? String == "emeter/relay/output/pump/set")
        #expect(discovery["state_topic"] as? String == "emeter/relay/output/pump")
        #expect(discovery["default_entity_id"] as? String == "switch.emeter_relay_output_pump")
        try await Task.sleep(for: .seconds(1))
        #expect(!emeter.outputLines.contains { $0.contains(#""type":"switch""#) }, "a retained command was acted on")

        try await client.publish(topic: "emeter/relay/output/pump/set", payload: [], qos: .atLeastOnce, retain: true)
        try await client.publish(topic: "emeter/relay/output/pump/set", payload: Array("ON".utf8), qos: .atLeastOnce)
        #expect(await waitUntil(.seconds(15)) { latest("emeter/relay/output/pump") == "ON" })
        let event = try #require(emeter.outputLines.compactMap(jsonObject).first { $0["type"] as? String == "switch" })
        #expect(event["output"] as? String == "pump" && event["on"] as? Bool == true)
        #expect(event["reason"] as? String == "command from MQTT")
        emeter.signal(SIGTERM)
        #expect(await emeter.wait(timeout: .seconds(60)) == 0)
    }
}

/// Issue "Act on the readings", alerts: a P1 meter that sends nothing (a dongle that accepts and stays silent)
/// raises `p1_missing` once: a JSON Lines event, the retained `…/alert/p1_missing` = ON, a Home Assistant
/// `binary_sensor` of class `problem`, and the event on `…/alert`.
@Test(.enabled(if: MosquittoBroker.isAvailable), .timeLimit(.minutes(2)))
func aSilentMeterRaisesOneAlertEverywhere() async throws {
    try await MosquittoBroker.with { broker in
        let directory = try temporaryDirectory("alert")
        defer { try? FileManager.default.removeItem(at: directory) }
        // A TCP "dongle" that accepts connections and never sends a byte.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        listen(listener, 4)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let board = directory.appendingPathComponent("board.yaml")
        try "name: silent dongle\np1:\n  port: tcp://127.0.0.1:\(port)\n  serial: 115200-8N1\n".write(
            to: board, atomically: true, encoding: .utf8)
        let config = directory.appendingPathComponent("config.yaml")
        try """
        device: quiet
        stdout:
          live: false
          records: false
        alerts:
          p1_missing_after: 2s
        forward:
          - url: mqtt://127.0.0.1:\(broker.port)/emeter
        """.write(to: config, atomically: true, encoding: .utf8)

        let recorder = try await TopicRecorder(
            port: broker.port, clientID: "ha",
            filters: ["homeassistant/binary_sensor/#", "emeter/quiet/alert/#", "emeter/quiet/alert"])
        defer { recorder.stop() }
        func latest(_ topic: String) -> String? { recorder.latest(topic) }

        let emeter = try EmeterProcess(["run", "--board", board.path, "--config", config.path, "--duration", "60s"])
        let raised = await waitUntil(.seconds(30)) {
            latest("emeter/quiet/alert/p1_missing") == "ON"
                && emeter.outputLines.contains { $0.contains(#""alert":"p1_missing""#) }
        }
        #expect(raised, "\(emeter.standardError.suffix(3000))")
        try await Task.sleep(for: .seconds(2))
        let events = emeter.outputLines.compactMap(jsonObject).filter { $0["type"] as? String == "alert" }
        #expect(events.count == 1, "raised once, not per tick: \(events)")
        #expect(events.first?["active"] as? Bool == true)
        let discovery = try #require(
            latest("homeassistant/binary_sensor/emeter_quiet_alert_p1_missing/config").flatMap(jsonObject))
        #expect(discovery["device_class"] as? String == "problem")
        #expect(discovery["state_topic"] as? String == "emeter/quiet/alert/p1_missing")
        #expect(latest("emeter/quiet/alert/forwarder_stalled") == "OFF")
        #expect(latest("emeter/quiet/alert").flatMap(jsonObject)?["alert"] as? String == "p1_missing")
        emeter.signal(SIGTERM)
        #expect(await emeter.wait(timeout: .seconds(60)) == 0)
    }
}

/// An MQTT client that records every message it receives, as Home Assistant or `mosquitto_sub -v` would see them.
final class TopicRecorder: Sendable {
    let client: MQTTClient
    let received = Messages()
    private let tasks: Mutex<[Task<Void, Never>]>

    init(port: Int, clientID: String, filters: [String]) async throws {
        client = MQTTClient(
            configuration: MQTTConfiguration(host: "127.0.0.1", port: port, clientID: clientID, keepAlive: 5),
            logger: Logger(label: clientID))
        let client = self.client
        let received = self.received
        let running = Task { await client.run() }
        let reading = Task {
            for await message in client.messages {
                received.list.withLock { $0.append((message.topic, message.payload)) }
            }
        }
        tasks = Mutex([running, reading])
        _ = try await client.waitForConnection()
        try await subscribe(filters)
    }

    func subscribe(_ filters: [String]) async throws {
        guard !filters.isEmpty else { return }
        try await client.subscribe(filters.map { MQTTSubscription($0, qos: .atLeastOnce) })
    }

    func latestBytes(_ topic: String) -> [UInt8]? { received.list.withLock { $0.last { $0.topic == topic }?.payload } }
    func latest(_ topic: String) -> String? { latestBytes(topic).map { String(decoding: $0, as: UTF8.self) } }

    func stop() { tasks.withLock { $0.forEach { $0.cancel() } } }
}
