import Foundation
import HAL
import Simulator
import Testing

@testable import ADE9000

private let house = Scenario(
    name: "test", frequency: 50, frontEnd: .specExample,
    phases: [
        .init(voltage: 230, current: 5, angle: 0),
        .init(voltage: 231, current: 2.5, angle: 30),
        .init(voltage: 229, current: 1, angle: -15),
    ])

@Test func startUpWithResetLineAndReadSnapshot() throws {
    var rig = Rig(house)
    try rig.meter.start()
    #expect(rig.reset.setLevels == [false, true])
    #expect(rig.meter.identity?.partID == 0x0010_0000)
    rig.meter.delay.delay(.seconds(2))
    let r = try rig.meter.readSnapshot()
    #expect(relativeError(r[.a].voltage, 230) < 1e-5)
    #expect(relativeError(r[.a].current, 5) < 1e-5)
    #expect(relativeError(r[.a].activePower, 1150) < 1e-5)
    #expect(abs(r[.a].reactivePower) < 0.01)
    #expect(relativeError(r[.a].apparentPower, 1150) < 1e-5)
    #expect(abs(r[.a].powerFactor - 1) < 1e-6)
    #expect(relativeError(r[.b].activePower, 231 * 2.5 * 0.8660254) < 1e-5)
    #expect(relativeError(r[.b].reactivePower, 231 * 2.5 * 0.5) < 1e-5)
    #expect(abs(r[.b].powerFactor - 0.8660254) < 1e-6)
    #expect(r[.c].reactivePower < 0)  // leading current: capacitive
    #expect(abs(r[.c].currentAngle + 15) < 0.02)
    #expect(abs(r[.b].currentAngle - 30) < 0.02)
    #expect(abs(r[.b].voltageAngle - 120) < 0.02)
    #expect(abs(r[.c].voltageAngle - 240) < 0.02)
    for phase in r.phases { #expect(abs(phase.frequency - 50) < 1e-4) }
    // Neutral = |IA + IB + IC| of the phasors.
    let re: Double = 5.0 + 2.5 * cos(-150.0 * Double.pi / 180) + 1.0 * cos(135.0 * Double.pi / 180)
    let im: Double = 2.5 * sin(-150.0 * Double.pi / 180) + 1.0 * sin(135.0 * Double.pi / 180)
    let neutral = (re * re + im * im).squareRoot()
    #expect(relativeError(r.neutralCurrent, neutral) < 1e-4)
    #expect(rig.sim.violations.isEmpty)
    // Configuration in the chip: the vendor values (spec §4.1) plus ours.
    #expect(rig.sim.peek(0x480) == 1)  // RUN
    #expect(rig.sim.peek(0x4AF) == 0x0C00)  // CONFIG2
    #expect(rig.sim.peek(0x4B2) == 7999)  // EGY_TIME
    #expect(rig.sim.peek(0x40F) == 2_817_394)  // VLEVEL for 230 V on this board
    #expect(rig.sim.peek(0x481) == 0x0002)  // CONFIG1: CF3 = ZX; BURST_EN off (CRC on every read)
    #expect(rig.sim.peek(0x4BF) == 1)  // WR_LOCK engaged
}

@Test func softwareResetWithoutLinesAndIndividualReadsGiveTheSameSnapshot() throws {
    var burst = Rig(house, configuration: ADE9000Configuration(burstReads: true))
    var single = Rig(house, configuration: ADE9000Configuration(burstReads: false), lines: false)
    try burst.meter.start()
    single.meter.delay.delay(.milliseconds(100))  // power-on reset over
    try single.meter.start()
    #expect(single.reset.setLevels.isEmpty)
    #expect(single.sim.resetCount == 2)  // power-on + SWRST
    #expect(single.seconds >= 0.15)  // waited for RSTDONE after SWRST
    single.meter.delay.delay(.seconds(2))
    burst.meter.delay.delay(.seconds(2))
    let a = try burst.meter.readSnapshot()
    let b = try single.meter.readSnapshot()
    #expect(a.raw == b.raw)
    #expect(single.sim.peek(0x481) == 0x0002)  // BURST_EN off
    #expect(single.sim.violations.isEmpty)
}

@Test func resetTimesOutWhenTheChipNeverAnswers() {
    var rig = Rig(house)
    rig.sim.inject(.misoStuckHigh)
    #expect(throws: ADE9000Error.resetTimedOut(after: .seconds(1))) { try rig.meter.start() }
}

@Test func wrongChipIsRejected() {
    var rig = Rig(house)
    rig.sim.version = 0x0040
    // A chip that answers 0x0000 in CONFIG5 is not an ADE90xx: make the bus corrupt nothing but CONFIG5 by
    // writing it before initialise (CONFIG5 is RW).
    #expect(throws: Never.self) {
        try rig.meter.reset()
        try rig.meter.waitForResetDone()
        try rig.meter.write(Register<UInt16>.config5, 0x0000)
    }
    #expect(throws: ADE9000Error.wrongChip(config5: 0x0000, partID: 0x0010_0000)) { try rig.meter.initialise() }
}

