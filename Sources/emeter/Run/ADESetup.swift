import ADE9000
import Firmware
import FoundationEssentials
import HAL
import Logging
import Simulator
import YAML

extension Scenario: ValidatedConfig {
    func problems() -> [FieldError] {
        validationError().map { [FieldError([], $0)] } ?? []
    }
}

/// The calibration file written by `emeter calibrate --save` and read at every start.
struct CalibrationFile: ValidatedConfig {
    var calibration: Calibration
    /// When and against what reference it was made (informational).
    var created: String?
    var reference: ReferenceLoad?

    func problems() -> [FieldError] { [] }
}

/// What the commands need from an ADE9000, whether on spidev or simulated.
protocol ADEDevice {
    var driverStatistics: ADE9000Statistics { get }
    var configuration: ADE9000Configuration { get }
    var calibration: Calibration { get }
    var isSimulated: Bool { get }
    /// Simulator only: moves virtual time to `wallTime` (Unix ms) before a read; hardware: nothing.
    mutating func advance(to wallTime: Int64)
    mutating func readSnapshot() throws(ADE9000Error) -> Readings
    mutating func dumpRegisters() throws(ADE9000Error) -> [(info: RegisterInfo, value: UInt32)]
    mutating func calibrate(
        reference: ReferenceLoad, options: CalibrationOptions, operatorPrompt: (CalibrationStep) -> Bool
    )
        throws(ADE9000Error) -> CalibrationReport
    mutating func applyCalibration(_ calibration: Calibration) throws(ADE9000Error)
}

/// The driver on any bus: `Spidev` on hardware, the byte-level chip model on the simulator board. On the simulator
/// the chip is also the reference source for calibration and its virtual time follows the wall clock.
struct DriverDevice<Bus: SPIDevice>: ADEDevice {
    /// What only the simulator board has: the chip model and its virtual time.
    struct Simulation {
        let chip: ADE9000Simulator
        let time: VirtualTime
        let startWall: Int64
    }

    var driver: ADE9000<Bus>
    var simulation: Simulation?
    var driverStatistics: ADE9000Statistics { driver.statistics }
    var configuration: ADE9000Configuration { driver.configuration }
    var calibration: Calibration { driver.calibration }
    var isSimulated: Bool { simulation != nil }

    mutating func advance(to wallTime: Int64) {
        guard let simulation else { return }
        let target = Duration.milliseconds(max(0, wallTime - simulation.startWall))
        if target > simulation.time.now { simulation.time.advance(to: target) }
    }

    mutating func readSnapshot() throws(ADE9000Error) -> Readings { try driver.readSnapshot() }

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
            var scenario = base
            let angle: Double
            switch step {
            case .unityPowerFactor: angle = 0
            case .laggingPowerFactor(_, let lag): angle = lag
            }
            scenario.segments = nil
            scenario.harmonics = nil
            scenario.phases = Array(
                repeating: Scenario.PhaseLoad(voltage: reference.voltage, current: reference.current, angle: angle),
                count: 3)
            chip.scenario = scenario
            return operatorPrompt(step)
        }
    }

    mutating func applyCalibration(_ calibration: Calibration) throws(ADE9000Error) {
        try driver.applyCalibration(calibration)
    }
}

/// The loop's view of an ADE9000: a snapshot, turned into a sample by the adapter in Firmware.
struct DeviceSampler: ADESampler {
    var device: any ADEDevice
    var spiCRCErrors: Int { device.driverStatistics.crcMismatches }
    var chipResets: Int { device.driverStatistics.chipResets }

    mutating func sample(at time: Int64) throws(SourceError) -> ADESample {
        device.advance(to: time)
        let readings: Readings
        do {
            readings = try device.readSnapshot()
        } catch {
            throw SourceError(source: "ADE9000", message: "\(error)")
        }
        return try ADESample(readings, time: time)
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
                currentPGA: PGAGain(rawValue: fe.currentPGA ?? 1) ?? .x1))
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

    static func loadCalibration(_ board: BoardFile.ADE9000Board, boardPath: String, logger: Logger) throws
        -> Calibration?
    {
        guard let file = board.calibrationFile else { return nil }
        let path = resolve(file, boardPath: boardPath)
        guard FileManager.default.fileExists(atPath: path) else {
            logger.notice(
                "no calibration file yet; using unity gains (run `emeter calibrate … --save board`)",
                metadata: ["file": "\(path)"])
            return nil
        }
        do {
            return try YAMLFile.load(CalibrationFile.self, path: path).calibration
        } catch {
            throw Failure(description: error.description, exitCode: 65)
        }
    }

    static func open(board: BoardFile, boardPath: String, scenarioPath: String? = nil, logger: Logger) throws
        -> any ADEDevice
    {
        guard let ade = board.ade9000 else {
            throw Failure(description: "\(boardPath): the board has no `ade9000:` section", exitCode: 65)
        }
        let configuration = configuration(ade)
        let calibration = try loadCalibration(ade, boardPath: boardPath, logger: logger) ?? .identity
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
                scenario = .balanced(name: "default", current: 5, angle: 10, frontEnd: configuration.frontEnd)
            }
            let time = VirtualTime()
            let chip = ADE9000Simulator(scenario: scenario, time: time, strict: true)
            var driver = ADE9000(
                bus: chip, delay: VirtualDelay(time), configuration: configuration,
                calibration: calibration, logger: logger)
            do {
                try driver.start()
            } catch {
                throw Failure(description: "simulated ADE9000: \(error)", exitCode: 1)
            }
            logger.info("simulated ADE9000 started", metadata: ["scenario": "\(scenario.name)"])
            return DriverDevice(
                driver: driver,
                simulation: .init(chip: chip, time: time, startWall: SystemClock.unixMilliseconds()))
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
            if let gpio = ade.gpio {
                let chip = try GPIODChip(gpio.chip)
                if let reset = gpio.reset {
                    resetLine = try GPIODLine.output(
                        chip: chip, reset.selector, consumer: "emeter ADE9000 RESET", initial: true)
                }
                for (line, consumer) in [(gpio.pm0, "PM0"), (gpio.pm1, "PM1")] {
                    if let line {  // PM1 = PM0 = 0: normal power mode
                        _ = try GPIODLine.output(
                            chip: chip, line.selector, consumer: "emeter ADE9000 \(consumer)", initial: false)
                    }
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
                resetLine: resetLine, irq0: irq0, irq1: irq1, logger: logger)
            try driver.start()
            return DriverDevice(driver: driver, simulation: nil)
        } catch let error as HALError {
            throw Failure(description: "\(error)", exitCode: error.kind == .io ? 74 : 69)
        } catch let error as ADE9000Error {
            throw Failure(description: "ADE9000 on \(spi.device): \(error)", exitCode: 74)
        }
    }
}
