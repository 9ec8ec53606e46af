import HAL
import Logging
import Simulator
import Testing

@testable import ADE9000

private let load = Scenario.balanced(voltage: 230, current: 5, angle: 20)

@Test func corruptedCRCIsRetriedAndTheReadingIsStillRight() throws {
    var rig = Rig(load)
    try rig.meter.start()
    rig.meter.delay.delay(.seconds(1))
    rig.sim.inject(.corruptCRC(reads: 2))
    let r = try rig.meter.readSnapshot()
    #expect(rig.meter.statistics.crcMismatches == 2)
    #expect(rig.meter.statistics.crcRecoveries >= 1)
    #expect(relativeError(r[.a].voltage, 230) < 1e-5)
}

@Test func persistentCRCCorruptionIsAnErrorNotAReading() throws {
    var rig = Rig(load)
    try rig.meter.start()
    rig.meter.delay.delay(.seconds(1))
    rig.sim.inject(.corruptCRC(reads: 1000))
    #expect(throws: ADE9000Error.self) { try rig.meter.readSnapshot() }
    #expect(rig.meter.statistics.crcFailures == 1)
    rig.sim.clearFaults()
    let r = try rig.meter.readSnapshot()
    #expect(relativeError(r[.b].current, 5) < 1e-5)
}

@Test func misoStuckHighIsAnErrorNotAReading() throws {
    for burst in [true, false] {
        var rig = Rig(load, configuration: ADE9000Configuration(burstReads: burst))
        try rig.meter.start()
        rig.meter.delay.delay(.seconds(1))
        rig.sim.inject(.misoStuckHigh)
        do {
            _ = try rig.meter.readSnapshot()
            Issue.record("a snapshot with MISO stuck high must fail")
        } catch .crcMismatch(let register, let received, _, _) {
            #expect(register == "STATUS1")
            #expect(received == 0xFFFF)
        }
    }
}

@Test func burstWordsWithoutCRCArePlausibilityChecked() {
    // What a burst returns with MISO stuck high: every word 0xFFFFFFFF.
    let stuck = RawPhaseCodes(vrms: -1, irms: -1, active: -1, reactive: -1, apparent: -1, powerFactor: -1)
    #expect(throws: ADE9000Error.implausibleReading(register: "AIRMS", value: -1, reason: "RMS cannot be negative")) {
        try ADE9000<ADE9000Simulator>.checkPlausible([stuck, stuck, stuck], neutral: -1)
    }
    let tooMuchPower = RawPhaseCodes(
        vrms: 100, irms: 100, active: 50_000, reactive: 0, apparent: 10_000, powerFactor: 0)
    #expect(throws: ADE9000Error.self) {
        try ADE9000<ADE9000Simulator>.checkPlausible([tooMuchPower, .init(), .init()], neutral: 0)
    }
    let fine = RawPhaseCodes(
        vrms: 21_401_202, irms: 1_520_453, active: 242_438, reactive: 0, apparent: 242_438, powerFactor: 134_217_728)
    #expect(throws: Never.self) { try ADE9000<ADE9000Simulator>.checkPlausible([fine, fine, fine], neutral: 0) }
}

@Test func spontaneousChipResetIsDetectedLoggedAndRecovered() throws {
    var calibration = Calibration()
    calibration.a.voltageGain = 1_000_000
    var rig = Rig(load, calibration: calibration)
    try rig.meter.start()
    rig.meter.delay.delay(.seconds(10))
    _ = try rig.meter.readSnapshot()
    let before = rig.meter.energyCounts
    rig.sim.inject(.chipReset)
    // During the reset the chip does not answer: a clear error, no reading.
    #expect(throws: ADE9000Error.self) { try rig.meter.readSnapshot() }
    rig.meter.delay.delay(.seconds(1))
    #expect(throws: ADE9000Error.chipResetDetected(reinitialised: true)) { try rig.meter.readSnapshot() }
    #expect(rig.meter.statistics.chipResets == 1)
    #expect(rig.meter.statistics.reinitialisations == 1)
    // Configuration and calibration are back in the chip.
    #expect(rig.sim.peek(0x480) == 1)
    #expect(rig.sim.peek(0x00B) == 1_000_000)
    rig.meter.delay.delay(.seconds(5))
    let after = try rig.meter.readSnapshot()
    #expect(relativeError(after[.b].voltage, 230) < 1e-5)
    // Energy keeps counting from where it was (the chip's registers restarted at zero).
    #expect(rig.meter.energyCounts[1].activeImport > before[1].activeImport)
    let gained =
        EnergyTotals(rig.meter.energyCounts[1], FrontEnd(load.frontEnd)).activeImportWh
        - EnergyTotals(before[1], FrontEnd(load.frontEnd)).activeImportWh
    let expected = 230 * 5 * 0.9396926 * 5 / 3600  // ≈5 s of accumulation after the re-initialisation
    #expect(gained > 0.9 * expected && gained < 1.25 * expected)
}

