import Simulator
import Testing

@testable import ADE9000

/// A heavy, time-varying load: phase A imports, phase B exports (PV), phase C switches between both; the
/// 45-bit registers of A and B wrap every ~10–20 minutes.
private let profile = Scenario(
    name: "energy-24h", frequency: 50, frontEnd: .specExample,
    phases: [
        .init(voltage: 230, current: 0, angle: 0), .init(voltage: 230, current: 0, angle: 0),
        .init(voltage: 230, current: 0, angle: 0),
    ],
    segments: [
        .init(
            duration: 1800,
            phases: [
                .init(voltage: 232, current: 60, angle: 8), .init(voltage: 231, current: 45, angle: 178),
                .init(voltage: 230, current: 12, angle: 25),
            ]),
        .init(
            duration: 1200.5,
            phases: [
                .init(voltage: 228, current: 35, angle: 20), .init(voltage: 229, current: 50, angle: 175),
                .init(voltage: 227, current: 20, angle: 160),
            ], frequency: 49.98),
        .init(
            duration: 599.5,
            phases: [
                .init(voltage: 225, current: 80, angle: 3), .init(voltage: 226, current: 10, angle: 170),
                .init(voltage: 226, current: 3, angle: -30),
            ]),
    ],
    repeatProfile: true)

@Test func energyOver24HoursMatchesTheTrueEnergyAcrossRollovers() throws {
    var rig = Rig(profile)
    try rig.meter.start()
    let start = rig.seconds
    // The chip accumulates from RUN on; the driver reads once a minute (well inside the ~100 s worst-case
    // wrap time at full scale, spec §5.5).
    for _ in 0..<(24 * 60) {
        rig.meter.delay.delay(.seconds(60))
        try rig.meter.updateEnergy()
    }
    let end = rig.seconds
    let frontEnd = FrontEnd(profile.frontEnd)
    var wrapped = 0
    for phase in Phase.allCases {
        let counts = rig.meter.energyCounts[phase.rawValue]
        let measured = EnergyTotals(counts, frontEnd)
        // Energy is latched at each EGYRDY (1 s), so the chip has accumulated up to the last whole second.
        let lastLatch = start + ((end - start).rounded(.down))
        let truth = profile.trueActiveEnergyWh(phase: phase.rawValue, from: start, to: lastLatch)
        #expect(
            relativeError(measured.activeNetWh, truth) < 0.001,
            "phase \(phase): \(measured.activeNetWh) Wh vs \(truth) Wh")
        if counts.activeImport + counts.activeExport > Int64(1) << 45 { wrapped += 1 }
    }
    #expect(wrapped >= 2)  // A and B went round the 45-bit register several times
    let a = EnergyTotals(rig.meter.energyCounts[0], frontEnd)
    let b = EnergyTotals(rig.meter.energyCounts[1], frontEnd)
    #expect(a.activeImportWh > 200_000 && a.activeExportWh == 0)
    #expect(b.activeExportWh > 150_000 && b.activeImportWh == 0)
    let c = EnergyTotals(rig.meter.energyCounts[2], frontEnd)
    #expect(c.activeImportWh > 0 && c.activeExportWh > 0)
}

@Test func energyRegisterPerSecondMatchesWorkedExample() throws {
    // Spec §5.8: 230 V, 5 A, PF 1, EGY_TIME 7999 → AWATTHR_HI grows by ≈236,756 per EGYRDY. With RD_RST_EN
    // (read-with-reset) each read returns the growth since the previous read.
    var rig = Rig(.balanced(voltage: 230, current: 5))
    try rig.meter.start()
    _ = try rig.meter.waitForInterrupt0(timeout: .seconds(2))
    _ = try rig.meter.read(.activeEnergyHigh(.a))
    _ = try rig.meter.waitForInterrupt0(timeout: .seconds(2))
    let step = Int64(Int32(bitPattern: try rig.meter.read(.activeEnergyHigh(.a))))
    #expect(abs(step - 236_756) <= 1)
    #expect(try rig.meter.read(.activeEnergyHigh(.a)) == 0)  // cleared by the read
}

/// `waitForEnergyReady` (what `emeter ade9000 verify` times its energy by) ends exactly at interval ends, with IRQ0
/// and by polling STATUS0 without it; the energy between two such points is whole intervals of the source's power.
@Test(arguments: [true, false]) func energyReadyWaitsEndOnIntervalBoundaries(irq: Bool) throws {
    var rig = Rig(Scenario.balanced(voltage: 230, current: 5, angle: 0), lines: irq)
    try rig.meter.start()
    try rig.meter.waitForEnergyReady(timeout: .seconds(3))
    let first = rig.seconds
    let before = try rig.meter.readSnapshot()
    for _ in 0..<3 { try rig.meter.waitForEnergyReady(timeout: .seconds(3)) }
    let elapsed = rig.seconds - first
    let after = try rig.meter.readSnapshot()
    // 8000 samples per interval at 8 kSPS: 3 s, within the 1 ms polling step.
    #expect(abs(elapsed - 3) < 0.0011, "elapsed \(elapsed) s")
    let wattHours = after.energy[0].activeNetWh - before.energy[0].activeNetWh
    #expect(relativeError(wattHours, 230 * 5 * 3 / 3600) < 1e-4, "\(wattHours) Wh")
}
