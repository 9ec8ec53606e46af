#if canImport(CLinuxHAL)
    import CLinuxHAL
    @testable import HAL
    import Glibc
    import SystemPackage
    import Testing

    // Kernel ABI: include/uapi/linux/spi/spidev.h. The numbers here are restated from the kernel, not imported.
    @Test func spiIocMessageRequestNumbers() {
        #expect(CLinuxHAL_SPI_IOC_MESSAGE(1) == 0x4020_6B00)
        #expect(CLinuxHAL_SPI_IOC_MESSAGE(2) == 0x4040_6B00)
        #expect(CLinuxHAL_SPI_IOC_WR_MODE() == 0x4001_6B01)
        #expect(CLinuxHAL_SPI_IOC_WR_MAX_SPEED_HZ() == 0x4004_6B04)
    }

    @Test func spiIocTransferHasTheKernelLayout() {
        #expect(MemoryLayout<spi_ioc_transfer>.size == 32)
        #expect(MemoryLayout<spi_ioc_transfer>.offset(of: \.tx_buf) == 0)
        #expect(MemoryLayout<spi_ioc_transfer>.offset(of: \.rx_buf) == 8)
        #expect(MemoryLayout<spi_ioc_transfer>.offset(of: \.len) == 16)
        #expect(MemoryLayout<spi_ioc_transfer>.offset(of: \.speed_hz) == 20)
        #expect(MemoryLayout<spi_ioc_transfer>.offset(of: \.delay_usecs) == 24)
        #expect(MemoryLayout<spi_ioc_transfer>.offset(of: \.bits_per_word) == 26)
        #expect(MemoryLayout<spi_ioc_transfer>.offset(of: \.cs_change) == 27)
    }

    @Test func spidevPlanMapsOperationsToOneTransferEach() throws {
        let plan = try SpidevPlan(
            [.write([0x40, 0x38]), .read(count: 4), .transfer([1, 2]), .delay(.microseconds(10))],
            device: "test")
        #expect(plan.transfers.count == 3)  // the delay rides on the transfer before it
        #expect(plan.transfers.map(\.len) == [2, 4, 2])
        #expect(plan.transfers[2].delay_usecs == 10)
        #expect(plan.bufferSize == 2 + 4 + 4)
    }

    @Test func spidevPlanRejectsDelaysSpidevCannotExpress() {
        #expect(throws: HALError.self) { try SpidevPlan([.delay(.milliseconds(70))], device: "test") }
    }

    @Test func missingSpidevThrowsNamedError() {
        #expect {
            _ = try Spidev(path: "/dev/spidev9.9")
        } throws: { error in
            (error as? HALError)?.description
                == "spidev /dev/spidev9.9: open failed: No such file or directory (ENOENT)"
        }
    }

    @Test func missingTTYThrowsNamedError() {
        #expect {
            _ = try TTYPort(path: "/dev/ttyUSB97", configuration: .dsmr5)
        } throws: { error in
            (error as? HALError)?.description == "tty /dev/ttyUSB97: open failed: No such file or directory (ENOENT)"
        }
    }

    @Test func nonTTYFileIsRejected() {
        #expect {
            _ = try TTYPort(path: "/dev/null", configuration: .dsmr5)
        } throws: { error in
            (error as? HALError)?.errno == .inappropriateIOCTLForDevice
        }
    }

    @Test func missingI2CBusThrowsNamedError() {
        #expect {
            _ = try I2CBus(path: "/dev/i2c-97")
        } throws: { error in
            (error as? HALError)?.description == "i2c-dev /dev/i2c-97: open failed: No such file or directory (ENOENT)"
        }
    }

    @Test func missingGPIOChipThrowsNamedError() {
        #expect {
            _ = try GPIODChip("/dev/gpiochip97")
        } throws: { error in
            let error = error as? HALError
            return error?.subsystem == "gpiod" && error?.device == "/dev/gpiochip97"
                && error?.operation == "gpiod_chip_open_lookup" && error?.kind == .unavailable
        }
    }

    @Test func libi2cNegativeErrnoIsMapped() {
        // libi2c returns -errno rather than -1 with errno set.
        #expect {
            _ = try I2CBus.smbusResult(-6, device: "/dev/i2c-1 @0x50", operation: "i2c_smbus_read_byte_data")
        } throws: { error in
            (error as? HALError)?.kind == .noAcknowledge(address: true)
                && (error as? HALError)?.description.hasSuffix("No such device or address (ENXIO)") == true
        }
        #expect((try? I2CBus.smbusResult(0x42, device: "x", operation: "y")) == 0x42)
    }

    @Test func tcpConnectionRefusedIsUnavailable() throws {
        // Port 1 on loopback: nothing listens there in a test sandbox.
        #expect {
            _ = try TCPStream(host: "127.0.0.1", port: 1, timeout: .seconds(1))
        } throws: { error in
            (error as? HALError)?.kind == .unavailable && (error as? HALError)?.device == "tcp://127.0.0.1:1"
        }
    }
#endif
