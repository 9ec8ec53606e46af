import HAL
import Logging
import Simulator
import Testing

@testable import ADE9000

// Issue 12, points 1–4 and 7: what only real silicon would have shown, now shown by the independent chip model.
// Each of these failed on the driver before issue 12 (start-up CRC failures with BURST_EN, energy stuck at the
// 45-bit limit, PSM3 after the PM lines were released, ACCMODE rewritten with RUN = 1, no IRQ0 pacing).

private let house = Scenario(
    name: "silicon", frequency: 50, frontEnd: .specExample,
    phases: [
        .init(voltage: 230, current: 5, angle: 0),
        .init(voltage: 231, current: 2.5, angle: 30),
        .init(voltage: 229, current: 1, angle: -15),
    ])

private func quietLogger() -> Logger {
    var logger = Logger(label: "test.silicon")
    logger.logLevel = .critical
    return logger
}

// MARK: 1. CRC with BURST_EN

@Test func defaultConfigurationReadsEveryRegisterWithItsCRCOnTheChipModel() throws {
    var rig = Rig(house)
    try rig.meter.start()
    rig.meter.delay.delay(.seconds(2))
    let r = try rig.meter.readSnapshot()
    #expect(relativeError(r[.a].activePower, 1150) < 1e-5)
    #expect(rig.sim.peek(0x481) & 0x0800 == 0)  // BURST_EN off: the chip appends CRC_SPI
    #expect(rig.meter.statistics.crcMismatches == 0)
    #expect(rig.sim.violations.isEmpty)
}

@Test func burstsSetBurstEnOnlyAroundThemselves() throws {
    var burst = Rig(house, configuration: ADE9000Configuration(burstReads: true))
    var single = Rig(house)
    try burst.meter.start()
    try single.meter.start()
    burst.meter.delay.delay(.seconds(2))
    single.meter.delay.delay(.seconds(2))
    let a = try burst.meter.readSnapshot()
    let b = try single.meter.readSnapshot()
    #expect(a.raw == b.raw)
    #expect(burst.sim.peek(0x481) & 0x0800 == 0)  // cleared again after the burst
    #expect(burst.sim.peek(0x4BF) == 1)  // and WR_LOCK engaged again
    #expect(burst.meter.statistics.crcMismatches == 0)
    #expect(burst.sim.violations.isEmpty)
    // A few snapshots in a row: the CONFIG1 toggling is not mistaken for a configuration change.
    for _ in 0..<5 {
        burst.meter.delay.delay(.seconds(1))
        _ = try burst.meter.readSnapshot()
    }
    #expect(burst.meter.statistics.configurationChanges == 0)
}

@Test func theChipModelDropsTheCRCFromEveryReadWhileBurstEnIsSet() throws {
    let time = VirtualTime()
    let sim = ADE9000Simulator(scenario: house, time: time, strict: false)
    time.advance(by: .milliseconds(100))
    _ = try sim.transaction([.write([0x48, 0x10, 0x08, 0x00])])  // CONFIG1 ← BURST_EN
    let reply = try sim.transaction([.write([0x4A, 0x48]), .read(count: 4)])[0]  // CONFIG5, 16-bit, + 2 bytes
    #expect(reply == [0x00, 0x63, 0x00, 0x00])  // data, then no CRC (0x00 0x63 would carry 0x…)
}

// MARK: 2. Energy never reaches the 45-bit limit

@Test func energyKeepsCountingPastWhereThe45BitRegistersWouldSaturate() throws {
    // 4.6 kW per phase: a free-running 45-bit register reaches 2⁴⁴ after ~38 min.
    let load = Scenario.balanced(current: 20)
    var rig = Rig(load)
    #expect(rig.sim.energyOverflow == .saturate)
    try rig.meter.start()
    let start = rig.seconds
    for _ in 0..<270 {  // 45 min
        rig.meter.delay.delay(.seconds(10))
        try rig.meter.updateEnergy()
    }
    let frontEnd = FrontEnd(load.frontEnd)
    let measured = EnergyTotals(rig.meter.energyCounts[0], frontEnd).activeImportWh
    let truth = load.trueActiveEnergyWh(phase: 0, from: start, to: rig.seconds)
    // Within one EGYRDY interval (1 s of 4.6 kW ≈ 1.3 Wh of 3450 Wh).
    #expect(abs(measured - truth) / truth < 5e-4)
}

