import ADE9000
import CivilTime
import Firmware
import FoundationEssentials
import HAL
import Logging
import Simulator
import YAML

#if canImport(Glibc)
    import Glibc
#endif

extension Scenario: ValidatedConfig {
    func problems() -> [FieldError] {
        validationError().map { [FieldError([], $0)] } ?? []
    }
}

extension Scenario.FrontEnd {
    /// The simulated board for a driver front end (the chip model has its own type; the keys are the same).
    init(_ frontEnd: FrontEnd) {
        self.init(
            voltageDividerRatio: frontEnd.voltageDividerRatio, ctRatio: frontEnd.ctRatio,
            burdenOhms: frontEnd.burdenOhms, voltagePGA: frontEnd.voltagePGA.rawValue,
            currentPGA: frontEnd.currentPGA.rawValue)
    }
}

/// The calibration file written by `emeter calibrate --save` and read at every start.
struct CalibrationFile: ValidatedConfig {
    var calibration: Calibration
    /// When and against what reference it was made (informational).
    var created: String?
    var reference: ReferenceLoad?
    /// The board file's `name` it was made on: gains belong to one front end.
    var board: String?
    /// The chip it was made for (PART_ID and VERSION as read at start-up).
    var chip: ChipIdentity?

    struct ChipIdentity: Codable, Equatable {
        var partID: String
        var version: String
    }

    func problems() -> [FieldError] { [] }

    /// Why this file must not be applied to `boardName` with `identity`, or `nil` when it fits. Files written
    /// before issue 12 record neither and are accepted.
    func mismatch(boardName: String, identity: ChipIdentity?) -> String? {
        if let board, board != boardName {
            return "it was made on board '\(board)', this is '\(boardName)'"
        }
        if let chip, let identity, chip != identity {
            return "it was made for the chip with PART_ID \(chip.partID), VERSION \(chip.version); this one reads "
                + "PART_ID \(identity.partID), VERSION \(identity.version)"
        }
        return nil
    }
}

extension CalibrationFile.ChipIdentity {
    init(partID: UInt32, version: UInt16) {
        func hex(_ value: UInt64, _ digits: Int) -> String {
            let text = String(value, radix: 16, uppercase: true)
            return "0x" + String(repeating: "0", count: max(0, digits - text.count)) + text
        }
        self.init(partID: hex(UInt64(partID), 8), version: hex(UInt64(version), 4))
    }
}

/// What the commands need from an ADE9000, whether on spidev or simulated.
protocol ADEDevice {
    var driverStatistics: ADE9000Statistics { get }
    var configuration: ADE9000Configuration { get }
    var calibration: Calibration { get }
    var isSimulated: Bool { get }
    /// PART_ID and VERSION read at start-up.
    var chipIdentity: CalibrationFile.ChipIdentity? { get }
    /// Simulator only: moves virtual time to `wallTime` before a read; hardware: nothing.
    mutating func advance(to wallTime: UnixTime)
    mutating func readSnapshot() throws(ADE9000Error) -> Readings
    /// What the loop publishes (`SnapshotScope.loop`): after EGYRDY on IRQ0 when the board says `use_irq: true`
    /// (polling when the interrupt stops coming), else at once.
    mutating func readLoopSnapshot() throws(ADE9000Error) -> Readings
    /// Now, on the clock the chip runs on (the wall clock; the simulator's virtual time mapped onto it).
    func now() -> UnixTime
    mutating func dumpRegisters() throws(ADE9000Error) -> [(info: RegisterInfo, value: UInt32)]
    mutating func calibrate(
        reference: ReferenceLoad, options: CalibrationOptions, operatorPrompt: (CalibrationStep) -> Bool
    )
        throws(ADE9000Error) -> CalibrationReport
    mutating func calibrateOffsets(
        reference: ReferenceLoad, options: CalibrationOptions, operatorPrompt: (CalibrationStep) -> Bool
    ) throws(ADE9000Error) -> [PhaseCalibrationErrors]
    mutating func applyCalibration(_ calibration: Calibration) throws(ADE9000Error)
    /// Energy check against a reference: applies (simulator) or asks for (hardware, `prompt`) `load` with the
    /// current lagging `lag` degrees (negative: leading) on `phases`, lets one energy interval pass to settle,
    /// then measures `intervals` whole energy intervals. Nil when the operator aborted.
    mutating func measureEnergy(
        _ load: ReferenceLoad, lag: Double, phases: [Phase], intervals: Int, prompt: (String) -> Bool
    ) throws(ADE9000Error) -> EnergyMeasurement?
}

