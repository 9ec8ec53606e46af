import ADE9000
import HAL
import Logging
import Simulator

/// How a full three-phase snapshot is read from the ADE9000.
public enum SnapshotApproach: String, CaseIterable, Sendable {
    /// `readSnapshot()` with `burstReads: true` (a board's `burst: true`; BURST_EN set around the burst): the 61 words 0x680–0x6BC in one burst, then periods,
    /// angles and the energy accumulators (HI, LO, HI) with CRC, plus STATUS1 before and after.
    case burst
    /// `readSnapshot()` with `burstReads: false`: the same data, every register in its own CRC-checked read.
    case perRegister = "per-register"
    /// ADI's ADE9000API way (the vendor Arduino library): every value register read on its own with
    /// `driver.read(Register…)` — per phase xVRMS, xIRMS, xWATT, xVAR, xVA, xPF, xPERIOD, ANGL_Vx_Ix; NIRMS;
    /// ANGL_VA_VB, ANGL_VA_VC; xWATTHR/xVARHR/xVAHR HI and LO once each — with no reset check and no HI/LO/HI
    /// consistency re-read. Reads carry CRC_SPI here (the driver always requests it; the vendor library reads
    /// 4 bytes without it, so its bytes on the wire are 2 fewer per read).
    case oneAtATime = "one-at-a-time"
    /// `readSnapshot(.loop)` register by register (the default board): only what `emeter run` publishes — RMS,
    /// active power, power factor, period, active energy; no reactive/apparent power or energy, no angles.
    case loopPerRegister = "loop-per-register"
    /// `readSnapshot(.loop)` with `burstReads: true`.
    case loopBurst = "loop-burst"

    public var label: String {
        switch self {
        case .burst: "full, burst (burst: true)"
        case .perRegister: "full, per-register (default)"
        case .oneAtATime: "one register at a time (vendor-style)"
        case .loopPerRegister: "loop scope, per-register (emeter run)"
        case .loopBurst: "loop scope, burst (emeter run, burst: true)"
        }
    }

    public var configuration: ADE9000Configuration {
        ADE9000Configuration(burstReads: self == .burst || self == .loopBurst)
    }
}

/// The values one snapshot yields, whatever the approach; compared across approaches as a sanity check.
public struct SnapshotValues: Sendable {
    public var phases: [PhaseReading]
    public var neutralCurrent: Double
    /// Sum of the 45-bit energy accumulator values read (keeps the vendor-style energy reads observable).
    public var energyDigest: Int64

    public init(phases: [PhaseReading], neutralCurrent: Double, energyDigest: Int64 = 0) {
        self.phases = phases
        self.neutralCurrent = neutralCurrent
        self.energyDigest = energyDigest
    }

    /// Largest relative difference of voltage, current and active power against `other` (per phase).
    public func largestRelativeDifference(to other: SnapshotValues) -> Double {
        var worst = 0.0
        for (a, b) in zip(phases, other.phases) {
            for (x, y) in [(a.voltage, b.voltage), (a.current, b.current), (a.activePower, b.activePower)] {
                let scale = max(abs(x), abs(y), 1e-9)
                worst = max(worst, abs(x - y) / scale)
            }
        }
        return worst
    }
}

/// The vendor-style snapshot: each register in its own transaction (see `SnapshotApproach.oneAtATime`).
/// Reads 45 registers: 8 per phase, NIRMS, two voltage angles, 18 energy halves.
public func readOneRegisterAtATime<Bus: SPIDevice>(_ driver: inout ADE9000<Bus>) throws(ADE9000Error)
    -> SnapshotValues
{
    var raw = [RawPhaseCodes](repeating: RawPhaseCodes(), count: 3)
    for phase in Phase.allCases {
        raw[phase.rawValue].vrms = Int32(bitPattern: try driver.read(.vrms(phase)))
        raw[phase.rawValue].irms = Int32(bitPattern: try driver.read(.irms(phase)))
        raw[phase.rawValue].active = Int32(bitPattern: try driver.read(.activePower(phase)))
        raw[phase.rawValue].reactive = Int32(bitPattern: try driver.read(.reactivePower(phase)))
        raw[phase.rawValue].apparent = Int32(bitPattern: try driver.read(.apparentPower(phase)))
        raw[phase.rawValue].powerFactor = Int32(bitPattern: try driver.read(.powerFactor(phase)))
        raw[phase.rawValue].period = try driver.read(.period(phase))
        raw[phase.rawValue].currentAngle = try driver.read(.voltageToCurrentAngle(phase))
    }
    let neutral = Int32(bitPattern: try driver.read(.neutralIRMS))
    raw[1].voltageAngle = try driver.read(Register<UInt16>.angleVAtoVB)
    raw[2].voltageAngle = try driver.read(Register<UInt16>.angleVAtoVC)
    var energy: Int64 = 0
    for phase in Phase.allCases {
        for quantity in EnergyQuantity.allCases {
            let high = try driver.read(quantity.high(phase))
            let low = try driver.read(quantity.low(phase))
            energy &+= Framing.energyAccumulator(high: high, low: low)
        }
    }
    let frontEnd = driver.configuration.frontEnd
    var phases: [PhaseReading] = []
    phases.reserveCapacity(3)
    for phase in Phase.allCases {
        phases.append(ADE9000<Bus>.convert(raw[phase.rawValue], phase: phase, frontEnd))
    }
    // The vendor library leaves energy accumulation to the caller: the sum only keeps the reads observable.
    return SnapshotValues(
        phases: phases, neutralCurrent: Conversions.current(rmsCode: neutral, frontEnd), energyDigest: energy)
}