@Test func strictModeFlagsA32BitWriteToRUN() throws {
    var rig = Rig(house)
    try rig.meter.start()
    // The Linux driver's RUN = 0xFFFFFFFF with a 32-bit frame (spec §10).
    let runAs32 = Register<UInt32>(uncheckedWidth: 0x480)
    do {
        try rig.meter.write(runAs32, 0xFFFF_FFFF)
        Issue.record("a 32-bit write to RUN must be rejected in strict mode")
    } catch .bus(let error) {
        #expect(error.kind == .invalidArgument)
        #expect(error.subsystem == "sim:ade9000")
        #expect(error.detail == "32-bit write to 16-bit RUN (0x480)")
    }
    #expect(rig.sim.violations == ["32-bit write to 16-bit RUN (0x480)"])
}

@Test func nonStrictModeCommitsAtTheRegistersOwnWidth() throws {
    var rig = Rig(house, strict: false)
    try rig.meter.start()
    try rig.meter.write(Register<UInt32>(uncheckedWidth: 0x480), 0xFFFF_FFFF)
    #expect(rig.sim.peek(0x480) == 0xFFFF)  // first 16 bits committed, extra clocks ignored (spec §1.4)
    #expect(rig.sim.violations.count == 1)
}

@Test func strictModeFlagsOtherAccessViolations() throws {
    var rig = Rig(house)
    try rig.meter.start()
    // 16-bit write to a 32-bit register (AIGAIN).
    #expect(throws: ADE9000Error.self) { try rig.meter.write(Register<UInt16>(uncheckedWidth: 0x000), 1) }
    // Write to a read-only measurement register (`write(.irms(.a), 1)` does not compile: AIRMS is read-only).
    #expect(throws: ADE9000Error.self) { try rig.meter.write(Register<UInt32>(uncheckedWidth: 0x20C), 1) }
    // 6-byte read of a 16-bit register (data + CRC + 2 extra bytes).
    #expect(throws: HALError.self) { try rig.sim.transaction([.write([0x48, 0x08]), .read(count: 6)]) }
    #expect(
        rig.sim.violations == [
            "16-bit write to 32-bit AIGAIN (0x000)", "write to read-only AIRMS (0x20C)",
            "6-byte read of 16-bit RUN (0x480) (expected 2 data bytes, optionally + 2 CRC bytes)",
        ])
}