@Test func irqStuckHighFallsBackToPollingAndIsCounted() throws {
    var rig = Rig(load)
    try rig.meter.start()
    rig.sim.inject(.irq0StuckHigh)
    let status = try rig.meter.waitForInterrupt0(timeout: .milliseconds(1500))
    #expect(status.contains(.energyReady))
    #expect(rig.meter.statistics.missedInterrupts == 1)
}

@Test func irqStuckLowIsAnError() throws {
    var rig = Rig(load)
    try rig.meter.start()
    rig.sim.inject(.irq0StuckLow)
    // Whatever was pending is taken once; then the line stays low with nothing pending.
    var caught: ADE9000Error?
    for _ in 0..<2 {
        do {
            _ = try rig.meter.waitForInterrupt0(timeout: .seconds(2))
        } catch {
            caught = error
            break
        }
    }
    #expect(caught == .interruptLineStuck(line: "IRQ0", status: 0))
}

@Test func interruptTimeoutWithoutEnergyReadyIsAnError() throws {
    var rig = Rig(load)
    try rig.meter.start()
    #expect(throws: ADE9000Error.interruptTimedOut(line: "IRQ0", after: .milliseconds(200), status: 0)) {
        try rig.meter.waitForInterrupt0(timeout: .milliseconds(200))
    }
}

@Test func busErrorsAndGPIOErrorsAreTyped() throws {
    var rig = Rig(load)
    try rig.meter.start()
    let failure = HALError(
        .io, subsystem: "sim:ade9000", device: "ade9000", operation: "SPI_IOC_MESSAGE(2)", detail: "injected")
    rig.sim.inject(.busError(failure, transactions: 1))
    #expect(throws: ADE9000Error.bus(failure)) { try rig.meter.readSnapshot() }
    rig.irq0.nextFailure = HALError(.unavailable, subsystem: "gpiod", device: "gpiochip0 line 17", operation: "")
    #expect(
        throws: ADE9000Error.gpio(
            HALError(.unavailable, subsystem: "gpiod", device: "gpiochip0 line 17", operation: "gpiod_line_event_wait"))
    ) {
        try rig.meter.waitForInterrupt0(timeout: .seconds(1))
    }
}

@Test func applyCalibrationReleasesTheWriteLockFirst() throws {
    var rig = Rig(load)
    try rig.meter.start()
    // Locked by the driver after start, and locked again by anyone: the driver unlocks before writing.
    _ = try rig.sim.transaction([.write([0x4B, 0xF0, 0x3C, 0x64])])
    var calibration = Calibration()
    calibration.c.currentGain = 12345
    try rig.meter.applyCalibration(calibration)
    #expect(rig.meter.calibration == calibration)
    #expect(rig.sim.peek(0x040) == 12345)
    #expect(rig.sim.peek(0x4BF) == 1)
}

@Test func configurationChangedBehindTheDriverIsDetectedThroughCRCRSLT() throws {
    var rig = Rig(load)
    try rig.meter.start()
    let reference = try #require(rig.meter.configurationCRC)
    rig.meter.delay.delay(.seconds(2))
    _ = try rig.meter.readSnapshot()  // CRC_CHG clear: nothing happens
    // A glitch sets the phase-A voltage gain to +10 %.
    rig.sim.inject(.corruptRegister(address: 0x00B, value: 13_421_773))
    #expect(throws: ADE9000Error.configurationChanged(reinitialised: true)) { try rig.meter.readSnapshot() }
    #expect(rig.meter.statistics.configurationChanges == 1)
    #expect(rig.sim.peek(0x00B) == 0)  // restored
    #expect(rig.meter.configurationCRC == reference)
    rig.meter.delay.delay(.seconds(1))
    let r = try rig.meter.readSnapshot()
    #expect(relativeError(r[.a].voltage, 230) < 1e-5)
}

@Test func scheduledResetInTheMiddleOfARunIsRecovered() throws {
    var rig = Rig(load)
    try rig.meter.start()
    rig.sim.schedule(.chipReset, at: .seconds(30))
    var resets = 0
    var readings = 0
    for _ in 0..<60 {
        rig.meter.delay.delay(.seconds(1))
        do {
            let r = try rig.meter.readSnapshot()
            #expect(relativeError(r[.a].current, 5) < 1e-5)  // every reading passed on is right
            readings += 1
        } catch .chipResetDetected(let reinitialised) {
            #expect(reinitialised)
            resets += 1
        }
    }
    #expect(resets == 1)
    #expect(readings == 59)
    #expect(rig.sim.resetCount == 3)  // power-on, RESET line, scheduled
}

