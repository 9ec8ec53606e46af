import ADE9000
import HAL
import Logging
import Simulator

/// A driver wired to a simulator, sharing one virtual clock; the fake lines are optional.
struct Rig {
    let time: VirtualTime
    let sim: ADE9000Simulator
    let reset: SimulatedGPIOLine
    let irq0: SimulatedGPIOLine
    let irq1: SimulatedGPIOLine
    var meter: ADE9000<ADE9000Simulator>

    init(
        _ scenario: Scenario, strict: Bool = true, configuration: ADE9000Configuration? = nil, lines: Bool = true,
        calibration: Calibration = .identity
    ) {
        time = VirtualTime()
        sim = ADE9000Simulator(scenario: scenario, time: time, strict: strict)
        reset = SimulatedGPIOLine(name: "RESET", level: true, time: time)
        irq0 = SimulatedGPIOLine(name: "IRQ0", level: true, time: time)
        irq1 = SimulatedGPIOLine(name: "IRQ1", level: true, time: time)
        if lines { sim.connect(reset: reset, irq0: irq0, irq1: irq1) }
        var config = configuration ?? ADE9000Configuration()
        config.frontEnd = FrontEnd(scenario.frontEnd)
        var logger = Logger(label: "test.ade9000")
        logger.logLevel = .critical
        meter = ADE9000(
            bus: sim, delay: VirtualDelay(time), configuration: config, calibration: calibration,
            resetLine: lines ? reset : nil, irq0: lines ? irq0 : nil, irq1: lines ? irq1 : nil, logger: logger)
    }

    /// Seconds of virtual time.
    var seconds: Double {
        let (s, a) = time.now.components
        return Double(s) + Double(a) / 1e18
    }
}

func relativeError(_ measured: Double, _ expected: Double) -> Double { abs(measured - expected) / abs(expected) }

extension FrontEnd {
    /// The driver's view of a simulated board (the chip model has its own type with the same keys).
    init(_ board: Scenario.FrontEnd) {
        self.init(
            voltageDividerRatio: board.voltageDividerRatio, ctRatio: board.ctRatio, burdenOhms: board.burdenOhms,
            voltagePGA: PGAGain(rawValue: board.voltagePGA) ?? .x1,
            currentPGA: PGAGain(rawValue: board.currentPGA) ?? .x1)
    }
}
