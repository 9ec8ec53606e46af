import HAL
import Simulator
import TestSupport
import Testing

@testable import ADE9000

// Golden bytes restated from spec §1.2 and §1.6 (not computed with the driver's own functions).

private struct NoDelay: Delay {
    mutating func delay(_ duration: Duration) {}
}

private func meter(_ steps: [ScriptedSPIDevice.Step], retries: Int = 2) -> ADE9000<ScriptedSPIDevice> {
    ADE9000(bus: ScriptedSPIDevice(steps), delay: NoDelay(), configuration: .init(crcRetries: retries))
}

@Test func crcVectorsMatchCCITTFalse() {
    #expect(CRC16CCITTFalse.checksum(Array("123456789".utf8)) == 0x29B1)
    #expect(CRC16CCITTFalse.checksum([0x00, 0x80]) == 0x8C87)
    #expect(CRC16CCITTFalse.checksum([0x00, 0x63]) == 0x41CA)
    #expect(CRC16CCITTFalse.checksum([0x00, 0x00, 0x00, 0x00]) == 0x84C0)
}

@Test func readsPhaseAIRMSAsBigEndian32BitsWithCRC() throws {
    var m = meter([
        .expect([.write([0x20, 0xC8]), .read(count: 6)], reply: [[0x00, 0x12, 0x34, 0x56, 0x5A, 0xA1]])
    ])
    #expect(try m.read(.irms(.a)) == 0x0012_3456)
    #expect(m.bus.isDone)
    #expect(m.statistics.crcMismatches == 0)
}

@Test func reads16BitVersionWithTwoDataBytesAndCRC() throws {
    var m = meter([.expect([.write([0x4F, 0xE8]), .read(count: 4)], reply: [[0x00, 0x40, 0x55, 0xCB]])])
    #expect(try m.read(Register<UInt16>.version) == 0x0040)
    #expect(m.bus.isDone)
}

@Test func writesRUNAsSixteenBitsAndCONFIG0AsThirtyTwo() throws {
    var m = meter([
        .expect([.write([0x48, 0x00, 0x00, 0x01])]),
        .expect([.write([0x06, 0x00, 0x00, 0x00, 0x00, 0x00])]),
        .expect([.write([0x40, 0x30, 0x00, 0x01, 0x00, 0x00])]),  // STATUS1 (0x403) ← RSTDONE
    ])
    try m.write(.run, 0x0001)
    try m.write(.config0, 0)
    try m.write(.status1, 0x0001_0000)
    #expect(m.bus.isDone)
}

@Test func crcMismatchIsRetriedAndCounted() throws {
    let read: [SPIOperation] = [.write([0x4A, 0x48]), .read(count: 4)]  // CONFIG5 (0x4A4)
    var m = meter([
        .expect(read, reply: [[0x00, 0x63, 0x41, 0xCB]]),  // CRC off by one bit
        .expect(read, reply: [[0x00, 0x63, 0x41, 0xCA]]),
    ])
    #expect(try m.read(Register<UInt16>.config5) == 0x0063)
    #expect(m.statistics.crcMismatches == 1)
    #expect(m.statistics.crcRecoveries == 1)
    #expect(m.bus.isDone)
}

@Test func persistentCRCMismatchThrowsAfterRetries() {
    let read: [SPIOperation] = [.write([0x47, 0x28]), .read(count: 6)]  // PART_ID (0x472)
    let bad: [[UInt8]] = [[0x00, 0x10, 0x00, 0x00, 0x00, 0x00]]  // correct CRC would be C7 A3
    var m = meter([.expect(read, reply: bad), .expect(read, reply: bad), .expect(read, reply: bad)])
    #expect(throws: ADE9000Error.crcMismatch(register: "PART_ID", received: 0x0000, computed: 0xC7A3, attempts: 3)) {
        try m.read(.partID)
    }
    #expect(m.statistics.crcMismatches == 3)
    #expect(m.statistics.crcFailures == 1)
    #expect(m.bus.isDone)
}