/// What `emeter ade9000 verify` measured at one point: net active energy per phase (A, B, C; import − export)
/// against the reference's, over a whole number of energy intervals.
struct EnergyMeasurement: Sendable, Equatable {
    var measuredWh: [Double]
    var referenceWh: [Double]
    var seconds: Double

    /// (measured − reference) / reference in percent, nil for a phase without reference energy.
    var errorPercent: [Double?] {
        zip(measuredWh, referenceWh).map { measured, reference in
            abs(reference) > 0 ? (measured - reference) / reference * 100 : nil
        }
    }
}

/// The driver on any bus: `Spidev` on hardware, the byte-level chip model on the simulator board. On the simulator
/// the chip is also the reference source for calibration and its virtual time follows the wall clock.
struct DriverDevice<Bus: SPIDevice>: ADEDevice {
    /// What only the simulator board has: the chip model and its virtual time.
    struct Simulation {
        let chip: ADE9000Simulator
        let time: VirtualTime
        /// The wall time at which virtual time was zero.
        let startWall: UnixTime
    }

    var driver: ADE9000<Bus>
    var simulation: Simulation?
    /// Board `use_irq`: pace loop reads by EGYRDY on IRQ0.
    var useInterrupt = false
    var driverStatistics: ADE9000Statistics { driver.statistics }
    var configuration: ADE9000Configuration { driver.configuration }
    var calibration: Calibration { driver.calibration }
    var isSimulated: Bool { simulation != nil }
    var chipIdentity: CalibrationFile.ChipIdentity? {
        driver.identity.map { CalibrationFile.ChipIdentity(partID: $0.partID, version: $0.version) }
    }

    mutating func advance(to wallTime: UnixTime) {
        guard let simulation else { return }
        let target = max(.zero, wallTime - simulation.startWall)
        if target > simulation.time.now { simulation.time.advance(to: target) }
    }

    mutating func readSnapshot() throws(ADE9000Error) -> Readings { try driver.readSnapshot() }

    mutating func readLoopSnapshot() throws(ADE9000Error) -> Readings {
        guard useInterrupt else { return try driver.readSnapshot(.loop) }
        // EGYRDY comes every EGY_TIME + 1 samples; half an interval more before giving up on the edge.
        let period = Duration.microseconds(Int64(driver.configuration.energyAccumulationSamples) * 125)
        return try driver.readWhenEnergyReady(timeout: period + period / 2)
    }

    func now() -> UnixTime {
        guard let simulation else { return RunWallClock.system() }
        return simulation.startWall + simulation.time.now
    }

    mutating func dumpRegisters() throws(ADE9000Error) -> [(info: RegisterInfo, value: UInt32)] {
        try driver.dumpRegisters()
    }

    /// On hardware the operator sets the source at each step; the simulated chip sets its scenario to the
    /// reference load itself, then asks the operator prompt as well.
    mutating func calibrate(
        reference: ReferenceLoad, options: CalibrationOptions, operatorPrompt: (CalibrationStep) -> Bool
    ) throws(ADE9000Error) -> CalibrationReport {
        guard let chip = simulation?.chip else {
            return try driver.calibrate(reference: reference, options: options, prepare: operatorPrompt)
        }
        let base = chip.scenario
        defer { chip.scenario = base }
        return try driver.calibrate(reference: reference, options: options) { step in
            chip.scenario = Self.referenceScenario(base, step, phases: options.phases)
            return operatorPrompt(step)
        }
    }

    mutating func calibrateOffsets(
        reference: ReferenceLoad, options: CalibrationOptions, operatorPrompt: (CalibrationStep) -> Bool
    ) throws(ADE9000Error) -> [PhaseCalibrationErrors] {
        guard let chip = simulation?.chip else {
            return try driver.calibrateOffsets(reference: reference, options: options, prepare: operatorPrompt)
        }
        let base = chip.scenario
        defer { chip.scenario = base }
        return try driver.calibrateOffsets(reference: reference, options: options) { step in
            chip.scenario = Self.referenceScenario(base, step, phases: options.phases)
            return operatorPrompt(step)
        }
    }

