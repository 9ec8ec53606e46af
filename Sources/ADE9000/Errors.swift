import HAL

/// The one error type of the ADE9000 driver. Every case names the register or line involved.
public enum ADE9000Error: Error, Equatable, Sendable, CustomStringConvertible {
    /// The SPI device failed (the HAL error names device, operation and errno).
    case bus(HALError)
    /// A GPIO line (RESET, IRQ0, IRQ1) failed.
    case gpio(HALError)
    /// Every attempt to read `register` came back with a CRC_SPI that does not match its data.
    case crcMismatch(register: String, received: UInt16, computed: UInt16, attempts: Int)
    /// The bus returned fewer bytes than the frame needs.
    case truncatedReply(register: String, expected: Int, received: Int)
    /// RSTDONE (STATUS1 bit 16) did not appear within the timeout after a reset.
    case resetTimedOut(after: Duration)
    /// CONFIG5 must read 0x0063 and PART_ID bit 20 (ADE9000_ID) must be set (spec §12.1).
    case wrongChip(config5: UInt16, partID: UInt32)
    /// A configuration register read back differently from what was written.
    case writeVerifyFailed(register: String, wrote: UInt32, readBack: UInt32)
    /// The chip reset itself (RSTDONE seen during operation); `reinitialised` tells whether the driver restored
    /// configuration and calibration. The reading of this cycle is dropped.
    case chipResetDetected(reinitialised: Bool)
    /// CRC_RSLT changed although the driver wrote nothing: a configuration register was altered (glitch,
    /// another master). `reinitialised` tells whether the driver restored its configuration.
    case configurationChanged(reinitialised: Bool)
    /// A burst value failed a plausibility check (burst data carries no CRC), e.g. a negative RMS from a MISO
    /// line stuck high.
    case implausibleReading(register: String, value: Int64, reason: String)
    /// No interrupt edge and no pending status bit within the timeout.
    case interruptTimedOut(line: String, after: Duration, status: UInt32)
    /// The IRQ line is asserted (low) although no enabled status bit is pending, even after clearing.
    case interruptLineStuck(line: String, status: UInt32)
    /// The operation needs a GPIO line that was not given to the driver.
    case missingLine(String)
    /// The calibration arithmetic failed.
    case calibration(CalibrationError)
    /// A configuration value is invalid.
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .bus(let error): "ADE9000: SPI: \(error)"
        case .gpio(let error): "ADE9000: GPIO: \(error)"
        case .crcMismatch(let register, let received, let computed, let attempts):
            "ADE9000: CRC_SPI mismatch reading \(register) (received 0x\(hex(UInt32(received), digits: 4)), "
                + "data gives 0x\(hex(UInt32(computed), digits: 4))) after \(attempts) attempts"
        case .truncatedReply(let register, let expected, let received):
            "ADE9000: reading \(register): expected \(expected) bytes, got \(received)"
        case .resetTimedOut(let after): "ADE9000: RSTDONE (STATUS1 bit 16) not set within \(after) after reset"
        case .wrongChip(let config5, let partID):
            "ADE9000: not an ADE9000: CONFIG5 = 0x\(hex(UInt32(config5), digits: 4)) (expected 0x0063), "
                + "PART_ID = 0x\(hex(partID, digits: 8)) (expected bit 20 set)"
        case .writeVerifyFailed(let register, let wrote, let readBack):
            "ADE9000: \(register) read back 0x\(hex(readBack, digits: 8)) after writing 0x\(hex(wrote, digits: 8))"
        case .chipResetDetected(let reinitialised):
            "ADE9000: chip reset detected (RSTDONE); "
                + (reinitialised ? "configuration and calibration restored, reading dropped" : "not re-initialised")
        case .configurationChanged(let reinitialised):
            "ADE9000: configuration CRC (CRC_RSLT) changed behind the driver; "
                + (reinitialised ? "configuration and calibration restored, reading dropped" : "not re-initialised")
        case .implausibleReading(let register, let value, let reason):
            "ADE9000: implausible \(register) = \(value): \(reason)"
        case .interruptTimedOut(let line, let after, let status):
            "ADE9000: no \(line) interrupt within \(after) (status 0x\(hex(status, digits: 8)))"
        case .interruptLineStuck(let line, let status):
            "ADE9000: \(line) stuck low with no enabled status bit pending (status 0x\(hex(status, digits: 8)))"
        case .missingLine(let name): "ADE9000: no \(name) line configured"
        case .calibration(let error): "ADE9000: \(error)"
        case .invalidConfiguration(let message): "ADE9000: invalid configuration: \(message)"
        }
    }
}