@Test func misoStuckHighFailsTheCRC() {
    // 0xFF… with CRC 0xFFFF: CRC-16/CCITT-FALSE of FF FF FF FF is 0x1D0F, so it cannot pass as data.
    let read: [SPIOperation] = [.write([0x40, 0x38]), .read(count: 6)]
    var m = meter([.expect(read, reply: [[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]])], retries: 0)
    #expect(throws: ADE9000Error.crcMismatch(register: "STATUS1", received: 0xFFFF, computed: 0x1D0F, attempts: 1)) {
        try m.read(.status1)
    }
}

@Test func burstReadsTheByPhaseBlockInOneTransaction() throws {
    var words: [UInt8] = []
    for index in 0..<61 { words += [0x00, 0x00, 0x01, UInt8(index)] }
    // CONFIG1 ← BURST_EN just for the burst, then back (while BURST_EN = 1 no read carries a CRC).
    var m = meter([
        .expect([.write([0x48, 0x10, 0x08, 0x00])]),
        .expect([.write([0x68, 0x08]), .read(count: 244)], reply: [words]),
        .expect([.write([0x48, 0x10, 0x00, 0x00])]),
    ])
    let result = try m.readBurst(from: RegisterAddress(rawValue: 0x680), count: 61)
    #expect(result.count == 61)
    #expect(result[0] == 0x0000_0100)
    #expect(result[60] == 0x0000_013C)
    #expect(m.bus.isDone)
}

@Test func busErrorsSurfaceAsTypedDriverErrors() {
    let failure = HALError(.timedOut, subsystem: "spidev", device: "/dev/spidev0.0", operation: "SPI_IOC_MESSAGE(2)")
    var m = meter([.expect([.write([0x40, 0x38]), .read(count: 6)], failWith: failure)])
    #expect(throws: ADE9000Error.bus(failure)) { try m.takeStatus1() }
}

@Test func takeStatus1ClearsExactlyTheBitsSeen() throws {
    var m = meter([
        .expect([.write([0x40, 0x38]), .read(count: 6)], reply: [[0x00, 0x01, 0x00, 0x00, 0xB3, 0xF0]]),
        .expect([.write([0x40, 0x30, 0x00, 0x01, 0x00, 0x00])]),
    ])
    #expect(try m.takeStatus1() == .resetDone)
    #expect(m.bus.isDone)
}

@Test(arguments: Phase.allCases)
func perPhaseRegistersUseA0x20Stride(phase: Phase) {
    let k = UInt16(phase.rawValue)
    #expect(Register.irms(phase).address.rawValue == 0x20C + 0x20 * k)
    #expect(Register.vrms(phase).address.rawValue == 0x20D + 0x20 * k)
    #expect(Register.activePower(phase).address.rawValue == 0x210 + 0x20 * k)
    #expect(Register.powerFactor(phase).address.rawValue == 0x216 + 0x20 * k)
    #expect(Register.currentGain(phase).address.rawValue == 0x000 + 0x20 * k)
    #expect(Register.voltageGain(phase).address.rawValue == 0x00B + 0x20 * k)
    #expect(Register.powerGain(phase).address.rawValue == 0x00E + 0x20 * k)
    #expect(Register.phaseCalibration(phase).address.rawValue == 0x006 + 0x20 * k)
    // Energy blocks use a 0x3C stride: AWATTHR_HI 0x2E7, BWATTHR_HI 0x323, CWATTHR_HI 0x35F.
    #expect(Register.activeEnergyHigh(phase).address.rawValue == [0x2E7, 0x323, 0x35F][phase.rawValue])
    #expect(Register.reactiveEnergyLow(phase).address.rawValue == [0x2F0, 0x32C, 0x368][phase.rawValue])
}

@Test func registerWidthsFollowTheDatasheetRule() {
    #expect(RegisterAddress(rawValue: 0x480).bitWidth == 16)  // RUN
    #expect(RegisterAddress(rawValue: 0x4FE).bitWidth == 16)  // VERSION (inclusive, unlike the Linux driver)
    #expect(RegisterAddress(rawValue: 0x47F).bitWidth == 32)
    #expect(RegisterAddress(rawValue: 0x4FF).bitWidth == 32)
    #expect(RegisterMap.info(named: "RUN")?.bitWidth == 16)
    #expect(RegisterMap.info(named: "AIRMS")?.address.rawValue == 0x20C)
    #expect(RegisterMap.info(named: "CIRMS_2")?.address.rawValue == 0x6A8)
    #expect(RegisterMap.info(named: "AVRMSONE_1")?.address.rawValue == 0x632)
}