@Test func theChipModelSaturatesOrWrapsAsChosen() {
    let time = VirtualTime()
    let saturating = ADE9000Simulator(scenario: house, time: time)
    saturating.preloadEnergyRegister(phase: 0, quantity: 0, to: 1 << 50)
    #expect(saturating.activeEnergyRegister(phase: 0) == (1 << 44) - 1)
    let wrapping = ADE9000Simulator(scenario: house, time: time)
    wrapping.energyOverflow = .wrap
    wrapping.preloadEnergyRegister(phase: 0, quantity: 0, to: (1 << 44) + 5)
    #expect(wrapping.activeEnergyRegister(phase: 0) == -(1 << 44) + 5)
}

// MARK: 3. PM0/PM1 held

@Test func releasedPowerModeLinesPutTheChipInPSM3() {
    // What `emeter run` did before: drive the lines low, then drop them.
    var rig = Rig(house)
    do {
        let pm0 = SimulatedGPIOLine(name: "PM0", level: true, time: rig.time)
        let pm1 = SimulatedGPIOLine(name: "PM1", level: true, time: rig.time)
        rig.sim.connect(pm0: pm0, pm1: pm1)
        try? pm0.set(false)
        try? pm1.set(false)
    }
    #expect(rig.sim.powerMode == .psm3)
    #expect(throws: ADE9000Error.self) { try rig.meter.start() }
    #expect(rig.sim.transactionsWhileAsleep > 0)
}

@Test func theDriverHoldsThePowerModeLines() throws {
    let time = VirtualTime()
    let sim = ADE9000Simulator(scenario: house, time: time)
    var meter: ADE9000<ADE9000Simulator>
    do {
        // The lines start high (pulled up): PSM3 until the driver drives them.
        let pm0 = SimulatedGPIOLine(name: "PM0", level: true, time: time)
        let pm1 = SimulatedGPIOLine(name: "PM1", level: true, time: time)
        sim.connect(pm0: pm0, pm1: pm1)
        var configuration = ADE9000Configuration()
        configuration.frontEnd = FrontEnd(house.frontEnd)
        meter = ADE9000(
            bus: sim, delay: VirtualDelay(time), configuration: configuration, powerModeLines: (pm0, pm1),
            logger: quietLogger())
    }
    try meter.start()
    #expect(sim.powerMode == .psm0)
    meter.delay.delay(.seconds(2))
    let r = try meter.readSnapshot()
    #expect(relativeError(r[.a].activePower, 1150) < 1e-5)
    #expect(sim.transactionsWhileAsleep == 0)
}

// MARK: 4. WR_LOCK

@Test func writeLockIsEngagedAfterConfigurationAndCalibration() throws {
    var rig = Rig(house)
    try rig.meter.start()
    #expect(rig.sim.peek(0x4BF) == 1)
    #expect(rig.meter.isWriteLocked)
    // A stray write (another master, a glitching bus) is ignored by the locked chip.
    _ = try rig.sim.transaction([.write([0x00, 0xB0, 0x00, 0x10, 0x00, 0x00])])  // AVGAIN ← 0x00100000
    #expect(rig.sim.peek(0x00B) == 0)
    #expect(!rig.sim.ignoredWrites.isEmpty)
    // The driver releases the lock for its own writes and engages it again.
    var calibration = Calibration()
    calibration.a.voltageGain = 1_000_000
    try rig.meter.applyCalibration(calibration)
    #expect(rig.sim.peek(0x00B) == 1_000_000)
    #expect(rig.sim.peek(0x4BF) == 1)
    try rig.meter.write(.powerGain(.b), 0x1234)
    #expect(rig.sim.peek(0x02E) == 0x1234)
    #expect(rig.sim.peek(0x4BF) == 1)
    #expect(rig.sim.violations.isEmpty)
}