@Test func simulatorAnswersByteForByteWithCRC() throws {
    let time = VirtualTime()
    let sim = ADE9000Simulator(scenario: house, time: time)
    time.advance(by: .milliseconds(100))
    #expect(try sim.transaction([.write([0x4A, 0x48]), .read(count: 4)]) == [[0x00, 0x63, 0x41, 0xCA]])  // CONFIG5
    #expect(try sim.transaction([.write([0x47, 0x28]), .read(count: 6)]) == [[0x00, 0x10, 0x00, 0x00, 0xC7, 0xA3]])
    // Without CRC (the master raises CS after the data).
    #expect(try sim.transaction([.write([0x4A, 0x48]), .read(count: 2)]) == [[0x00, 0x63]])
    // One full-duplex transfer of the same frame.
    #expect(try sim.transaction([.transfer([0x4A, 0x48, 0, 0, 0, 0])]) == [[0x00, 0x00, 0x00, 0x63, 0x41, 0xCA]])
    // CRC_SPI (0x4A9) holds the CRC of the last read.
    #expect(try sim.transaction([.write([0x4A, 0x98]), .read(count: 2)]) == [[0x41, 0xCA]])
    // RSTDONE is set after power-up; STATUS1 is write-1-to-clear.
    #expect(sim.peek(0x403) == 0x0001_0000)
    _ = try sim.transaction([.write([0x40, 0x30, 0x00, 0x01, 0x00, 0x00])])
    #expect(sim.peek(0x403) == 0)
}

@Test func rstdoneComesAFixedVirtualTimeAfterReset() throws {
    let time = VirtualTime()
    let sim = ADE9000Simulator(scenario: house, time: time)
    #expect(sim.isInReset)
    time.advance(by: .milliseconds(49))
    #expect(sim.isInReset)
    // While in reset MISO floats high.
    #expect(try sim.transaction([.write([0x4A, 0x48]), .read(count: 4)]) == [[0xFF, 0xFF, 0xFF, 0xFF]])
    time.advance(by: .milliseconds(1))
    #expect(!sim.isInReset)
    #expect(sim.peek(0x403) & 0x0001_0000 != 0)
}

@Test func energyReadyRaisesIRQ0AndTheDriverWaitsForIt() throws {
    var rig = Rig(house)
    try rig.meter.start()
    let started = rig.seconds
    let status = try rig.meter.waitForInterrupt0(timeout: .seconds(2))
    #expect(status.contains(.energyReady))
    #expect(rig.seconds - started > 0.9 && rig.seconds - started <= 1.0001)
    #expect(rig.irq0.level)  // released after the clear
    #expect(rig.meter.statistics.missedInterrupts == 0)
    let next = try rig.meter.waitForInterrupt0(timeout: .seconds(2))
    #expect(next.contains(.energyReady))
    #expect(rig.seconds - started > 1.9 && rig.seconds - started <= 2.0001)
}

@Test func sixtyHertzThreeWireConfiguration() throws {
    var scenario = house
    scenario.frequency = 60
    var rig = Rig(scenario, configuration: ADE9000Configuration(wiring: .threePhaseThreeWire, lineFrequency: .hz60))
    try rig.meter.start()
    #expect(rig.sim.peek(0x492) == 0x0190)
    rig.meter.delay.delay(.seconds(1))
    let r = try rig.meter.readSnapshot()
    #expect(abs(r[.a].frequency - 60) < 1e-3)
    // Phase B is computed as VA − VC (3-wire delta, B reference): |VA − VC| = √3 · 230-ish.
    #expect(r[.b].voltage > 390 && r[.b].voltage < 400)
}

@Test func harmonicsRaiseRMSAndTHD() throws {
    var scenario = house
    scenario.harmonics = [.init(order: 3, voltage: 0.1, current: 0.3, angle: 0)]
    var rig = Rig(scenario)
    try rig.meter.start()
    rig.meter.delay.delay(.seconds(1))
    let r = try rig.meter.readSnapshot()
    #expect(relativeError(r[.a].voltage, 230 * (1 + 0.01).squareRoot()) < 1e-5)
    #expect(relativeError(r[.a].current, 5 * (1 + 0.09).squareRoot()) < 1e-5)
    #expect(relativeError(r[.a].activePower, 1150 * (1 + 0.03)) < 1e-5)
    #expect(relativeError(Double(rig.sim.peek(0x218)) / 134_217_728, 0.3) < 1e-6)  // AITHD
}
