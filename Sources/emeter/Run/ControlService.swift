import CivilTime
import Firmware
import FoundationEssentials
import HAL
import Logging

/// The board's relay outputs and the rules that switch them (`outputs:` in the board file, `controllers:` in the
/// configuration). Fed every accepted live reading of the source that measures the grid connection (the P1 meter
/// when the board has one, else the ADE9000); each switch drives the GPIO line, is logged with its reason, saved in
/// the state directory (`output-<name>`: on/off and the last hour's switch times, so a restart keeps the state,
/// the minimum times and the switch budget) and reported as a JSON Lines event.
///
/// On a clean stop every output goes to its `fail_safe` state (default off) before its line is released. After a
/// crash or SIGKILL the kernel releases the line and, on the Raspberry Pi's GPIO controller, the pin keeps the
/// last level driven: a relay that must drop out when emeter dies needs a hardware watchdog or a normally-open
/// contact on a pull-down (see the README).
actor ControlService {
    struct Output {
        let name: String
        /// `nil` for a simulated output.
        var line: (any GPIOOutput)?
        let activeLow: Bool
        let failSafe: Bool
        var controller: OutputController
        let statePath: String?
    }

    private var outputs: [Output]
    private let source: GridSource
    private let localTime: LocalTime
    private let logger: Logger

    enum GridSource { case p1, ade9000 }

    /// Opens every output line a controller uses (at the saved state, else `initial`).
    /// - Throws: `RunFailure` for a controller naming an output the board lacks, or a line that cannot be opened.
    init(
        board: BoardFile, boardPath: String, controllers: [RunConfig.ControllerConfig], stateDirectory: String?,
        localTime: LocalTime, logger: Logger
    ) throws {
        self.localTime = localTime
        self.logger = logger
        source = board.p1 != nil ? .p1 : .ade9000
        var outputs: [Output] = []
        for (index, entry) in controllers.enumerated() {
            guard let wiring = board.outputs?.first(where: { $0.name == entry.output }) else {
                let known = (board.outputs ?? []).map(\.name)
                throw RunFailure(
                    description: "controllers[\(index)].output: \(boardPath) has no output `\(entry.output)`"
                        + (known.isEmpty ? " (it has no `outputs:`)" : " (it has: \(known.joined(separator: ", ")))"),
                    exitCode: ExitStatus.dataError)
            }
            guard case .success(let rule) = entry.makeRule() else {
                throw RunFailure(description: "controllers[\(index)]: invalid rule", exitCode: ExitStatus.dataError)
            }
            let statePath = stateDirectory.map { "\($0)/output-\(entry.output)" }
            var saved: OutputController.State?
            if let statePath, let data = FileManager.default.contents(atPath: statePath) {
                saved = OutputController.State(text: String(decoding: data, as: UTF8.self))
                if saved == nil { logger.warning("\(statePath): not a saved output state; starting from `initial`") }
            }
            let controller = OutputController(
                name: entry.output, rule: rule, initiallyOn: wiring.initial == "on",
                minimumOn: entry.minimumOn?.duration.components.seconds ?? 0,
                minimumOff: entry.minimumOff?.duration.components.seconds ?? 0,
                maxSwitchesPerHour: entry.maxSwitchesPerHour ?? 6, restoring: saved)
            let activeLow = wiring.activeLow ?? false
            var line: (any GPIOOutput)?
            if wiring.simulate != true, let chip = wiring.chip, let selector = wiring.line?.selector {
                do {
                    line = try GPIODLine.output(
                        chip: GPIODChip(chip), selector, consumer: "emeter output \(entry.output)",
                        initial: controller.isOn != activeLow)
                } catch {
                    throw RunFailure(
                        description: "\(boardPath): outputs `\(entry.output)`: \(error)",
                        exitCode: ExitStatus.unavailable)
                }
            }
            outputs.append(
                Output(
                    name: entry.output, line: line, activeLow: activeLow, failSafe: wiring.failSafe == "on",
                    controller: controller, statePath: statePath))
            logger.info(
                "output",
                metadata: [
                    "name": "\(entry.output)", "rule": "\(entry.rule)", "on": "\(controller.isOn)",
                    "line":
                        "\(wiring.simulate == true ? "simulated" : "\(wiring.chip ?? "?") \(wiring.line?.description ?? "?")")",
                ])
        }
        self.outputs = outputs
    }

    /// Every output and whether it is on, for status displays and announcements.
    var states: [(name: String, on: Bool)] { outputs.map { ($0.name, $0.controller.isOn) } }

    /// Runs every rule on `reading` (readings of the other source are ignored).
    func handle(_ reading: LiveReading) -> [ControlEvent] {
        switch (reading, source) {
        case (.p1, .p1), (.ade9000, .ade9000): break
        default: return []
        }
        let input = ControlInput(reading, localTime: localTime)
        var events: [ControlEvent] = []
        for index in outputs.indices {
            if let event = outputs[index].controller.update(input) {
                apply(event, at: index)
                events.append(event)
            }
        }
        return events
    }

    /// A command (MQTT, local API) for the output `name`.
    func command(_ name: String, on: Bool, at time: UnixTime, from source: String) -> ControlEvent? {
        guard let index = outputs.firstIndex(where: { $0.name == name }) else {
            logger.warning("command for an unknown output `\(name)` ignored")
            return nil
        }
        guard let event = outputs[index].controller.command(on, at: time, from: source) else { return nil }
        apply(event, at: index)
        return event
    }

    /// Drives every output to its fail-safe state (clean stop).
    func applyFailSafe() {
        for index in outputs.indices {
            drive(index, on: outputs[index].failSafe)
            logger.info(
                "output set to its fail-safe state",
                metadata: ["name": "\(outputs[index].name)", "on": "\(outputs[index].failSafe)"])
        }
    }

    private func apply(_ event: ControlEvent, at index: Int) {
        switch event {
        case .switched(_, let on, _, let reason):
            drive(index, on: on)
            logger.notice(
                "output switched", metadata: ["name": "\(outputs[index].name)", "on": "\(on)", "reason": "\(reason)"])
            save(index)
        case .suppressed(_, let wanted, _, let reason):
            logger.warning(
                "output switch refused",
                metadata: ["name": "\(outputs[index].name)", "wanted": "\(wanted)", "reason": "\(reason)"])
        }
    }

    private func drive(_ index: Int, on: Bool) {
        guard var line = outputs[index].line else { return }
        do {
            try line.set(on != outputs[index].activeLow)
        } catch {
            logger.error("output \(outputs[index].name): \(error)")
        }
        outputs[index].line = line
    }

    private func save(_ index: Int) {
        guard let path = outputs[index].statePath else { return }
        do {
            try Data((outputs[index].controller.state.text + "\n").utf8).write(
                to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            logger.warning("cannot save the state of output \(outputs[index].name) in \(path): \(error)")
        }
    }
}