@Test func registerDumpAndNamedAccess() throws {
    var rig = Rig(load)
    try rig.meter.start()
    rig.meter.delay.delay(.seconds(1))
    let dump = try rig.meter.dumpRegisters()
    #expect(dump.count == RegisterMap.all.count)
    let values = Dictionary(uniqueKeysWithValues: dump.map { ($0.info.name, $0.value) })
    #expect(values["CONFIG5"] == 0x0063)
    #expect(values["PART_ID"] == 0x0010_0000)
    #expect(values["RUN"] == 1)
    #expect(values["AIRMS"] == values["AIRMS_2"])  // read as a one-word burst
    #expect(values["BVRMS"] == values["BVRMS_1"])
    let gain = try #require(RegisterMap.info(named: "cvgain"))
    try rig.meter.write(gain, 0x0010_0000)
    #expect(try rig.meter.read(gain) == 0x0010_0000)
    #expect(throws: ADE9000Error.invalidConfiguration("AIRMS is read-only")) {
        try rig.meter.write(try #require(RegisterMap.info(named: "AIRMS")), 1)
    }
    #expect(throws: ADE9000Error.self) { try rig.meter.write(try #require(RegisterMap.info(named: "RUN")), 0x1_0000) }
    #expect(rig.sim.violations.isEmpty)
}

@Test func frontEndFromDividerResistors() {
    let board = FrontEnd(dividerTopOhms: 800_000, dividerBottomOhms: 1000, ctRatio: 2500, burdenOhms: 10.2)
    #expect(board == .specExample)
    #expect(board.validationError() == nil)
    #expect(FrontEnd(voltageDividerRatio: 0.5, ctRatio: 2500, burdenOhms: 10).validationError() != nil)
}

@Test func staleEdgesFromPollingDoNotConfuseTheInterruptWait() throws {
    var rig = Rig(load)
    try rig.meter.start()
    // Poll for a minute without waiting on IRQ0: edges pile up (bounded like the kernel's buffer).
    for _ in 0..<60 {
        rig.meter.delay.delay(.seconds(1))
        _ = try rig.meter.takeStatus0()
    }
    #expect(rig.irq0.pendingEdges.count <= 16)
    let before = rig.seconds
    let status = try rig.meter.waitForInterrupt0(timeout: .seconds(2))
    #expect(status.contains(.energyReady))
    #expect(rig.seconds - before > 0 && rig.seconds - before <= 1.0001)
    #expect(rig.meter.statistics.missedInterrupts == 0)
}

/// Passes transactions to the simulator; after `advanceAt` transactions, 100 ms of virtual time pass at once
/// (a slow host in the middle of a snapshot).
private struct StallingBus: SPIDevice {
    let sim: ADE9000Simulator
    var count = 0
    var advanceAt: Int?
    mutating func transaction(_ operations: [SPIOperation]) throws(HALError) -> [[UInt8]] {
        count += 1
        if count == advanceAt { sim.time.advance(by: .milliseconds(100)) }
        return try sim.transaction(operations)
    }
}

@Test func aResetCompletingDuringASnapshotVoidsItAndCountsNoEnergy() throws {
    let time = VirtualTime()
    let sim = ADE9000Simulator(scenario: load, time: time)
    var logger = Logger(label: "test.stalling")
    logger.logLevel = .critical
    var meter = ADE9000(bus: StallingBus(sim: sim), delay: VirtualDelay(time), logger: logger)
    try meter.start()
    meter.delay.delay(.seconds(10))
    _ = try meter.readSnapshot()
    let before = meter.energyCounts
    meter.delay.delay(.seconds(1))
    // The chip resets 1 ms from now; the host stalls 100 ms after the snapshot's first few reads, so the reset
    // completes (RSTDONE, registers at zero) while the snapshot is being read.
    sim.schedule(.chipReset, at: time.now + .milliseconds(1))
    meter.bus.advanceAt = meter.bus.count + 3
    #expect(throws: ADE9000Error.chipResetDetected(reinitialised: true)) { try meter.readSnapshot() }
    #expect(meter.energyCounts == before)  // nothing committed from the zeroed registers
    #expect(meter.energyCounts.allSatisfy { $0.activeExport == 0 })
    meter.delay.delay(.seconds(2))
    let r = try meter.readSnapshot()
    #expect(relativeError(r[.c].voltage, 230) < 1e-5)
    #expect(meter.energyCounts.allSatisfy { $0.activeExport == 0 })
}

@Test func faultSpecsParse() throws {
    #expect(try ADE9000Simulator.Fault.parse("crc:3") == (.corruptCRC(reads: 3), nil))
    let reset = try ADE9000Simulator.Fault.parse("reset@300")
    #expect(reset.fault == .chipReset && reset.at == .seconds(300))
    #expect(try ADE9000Simulator.Fault.parse("miso-stuck@1.5").at == .milliseconds(1500))
    #expect(try ADE9000Simulator.Fault.parse("irq0-stuck-high").fault == .irq0StuckHigh)
    #expect(throws: FaultSpecError.self) { try ADE9000Simulator.Fault.parse("melt") }
    #expect(throws: FaultSpecError.self) { try ADE9000Simulator.Fault.parse("crc:0") }
    #expect(throws: FaultSpecError.self) { try ADE9000Simulator.Fault.parse("reset@soon") }
}
