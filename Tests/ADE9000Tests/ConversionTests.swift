import Testing

@testable import ADE9000

// Spec §5.8 (conversion) and §6.6 (calibration) worked examples, reproduced exactly.

private let board = FrontEnd(voltageDividerRatio: 801, ctRatio: 2500, burdenOhms: 10.2)

@Test func workedExample58ExpectedCodes() {
    #expect(Conversions.expectedVoltageRMSCode(volts: 230, board).rounded() == 21_401_202)
    #expect(Conversions.expectedCurrentRMSCode(amps: 5, board).rounded() == 1_520_453)
    #expect(Conversions.expectedPowerCode(watts: 230 * 5, board).rounded(.towardZero) == 242_438)
    // "≈ 242,438 × 8000 / 8192 = 236,756": nearest integer of the rounded code, floor of the exact one.
    #expect(Conversions.expectedEnergyHigh(powerCode: 242_438, seconds: 1).rounded() == 236_756)
    let exactPower = Conversions.expectedPowerCode(watts: 230 * 5, board)
    #expect(Conversions.expectedEnergyHigh(powerCode: exactPower, seconds: 1).rounded(.down) == 236_756)
    #expect(Conversions.vlevel(nominalVoltage: 230, board) == 2_817_394)
    #expect(Conversions.vlevel(nominalVoltage: 230, board) == 0x002A_FD72)
}

@Test func workedExample58LSBWeights() {
    // 10.747 µV, 3.2885 µA, 4.7435 mW per code; 1.34925 µWh per xWATTHR_HI LSB.
    #expect(abs(Conversions.voltsPerCode(board) * 1e6 - 10.747) < 0.0005)
    #expect(abs(Conversions.ampsPerCode(board) * 1e6 - 3.2885) < 0.00005)
    #expect(abs(Conversions.wattsPerCode(board) * 1e3 - 4.7435) < 0.00005)
    #expect(abs(Conversions.wattHoursPerEnergyHighLSB(board) * 1e6 - 1.34925) < 0.000005)
    // 236,756 HI LSBs = 0.3194 Wh = 1150 W for 1 s.
    #expect(abs(236_756 * Conversions.wattHoursPerEnergyHighLSB(board) - 0.3194) < 0.00005)
    // ADI sketch constants for VTF 0.00125, CTF 0.00408 (spec §5.4): 10.73364 µV, 3.28849 µA, 4.73755 mW.
    let adi = FrontEnd(voltageDividerRatio: 800, ctRatio: 2500, burdenOhms: 10.2)
    #expect(abs(Conversions.voltsPerCode(adi) * 1e6 - 10.73364) < 0.00005)
    #expect(abs(Conversions.ampsPerCode(adi) * 1e6 - 3.28849) < 0.000005)
    #expect(abs(Conversions.wattsPerCode(adi) * 1e3 - 4.73755) < 0.000005)
}

@Test func codesToSIUnits() {
    #expect(abs(Conversions.voltage(rmsCode: 21_401_202, board) - 230) < 1e-4)
    #expect(abs(Conversions.current(rmsCode: 1_520_453, board) - 5) < 1e-5)
    #expect(abs(Conversions.power(code: 242_438, board) - 1150) < 0.01)
    #expect(
        Conversions.powerFactor(code: 116_232_552) > 0.86599 && Conversions.powerFactor(code: 116_232_552) < 0.86601)
    #expect(Conversions.powerFactor(code: Int32(bitPattern: 0xFC00_0000)) == -0.5)
}

@Test(arguments: [(UInt32(0x00A0_0000), 50.0), (UInt32(0x0085_5554), 60.0)])
func periodToFrequency(code: UInt32, hertz: Double) {
    #expect(abs(Conversions.frequency(periodCode: code) - hertz) < 1e-4)
}

@Test func periodCodeFor60Hz() {
    #expect(Conversions.periodCode(frequency: 60) == 0x0085_5554)
}

@Test func angleCodes() {
    #expect(Conversions.angleDegrees(code: 1, lineFrequency: 50) == 0.017578125)
    #expect(Conversions.angleDegrees(code: 1, lineFrequency: 60) == 0.02109375)
    #expect(abs(Conversions.angleDegrees(code: 1707, lineFrequency: 50) - 30) < 0.01)
}