@Test func burstAliasesMirrorTheMeasurementRegisters() {
    #expect(burstAliasSource(RegisterAddress(rawValue: 0x607))?.rawValue == 0x20C)  // AIRMS_1
    #expect(burstAliasSource(RegisterAddress(rawValue: 0x682))?.rawValue == 0x20C)  // AIRMS_2
    #expect(burstAliasSource(RegisterAddress(rawValue: 0x695))?.rawValue == 0x22C)  // BIRMS_2
    #expect(burstAliasSource(RegisterAddress(rawValue: 0x6AA))?.rawValue == 0x250)  // CWATT_2
    #expect(burstAliasSource(RegisterAddress(rawValue: 0x6BA))?.rawValue == 0x266)  // NIRMS_2
    #expect(burstAliasSource(RegisterAddress(rawValue: 0x63C))?.rawValue == 0x268)  // NIRMS1012_1
    #expect(burstAliasSource(RegisterAddress(rawValue: 0x6BD)) == nil)
}

@Test func energyAccumulatorCombinesHighAndThirteenLowBits() {
    #expect(Framing.energyAccumulator(high: 0x0000_0001, low: 0xFFFF_E005) == 8192 + 5)
    #expect(Framing.energyAccumulator(high: 0xFFFF_FFFF, low: 0x1FFF) == -1)
    // Wrap from the top of the 45-bit range to the bottom is a small positive step.
    let top: Int64 = (1 << 44) - 10
    let bottom: Int64 = -(1 << 44) + 5
    #expect(ADE9000<ScriptedSPIDevice>.accumulatorDelta(from: top, to: bottom) == 15)
    #expect(ADE9000<ScriptedSPIDevice>.accumulatorDelta(from: bottom, to: top) == -15)
}

@Test func bitFieldsOfConfigurationRegisters() {
    #expect(AccumulationMode(wiring: .threePhaseFourWire, frequency: .hz60).rawValue == 0x0100)
    #expect(AccumulationMode(wiring: .threePhaseThreeWire, frequency: .hz50).rawValue == 0x0090)
    #expect(PGAGainRegister(current: .x4, voltage: .x2).rawValue == 0x15AA)
    #expect(PGAGainRegister(current: .x4, voltage: .x4).rawValue == 0x2AAA)
    var config1 = Config1()
    config1.burstEnabled = true
    config1.cf3IsZeroCrossing = true
    #expect(config1.rawValue == 0x0802)
    // The configuration never sets BURST_EN (CRC on every read); read-with-reset energy (RD_RST_EN, spec §5.5).
    #expect(ADE9000Configuration().config1.rawValue == 0x0002)
    #expect(ADE9000Configuration(burstReads: true).config1.rawValue == 0x0002)
    #expect(ADE9000Configuration().energyPowerConfig.rawValue == 0xE021)
}

@Test func replyChecksAgreeForEveryWidth() {
    // The golden replies above (AIRMS, VERSION), and a reply of 8 data bytes read as 8 and as 4.
    #expect(Framing.checkReply([0x00, 0x12, 0x34, 0x56, 0x5A, 0xA1], as: UInt32.self) == .valid(0x0012_3456))
    #expect(Framing.checkReply([0x00, 0x40, 0x55, 0xCB], as: UInt16.self) == .valid(0x0040))
    #expect(Framing.checkReply([0x00, 0x40, 0x55], as: UInt16.self) == .truncated(count: 3))
    #expect(
        Framing.checkReply([0x00, 0x40, 0x55, 0xCA], as: UInt16.self)
            == .crcMismatch(received: 0x55CA, computed: 0x55CB))
    let data: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]
    let crc = CRC16CCITTFalse.checksum(data)
    let reply = data + [UInt8(crc >> 8), UInt8(truncatingIfNeeded: crc)]
    #expect(Framing.checkReply(reply, as: UInt64.self) == .valid(0x0102_0304_0506_0708))
    #expect(Framing.checkReply(reply, as: UInt32.self) == .crcMismatch(received: 0x0506, computed: 0x89C3))
}