/// A driver started against the simulator through a counting (and replaying) SPI device, sharing one virtual
/// clock. A fresh rig per approach, so every approach starts from the same chip state.
public struct SnapshotRig {
    public typealias Bus = CountingSPIDevice<ADE9000Simulator>

    public let approach: SnapshotApproach
    public let time: VirtualTime
    public let simulator: ADE9000Simulator
    public var driver: ADE9000<Bus>

    /// The default load: 230 V, 10 A at 30° lagging on every phase, 50 Hz.
    public static let defaultScenario = Scenario.balanced(name: "bench", voltage: 230, current: 10, angle: 30)

    /// Creates the simulator and driver and runs `start()` (reset, identification, configuration, RUN).
    /// - Throws: `BenchError` when the driver fails to start.
    public init(_ approach: SnapshotApproach, scenario: Scenario = SnapshotRig.defaultScenario) throws(BenchError) {
        self.approach = approach
        time = VirtualTime()
        simulator = ADE9000Simulator(scenario: scenario, time: time, strict: true)
        var configuration = approach.configuration
        // The chip model has its own front-end type (it imports nothing from the driver); same values.
        let board = scenario.frontEnd
        configuration.frontEnd = FrontEnd(
            voltageDividerRatio: board.voltageDividerRatio, ctRatio: board.ctRatio, burdenOhms: board.burdenOhms,
            voltagePGA: PGAGain(rawValue: board.voltagePGA) ?? .x1,
            currentPGA: PGAGain(rawValue: board.currentPGA) ?? .x1)
        var logger = Logger(label: "bench.ade9000")
        logger.logLevel = .critical
        driver = ADE9000(
            bus: CountingSPIDevice(simulator), delay: VirtualDelay(time), configuration: configuration,
            logger: logger)
        do {
            try driver.start()
        } catch {
            throw BenchError("ADE9000 driver (\(approach.rawValue)) failed to start on the simulator: \(error)")
        }
        if !simulator.violations.isEmpty {
            throw BenchError("simulator reported protocol violations during start: \(simulator.violations)")
        }
    }

    /// One snapshot by this rig's approach.
    public mutating func snapshot() throws(ADE9000Error) -> SnapshotValues {
        switch approach {
        case .burst, .perRegister:
            let readings = try driver.readSnapshot()
            return SnapshotValues(phases: readings.phases, neutralCurrent: readings.neutralCurrent)
        case .loopPerRegister, .loopBurst:
            let readings = try driver.readSnapshot(.loop)
            return SnapshotValues(phases: readings.phases, neutralCurrent: readings.neutralCurrent)
        case .oneAtATime:
            return try readOneRegisterAtATime(&driver)
        }
    }

    /// Takes `count` live snapshots against the simulator, one virtual second apart, and returns the SPI traffic
    /// of one snapshot (checked to be the same for each) and the last snapshot's values.
    /// - Throws: `BenchError` when a snapshot fails or the traffic differs between snapshots.
    public mutating func measureTraffic(snapshots count: Int = 5) throws(BenchError) -> (
        traffic: SPITraffic, values: SnapshotValues
    ) {
        var perSnapshot: SPITraffic?
        var values: SnapshotValues?
        for index in 0..<max(1, count) {
            time.advance(by: .seconds(1))
            let before = driver.bus.traffic
            do {
                values = try snapshot()
            } catch {
                throw BenchError("\(approach.rawValue) snapshot \(index) failed: \(error)")
            }
            let traffic = driver.bus.traffic - before
            if let perSnapshot, perSnapshot != traffic {
                throw BenchError(
                    "\(approach.rawValue): snapshot \(index) used \(traffic), earlier ones \(perSnapshot)")
            }
            perSnapshot = traffic
        }
        guard let perSnapshot, let values else { throw BenchError("\(approach.rawValue): no snapshot taken") }
        if !simulator.violations.isEmpty {
            throw BenchError("simulator reported protocol violations: \(simulator.violations)")
        }
        return (perSnapshot, values)
    }

    /// Records one live snapshot and switches the SPI device to replaying it, so later snapshots cost only the
    /// driver's own work (command words, CRC checks, decoding, conversion) and no simulator time.
    /// - Throws: `BenchError` when the recorded snapshot fails or a replayed one does not follow the recording.
    public mutating func startReplay() throws(BenchError) {
        time.advance(by: .seconds(1))
        driver.bus.clearRecording()
        driver.bus.mode = .recording
        do {
            _ = try snapshot()
        } catch {
            throw BenchError("\(approach.rawValue): recording snapshot failed: \(error)")
        }
        driver.bus.mode = .replaying
        do {
            for _ in 0..<3 { _ = try snapshot() }
        } catch {
            throw BenchError("\(approach.rawValue): replayed snapshot failed: \(error)")
        }
    }
}
