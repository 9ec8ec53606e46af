import Testing

@testable import ADE9000

// The energy accumulator is pure: these tests feed it register values directly, no SPI.

/// A reading with the same value in every phase for each quantity.
private func reading(active: Int64, reactive: Int64 = 0, apparent: Int64 = 0) -> EnergyRegisterValues {
    var values = EnergyRegisterValues()
    for phase in Phase.allCases {
        values[phase, .active] = active
        values[phase, .reactive] = reactive
        values[phase, .apparent] = apparent
    }
    return values
}

@Test func accumulatorDeltaIsTakenModulo2To45() {
    let top: Int64 = (1 << 44) - 10
    let bottom: Int64 = -(1 << 44) + 5
    #expect(EnergyAccumulator.delta(from: top, to: bottom) == 15)
    #expect(EnergyAccumulator.delta(from: bottom, to: top) == -15)
    #expect(EnergyAccumulator.delta(from: 100, to: 250) == 150)
    #expect(EnergyAccumulator.delta(from: 250, to: 100) == -150)
    // Out-of-range input (not from the chip) neither traps nor leaves [−2⁴⁴, 2⁴⁴).
    let wild = EnergyAccumulator.delta(from: .min, to: .max)
    #expect(wild >= -(1 << 44) && wild < 1 << 44)
}

@Test func incrementsAreSplitIntoImportAndExportBySign() {
    // Read-with-reset: every reading is the energy since the previous one.
    var energy = EnergyAccumulator()
    energy.add(reading(active: 1000, reactive: 300, apparent: 1100))
    energy.add(reading(active: -400, reactive: 200, apparent: 700))
    energy.add(reading(active: 300, reactive: -50, apparent: 200))
    for counts in energy.counts {
        #expect(counts.activeImport == 1300)
        #expect(counts.activeExport == 400)
        #expect(counts.reactivePositive == 500)
        #expect(counts.reactiveNegative == 50)
        #expect(counts.apparent == 2000)
    }
}

@Test func apparentEnergyCountsByMagnitude() {
    var energy = EnergyAccumulator()
    energy.add(reading(active: 0, apparent: -300))
    #expect(energy.counts[0].apparent == 300)
}

@Test func phasesAccumulateIndependently() {
    var next = EnergyRegisterValues()
    next[.a, .active] = 10
    next[.b, .active] = -20
    next[.c, .reactive] = 7
    var energy = EnergyAccumulator()
    energy.add(next)
    #expect(energy.counts[0].activeImport == 10 && energy.counts[0].activeExport == 0)
    #expect(energy.counts[1].activeExport == 20 && energy.counts[1].activeImport == 0)
    #expect(energy.counts[2].reactivePositive == 7 && energy.counts[2].activeImport == 0)
    #expect(energy.counts[0].reactivePositive == 0 && energy.counts[1].reactivePositive == 0)
}

@Test func countersGoFarBeyondThe45BitRegisters() {
    // 64-bit accumulation: a year of full-scale increments (2⁴⁴ every ~106 s) fits.
    var energy = EnergyAccumulator()
    for _ in 0..<1000 { energy.add(reading(active: (1 << 44) - 1)) }
    #expect(energy.counts[0].activeImport == 1000 * ((1 << 44) - 1))
}

@Test func readWithResetHighWordIsHighTimes8192() {
    var values = EnergyRegisterValues()
    values.set(.a, .active, high: 236_756)
    #expect(values[.a, .active] == 236_756 * 8192)
    values.set(.b, .active, high: 0xFFFF_FFFF)
    #expect(values[.b, .active] == -8192)
}

@Test func rawHighAndLowWordsMakeThe45BitValue() {
    var values = EnergyRegisterValues()
    values.set(.b, .reactive, high: 0x0000_0001, low: 0xFFFF_E005)  // LO keeps bits 12:0 only
    #expect(values[.b, .reactive] == 8192 + 5)
    values.set(.c, .active, high: 0xFFFF_FFFF, low: 0x1FFF)
    #expect(values[.c, .active] == -1)
    #expect(values[.a, .active] == 0)
}