    /// The simulated calibrator: the reference on the calibrated phases, the others dead (0 V, 0 A), the base
    /// scenario's front-end errors and noise kept (they are the meter's), its harmonics not: a calibrator's output
    /// is sinusoidal, its stated V, I and PF are what it delivers. (Against a distorted source the procedure's
    /// P = V·I reference misses the harmonic power: with 10 % 3rd-harmonic current that is a 0.23 % gain error,
    /// measured with `emeter ade9000 verify --sweep`.)
    static func referenceScenario(_ base: Scenario, _ step: CalibrationStep, phases: [Phase]) -> Scenario {
        var scenario = base
        scenario.harmonics = nil
        let load: ReferenceLoad
        let angle: Double
        switch step {
        case .unityPowerFactor(let reference): (load, angle) = (reference, 0)
        case .laggingPowerFactor(let reference, let lag): (load, angle) = (reference, lag)
        case .lowCurrent(let reference): (load, angle) = (reference, 0)
        }
        scenario.segments = nil
        scenario.phases = Phase.allCases.map { phase in
            phases.contains(phase)
                ? Scenario.PhaseLoad(voltage: load.voltage, current: load.current, angle: angle)
                : Scenario.PhaseLoad(voltage: 0, current: 0)
        }
        return scenario
    }

    mutating func applyCalibration(_ calibration: Calibration) throws(ADE9000Error) {
        try driver.applyCalibration(calibration)
    }

    mutating func measureEnergy(
        _ load: ReferenceLoad, lag: Double, phases: [Phase], intervals: Int, prompt: (String) -> Bool
    ) throws(ADE9000Error) -> EnergyMeasurement? {
        let text =
            "apply \(format(load.voltage, 1)) V and \(format(load.current, 4)) A, current "
            + (lag == 0 ? "in phase" : "\(lag > 0 ? "lagging" : "leading") \(format(abs(lag), 2))°")
            + " (PF \(format(cos(lag * .pi / 180), 2))), on phase(s) "
            + phases.map { ["A", "B", "C"][$0.rawValue] }.joined(separator: ", ")
        var power = [Double](repeating: 0, count: 3)
        let base = simulation?.chip.scenario
        defer { if let base { simulation?.chip.scenario = base } }
        if let chip = simulation?.chip, let base {
            // The simulated source: the reference on the checked phases (harmonics and front-end errors of the
            // scenario kept), the others dead; its true power is what an ideal meter would count.
            var scenario = base
            scenario.segments = nil
            scenario.phases = Phase.allCases.map { phase in
                phases.contains(phase)
                    ? Scenario.PhaseLoad(voltage: load.voltage, current: load.current, angle: lag)
                    : Scenario.PhaseLoad(voltage: 0, current: 0)
            }
            chip.scenario = scenario
            for phase in phases { power[phase.rawValue] = scenario.trueActivePower(scenario.phases[phase.rawValue]) }
        } else {
            for phase in phases { power[phase.rawValue] = load.voltage * load.current * cos(lag * .pi / 180) }
        }
        guard prompt(text) else { return nil }
        let period = Double(driver.configuration.energyAccumulationSamples) / 8000
        let timeout = Duration.seconds(2 * period + 1)
        // The interval running while the source changed is discarded; the next starts on the new load.
        try driver.waitForEnergyReady(timeout: timeout)
        try driver.waitForEnergyReady(timeout: timeout)
        let before = try driver.readSnapshot(.full)
        for _ in 0..<intervals { try driver.waitForEnergyReady(timeout: timeout) }
        let after = try driver.readSnapshot(.full)
        let seconds = Double(intervals) * period
        return EnergyMeasurement(
            measuredWh: (0..<3).map { after.energy[$0].activeNetWh - before.energy[$0].activeNetWh },
            referenceWh: power.map { $0 * seconds / 3600 }, seconds: seconds)
    }
}

/// The loop's view of an ADE9000: a snapshot, turned into a sample by the adapter in Firmware.
struct DeviceSampler: ADESampler {
    var device: any ADEDevice
    var spiCRCErrors: Int { device.driverStatistics.crcMismatches }
    var chipResets: Int { device.driverStatistics.chipResets }