// §6.6 step 1–3.
@Test func workedExample66Gains() throws {
    let currentGain = try CalibrationMath.gain(expected: 1_520_453, measured: 1_495_000)
    #expect(currentGain == 2_285_112)
    #expect(UInt32(bitPattern: currentGain) == 0x0022_DE38)
    let voltageGain = try CalibrationMath.gain(expected: 21_401_202, measured: 21_350_000)
    #expect(voltageGain == 321_883)
    #expect(UInt32(bitPattern: voltageGain) == 0x0004_E95B)
    let powerGain = try CalibrationMath.powerGain(expected: 236_756, measured: 238_100)
    #expect(powerGain == -757_617)
    #expect(UInt32(bitPattern: powerGain) == 0xFFF4_708F)
    // Check: 1,495,000 × (1 + 2,285,112/2²⁷) = 1,520,453.
    #expect((1_495_000 * (1 + Double(currentGain) / 134_217_728)).rounded() == 1_520_453)
}

// §6.6 step 4.
@Test func workedExample66Phase() throws {
    let plus = try CalibrationMath.phaseCalibration(phaseError: 0.2 * .pi / 180, lineFrequency: 50)
    #expect(plus == 6_244_147)
    #expect(UInt32(bitPattern: plus) == 0x005F_4733)
    let minus = try CalibrationMath.phaseCalibration(phaseError: -0.2 * .pi / 180, lineFrequency: 50)
    #expect(minus == -5_712_991)
    #expect(UInt32(bitPattern: minus) == 0xFFA8_D3A1)
    // Measured energies P = 117,662, Q = 205,449 at θ = 60° → φ ≈ +0.2°.
    let phi = try CalibrationMath.phaseError(activeEnergy: 117_662, reactiveEnergy: 205_449, referenceLag: .pi / 3)
    #expect(abs(phi * 180 / .pi - 0.2) < 0.001)
    // The inverse used by the simulator recovers the angle.
    #expect(abs(CalibrationMath.phaseCorrection(forPHCAL: plus, lineFrequency: 50) * 180 / .pi - 0.2) < 1e-6)
    #expect(abs(CalibrationMath.phaseCorrection(forPHCAL: minus, lineFrequency: 50) * 180 / .pi + 0.2) < 1e-6)
}

// §6.6 step 5 and the TRM examples restated in §6.2 and §6.5.
@Test func powerOffsetAndTRMExamples() throws {
    #expect(try CalibrationMath.powerOffset(expectedHigh: 9_470, measuredHigh: 9_445, seconds: 10) == 3)
    #expect(try CalibrationMath.powerOffset(expectedHigh: 12_570, measuredHigh: 11_000, seconds: 10) == 161)
    #expect(try CalibrationMath.powerGain(expected: 595_191, measured: 580_000) == 3_515_347)
    #expect(UInt32(bitPattern: try CalibrationMath.powerGain(expected: 595_191, measured: 580_000)) == 0x0035_A3D3)
    // Expected HI for I_FSP 0.0947, V_FSP 0.311, 1 s: 595,191.
    #expect(Conversions.expectedEnergyHigh(powerCode: 0.0947 * 0.311 * 20_694_066, seconds: 1).rounded() == 595_191)
}

@Test func rmsOffsetActsOnTheSquareAndClampsTo24Bits() {
    #expect(CalibrationMath.rmsOffset(expected: 1000, measured: 1100) == -6)  // (1e6 − 1.21e6)/32768 = −6.4
    #expect(CalibrationMath.rmsOffset(expected: 1_000_000, measured: 1_001_000) == -61_066)  // −61,065.7
    #expect(CalibrationMath.rmsOffset(expected: 1e7, measured: 0) == 8_388_607)
}

@Test func calibrationRejectsUnusableMeasurements() {
    #expect(throws: CalibrationError.invalidMeasurement(quantity: "AIGAIN reference reading", value: 0)) {
        try CalibrationMath.gain(expected: 1_520_453, measured: 0, register: "AIGAIN")
    }
    #expect(throws: CalibrationError.self) { try CalibrationMath.gain(expected: 1e9, measured: 1, register: "AIGAIN") }
}
