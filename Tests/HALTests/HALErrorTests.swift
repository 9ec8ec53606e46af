import HAL
import SystemPackage
import Testing

@Test func descriptionNamesSubsystemDeviceOperationAndErrno() {
    let error = HALError(
        subsystem: "spidev", device: "/dev/spidev0.0", operation: "open", errno: .noSuchFileOrDirectory)
    #expect(error.description == "spidev /dev/spidev0.0: open failed: No such file or directory (ENOENT)")
    #expect(error.kind == .unavailable)
}

@Test func descriptionWithoutErrnoUsesDetail() {
    let error = HALError(.timedOut, subsystem: "sim:ade9000", device: "spi", operation: "read", detail: "no answer")
    #expect(error.description == "sim:ade9000 spi: read failed: no answer")
}

@Test(arguments: [
    (Errno.noSuchAddressOrDevice, HALError.Kind.noAcknowledge(address: true)),
    (Errno(rawValue: 121), .noAcknowledge(address: true)),  // EREMOTEIO: i2c-bcm2835's NACK (Raspberry Pi)
    (.resourceBusy, .busy),
    (.resourceTemporarilyUnavailable, .arbitrationLost),
    (.timedOut, .timedOut),
    (.permissionDenied, .permissionDenied),
    (.operationNotSupportedByDevice, .unavailable),
    (.ioError, .io),
    (.invalidArgument, .invalidArgument),
    (.noSpace, .other),
])
func errnoMapsToKind(errno: Errno, kind: HALError.Kind) {
    #expect(HALError.kind(for: errno) == kind)
}

@Test(arguments: [
    ("115200-8N1", SerialConfiguration(baudRate: 115_200, dataBits: 8, parity: .none, stopBits: 1)),
    ("9600-7E1", SerialConfiguration(baudRate: 9600, dataBits: 7, parity: .even, stopBits: 1)),
    ("115200 7e1", SerialConfiguration(baudRate: 115_200, dataBits: 7, parity: .even, stopBits: 1)),
    ("19200:8O2", SerialConfiguration(baudRate: 19200, dataBits: 8, parity: .odd, stopBits: 2)),
])
func serialConfigurationParses(text: String, expected: SerialConfiguration) {
    #expect(SerialConfiguration(parsing: text) == expected)
}

@Test(arguments: ["115200", "115201-8N1", "9600-9N1", "9600-8X1", "9600-8N3", "fast-8N1", ""])
func serialConfigurationRejects(text: String) {
    #expect(SerialConfiguration(parsing: text) == nil)
}

@Test func serialConfigurationPrintsCompactForm() {
    #expect(SerialConfiguration.dsmr22.description == "9600-7E1")
    #expect(SerialConfiguration.dsmr5.description == "115200-8N1")
}

/// i2c-bcm2835 (every Raspberry Pi) reports a NACK as EREMOTEIO, not ENXIO: both must be "no acknowledge", or ACK
/// polling after an EEPROM page write gives up at the first busy answer.
@Test func remoteIOIsANoAcknowledgeLikeENXIO() {
    let error = HALError(
        subsystem: "i2c-dev", device: "/dev/i2c-1 @0x50", operation: "I2C_RDWR", errno: Errno(rawValue: 121))
    #expect(error.kind == .noAcknowledge(address: true))
    #expect(error.description == "i2c-dev /dev/i2c-1 @0x50: I2C_RDWR failed: Remote I/O error (EREMOTEIO)")
}