    /// Reads what the loop publishes and dates it when the registers were read (after any IRQ0 wait), not
    /// with the tick's time.
    mutating func sample(at time: UnixTime) throws(SourceError) -> ADESample {
        device.advance(to: time)
        let readings: Readings
        do {
            readings = try device.readLoopSnapshot()
        } catch {
            throw SourceError(source: "ADE9000", message: "\(error)")
        }
        return try ADESample(readings, time: device.now())
    }
}

/// Opens the board's ADE9000 (hardware or simulated), resets and initialises it, restores its calibration.
enum ADESetup {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        var exitCode: Int32
    }

    static func configuration(_ board: BoardFile.ADE9000Board) -> ADE9000Configuration {
        let fe = board.frontEnd
        return ADE9000Configuration(
            wiring: fe.wiring == "3P3W" ? .threePhaseThreeWire : .threePhaseFourWire,
            lineFrequency: fe.lineFrequencyHz == 60 ? .hz60 : .hz50,
            nominalVoltage: fe.nominalVoltage ?? (fe.lineFrequencyHz == 60 ? 120 : 230),
            frontEnd: FrontEnd(
                dividerTopOhms: fe.voltageDividerTopOhms, dividerBottomOhms: fe.voltageDividerBottomOhms,
                ctRatio: fe.ctTurns, burdenOhms: fe.burdenOhms,
                voltagePGA: PGAGain(rawValue: fe.voltagePGA ?? 1) ?? .x1,
                currentPGA: PGAGain(rawValue: fe.currentPGA ?? 1) ?? .x1),
            burstReads: board.burst ?? false)
    }

    /// Resolves a path from a board file: absolute, relative to the working directory, or relative to the
    /// directory above `boards/` (so `fixtures/…` works from anywhere in the checkout).
    static func resolve(_ path: String, boardPath: String) -> String {
        if path.hasPrefix("/") || FileManager.default.fileExists(atPath: path) { return path }
        let boardDirectory = URL(fileURLWithPath: boardPath).deletingLastPathComponent()
        for base in [boardDirectory, boardDirectory.deletingLastPathComponent()] {
            let candidate = base.appendingPathComponent(path).path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        return path
    }

    static func loadCalibration(
        _ board: BoardFile.ADE9000Board, boardName: String, boardPath: String, logger: Logger
    ) throws -> CalibrationFile? {
        guard let configured = board.calibrationFile else { return nil }
        let path = resolve(configured, boardPath: boardPath)
        guard FileManager.default.fileExists(atPath: path) else {
            logger.notice(
                "no calibration file yet; using unity gains (run `emeter calibrate … --save board`)",
                metadata: ["file": "\(path)"])
            return nil
        }
        let file: CalibrationFile
        do {
            file = try YAMLFile.load(CalibrationFile.self, path: path)
        } catch {
            throw Failure(description: error.description, exitCode: 65)
        }
        if let reason = file.mismatch(boardName: boardName, identity: nil) {
            throw Failure(
                description: "\(path): calibration refused: \(reason); run `emeter calibrate … --save board` on this "
                    + "board, or point ade9000.calibration_file at its own file",
                exitCode: 65)
        }
        return file
    }

    /// Refuses a calibration file made for another chip (PART_ID, VERSION).
    static func checkChip(_ file: CalibrationFile?, _ identity: (partID: UInt32, version: UInt16)?, board: String)
        throws
    {
        guard let file, let identity else { return }
        let chip = CalibrationFile.ChipIdentity(partID: identity.partID, version: identity.version)
        if let reason = file.mismatch(boardName: board, identity: chip) {
            throw Failure(
                description: "calibration refused: \(reason); run `emeter calibrate … --save board` again", exitCode: 65
            )
        }
    }

    static func open(board: BoardFile, boardPath: String, scenarioPath: String? = nil, logger: Logger) throws
        -> any ADEDevice
    {
        guard let ade = board.ade9000 else {
            throw Failure(description: "\(boardPath): the board has no `ade9000:` section", exitCode: 65)
        }
        let configuration = configuration(ade)
        let calibrationFile = try loadCalibration(ade, boardName: board.name, boardPath: boardPath, logger: logger)
        let calibration = calibrationFile?.calibration ?? .identity
        if let simulation = ade.simulate {
            var scenario: Scenario
            if let path = scenarioPath ?? simulation.scenario {
                do {
                    scenario = try YAMLFile.load(Scenario.self, path: resolve(path, boardPath: boardPath))
                } catch {
                    throw Failure(
                        description: error.description,
                        exitCode: error.errors.contains { $0.message == "no such file" } ? 66 : 65)
                }
            } else {
                scenario = .balanced(
                    name: "default", current: 5, angle: 10, frontEnd: Scenario.FrontEnd(configuration.frontEnd))
            }
            let time = VirtualTime()
            let chip = ADE9000Simulator(scenario: scenario, time: time, strict: true)
            let irq0 = SimulatedGPIOLine(name: "IRQ0", time: time)
            let irq1 = SimulatedGPIOLine(name: "IRQ1", time: time)
            chip.connect(irq0: irq0, irq1: irq1)
            var driver = ADE9000(
                bus: chip, delay: VirtualDelay(time), configuration: configuration,
                calibration: calibration, irq0: irq0, irq1: irq1, logger: logger)
            do {
                try driver.start()
            } catch {
                throw Failure(description: "simulated ADE9000: \(error)", exitCode: 1)
            }
            try checkChip(calibrationFile, driver.identity, board: board.name)
            logger.info("simulated ADE9000 started", metadata: ["scenario": "\(scenario.name)"])
            return DriverDevice(
                driver: driver,
                simulation: .init(chip: chip, time: time, startWall: RunWallClock.system()),
                useInterrupt: ade.useIRQ ?? false)
        }
        guard let spi = ade.spi else {
            throw Failure(description: "\(boardPath): ade9000: expected `spi:` or `simulate:`", exitCode: 65)
        }
        do {
            let bus = try Spidev(
                path: spi.device,
                configuration: SpidevConfiguration(
                    mode: SPIMode(rawValue: spi.mode ?? 0) ?? .mode0, maxSpeedHz: UInt32(spi.maxSpeedHz ?? 5_000_000)))
            var resetLine: GPIODLine?
            var irq0: GPIODLine?
            var irq1: GPIODLine?
            var powerModeLines: (pm0: any GPIOOutput, pm1: any GPIOOutput)?
            if let gpio = ade.gpio {
                let chip = try GPIODChip(gpio.chip)
                if let reset = gpio.reset {
                    resetLine = try GPIODLine.output(
                        chip: chip, reset.selector, consumer: "emeter ADE9000 RESET", initial: true)
                }
                // PM1 = PM0 = 0: normal power mode (PSM0). The driver holds both lines for the process lifetime: a
                // released line may return to input, and the Pi's pull-ups then select PSM3, where SPI is dead.
                if let pm0 = gpio.pm0, let pm1 = gpio.pm1 {
                    powerModeLines = (
                        try GPIODLine.output(chip: chip, pm0.selector, consumer: "emeter ADE9000 PM0", initial: false),
                        try GPIODLine.output(chip: chip, pm1.selector, consumer: "emeter ADE9000 PM1", initial: false)
                    )
                }
                if let line = gpio.irq0 {
                    irq0 = try GPIODLine.input(
                        chip: chip, line.selector, consumer: "emeter ADE9000 IRQ0", edge: .falling)
                }
                if let line = gpio.irq1 {
                    irq1 = try GPIODLine.input(
                        chip: chip, line.selector, consumer: "emeter ADE9000 IRQ1", edge: .falling)
                }
            }
            var driver = ADE9000(
                bus: bus, delay: ThreadDelay(), configuration: configuration, calibration: calibration,
                resetLine: resetLine, irq0: irq0, irq1: irq1, powerModeLines: powerModeLines, logger: logger)
            try driver.start()
            try checkChip(calibrationFile, driver.identity, board: board.name)
            return DriverDevice(driver: driver, simulation: nil, useInterrupt: ade.useIRQ ?? false)
        } catch let error as HALError {
            throw Failure(description: "\(error)", exitCode: error.kind == .io ? 74 : 69)
        } catch let error as ADE9000Error {
            throw Failure(description: "ADE9000 on \(spi.device): \(error)", exitCode: 74)
        }
    }
}