@Test func reinitialisationStopsTheDSPBeforeRewritingTheConfiguration() throws {
    var rig = Rig(house)
    try rig.meter.start()
    rig.meter.delay.delay(.seconds(1))
    _ = try rig.meter.readSnapshot()
    rig.sim.inject(.corruptRegister(address: 0x4AF, value: 0x0A00))  // CONFIG2 glitched
    #expect(throws: ADE9000Error.configurationChanged(reinitialised: true)) { try rig.meter.readSnapshot() }
    #expect(rig.sim.peek(0x4AF) == 0x0C00)
    #expect(rig.sim.peek(0x480) == 1)
    #expect(rig.sim.peek(0x4BF) == 1)
    #expect(rig.sim.violations.isEmpty)  // no ACCMODE write while RUN = 1
}

// MARK: 7. IRQ0-paced sampling

@Test func samplingFollowsEGYRDYAndFallsBackToPollingWhenIRQ0StopsComing() throws {
    var rig = Rig(house)
    try rig.meter.start()
    var last = rig.seconds
    for _ in 0..<3 {
        _ = try rig.meter.readWhenEnergyReady(timeout: .milliseconds(1500))
        #expect(rig.seconds - last > 0.5 && rig.seconds - last <= 1.01)  // paced by EGYRDY, once a second
        last = rig.seconds
    }
    #expect(rig.meter.statistics.missedInterrupts == 0)
    #expect(!rig.meter.pollingFallback)

    rig.sim.inject(.irq0StuckHigh)  // the interrupt stops coming
    for _ in 0..<ADE9000<ADE9000Simulator>.interruptFailuresBeforePolling {
        let r = try rig.meter.readWhenEnergyReady(timeout: .milliseconds(1500))
        #expect(relativeError(r[.a].activePower, 1150) < 1e-5)  // still sampled, by polling STATUS0
    }
    #expect(rig.meter.pollingFallback)
    #expect(rig.meter.statistics.missedInterrupts == ADE9000<ADE9000Simulator>.interruptFailuresBeforePolling)
    // From now on no wait at all: the loop's timer paces the reads.
    let before = rig.seconds
    let r = try rig.meter.readWhenEnergyReady(timeout: .milliseconds(1500))
    #expect(rig.seconds == before)
    #expect(relativeError(r[.a].voltage, 230) < 1e-5)
    // The energy kept counting through the switch.
    let measured = EnergyTotals(rig.meter.energyCounts[0], FrontEnd(house.frontEnd)).activeImportWh
    #expect(measured > 0)
}

@Test func loopSnapshotReadsOnlyWhatTheLoopPublishes() throws {
    var rig = Rig(house)
    try rig.meter.start()
    rig.meter.delay.delay(.seconds(2))
    let transactions = rig.sim.transactionCount
    let r = try rig.meter.readSnapshot(.loop)
    // STATUS1 twice, 5 registers × 3 phases, xWATTHR_HI × 3.
    #expect(rig.sim.transactionCount - transactions == 20)
    #expect(relativeError(r[.a].activePower, 1150) < 1e-5)
    #expect(relativeError(r[.b].current, 2.5) < 1e-5)
    #expect(abs(r[.b].powerFactor - 0.8660254) < 1e-6)
    #expect(abs(r[.c].frequency - 50) < 1e-4)
}

// MARK: - SPI cost per snapshot (the numbers in the issue-12 note; scripts/bench-ade9000 measures CPU time)

@Test func spiCostPerSnapshot() throws {
    func cost(_ configuration: ADE9000Configuration, _ scope: SnapshotScope) throws -> (Int, Int) {
        var rig = Rig(house, configuration: configuration)
        try rig.meter.start()
        rig.meter.delay.delay(.seconds(2))
        _ = try rig.meter.readSnapshot(scope)
        rig.meter.delay.delay(.seconds(1))
        let (t0, b0) = (rig.sim.transactionCount, rig.sim.bytesTransferred)
        _ = try rig.meter.readSnapshot(scope)
        return (rig.sim.transactionCount - t0, rig.sim.bytesTransferred - b0)
    }
    let loop = try cost(ADE9000Configuration(), .loop)
    let full = try cost(ADE9000Configuration(), .full)
    let burst = try cost(ADE9000Configuration(burstReads: true), .full)
    print(
        "spi-cost loop: \(loop.0) transactions \(loop.1) bytes; full: \(full.0) / \(full.1); burst: \(burst.0) / \(burst.1)"
    )
    #expect(loop == (20, 160))
}
