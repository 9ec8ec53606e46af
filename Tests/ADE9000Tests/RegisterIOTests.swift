import HAL
import Logging
import TestSupport
import Testing

@testable import ADE9000

// The fetch layer on its own, against scripted SPI frames.

private func io(_ steps: [ScriptedSPIDevice.Step]) -> RegisterIO<ScriptedSPIDevice> {
    var logger = Logger(label: "test.register-io")
    logger.logLevel = .critical
    return RegisterIO(bus: ScriptedSPIDevice(steps), crcRetries: 2, logger: logger)
}

/// A 32-bit read of `address` answered with `value` and its CRC_SPI.
private func read32(_ address: UInt16, _ value: UInt32) -> ScriptedSPIDevice.Step {
    let data = Framing.bigEndianBytes(value)
    return .expect(
        [.write(Framing.commandWord(RegisterAddress(rawValue: address), read: true)), .read(count: 6)],
        reply: [data + Framing.bigEndianBytes(CRC16CCITTFalse.checksum(data))])
}

@Test func aResetOnReadRegisterWithABadCRCIsRecoveredFromLastData32() throws {
    // AWATTHR_HI (0x2E7) clears when read (RD_RST_EN): a retry would read 0. The value comes from LAST_DATA_32.
    let data = Framing.bigEndianBytes(UInt32(236_756))
    let badCRC = Framing.bigEndianBytes(CRC16CCITTFalse.checksum(data) ^ 0x0101)
    var m = io([
        .expect(
            [.write(Framing.commandWord(RegisterAddress(rawValue: 0x2E7), read: true)), .read(count: 6)],
            reply: [data + badCRC]),
        read32(0x423, 236_756),
    ])
    #expect(try m.readClearing(.activeEnergyHigh(.a)) == 236_756)
    #expect(m.lastDataRecoveries == 1)
    #expect(m.bus.isDone)
}

@Test func mapRowsInBurstRegionsAreBurstReadOnlyWhileBurstIsEnabled() throws {
    let airms2 = try #require(RegisterMap.info(named: "AIRMS_2"))  // 0x682
    var m = io([
        .expect([.write([0x48, 0x10, 0x08, 0x02])]),  // CONFIG1 ← BURST_EN | CF3_CFG
        .expect([.write([0x68, 0x28]), .read(count: 4)], reply: [[0x00, 0x12, 0x34, 0x56]]),
        read32(0x682, 0x0012_3457),
    ])
    var config1 = Config1()
    config1.burstEnabled = true
    config1.cf3IsZeroCrossing = true
    try m.write(Config1.register, config1.rawValue)
    #expect(m.config1.burstEnabled)
    #expect(try m.read(airms2) == 0x0012_3456)  // one-word burst, no CRC
    m.chipWasReset()
    #expect(try m.read(airms2) == 0x0012_3457)  // CONFIG1 is 0 after a reset: a CRC-checked read
    #expect(m.bus.isDone)
}

@Test func quietReadsNeitherCountNorRetry() {
    let bad: [[UInt8]] = [[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]]
    var m = io([.expect([.write([0x40, 0x38]), .read(count: 6)], reply: bad)])
    #expect(throws: ADE9000Error.self) { try m.read(Status1.register, retries: 0, quiet: true) }
    #expect(m.crcMismatches == 0 && m.crcFailures == 0)
    #expect(m.bus.isDone)
}
