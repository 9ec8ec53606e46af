#if canImport(CLinuxHAL)
    import CLinuxHAL
    import Glibc
    import HAL
    import Testing

    /// Reads until `count` bytes arrived or `attempts` reads returned nothing.
    private func readAll(_ port: TTYPort, count: Int, attempts: Int = 20) throws -> [UInt8] {
        var received: [UInt8] = []
        var empty = 0
        while received.count < count && empty < attempts {
            let chunk = try port.read(maxCount: 4096, timeout: .milliseconds(100))
            if chunk.isEmpty { empty += 1 } else { received += chunk }
        }
        return received
    }

    @Test func bytesWrittenOnTheMasterArriveThroughTTYPortAt115200_8N1() throws {
        let pty = try PseudoTerminal()
        let port = try TTYPort(path: pty.slavePath, configuration: .dsmr5)
        // Every byte value, CR LF included: raw mode must not translate anything.
        let sent = (0..<4).flatMap { _ in (0...255).map { UInt8($0) } } + Array("/ISK5\r\n!ABCD\r\n".utf8)
        try pty.write(sent)
        #expect(try readAll(port, count: sent.count) == sent)
        #expect(pty.slaveConfiguration() == .dsmr5)
    }

    @Test func sevenE1ConfigurationIsAppliedToTheKernel() throws {
        let pty = try PseudoTerminal()
        let port = try TTYPort(path: pty.slavePath, configuration: .dsmr22)
        let attributes = try port.attributes()  // tcgetattr on the reader's descriptor
        var copy = attributes
        #expect(cfgetispeed(&copy) == speed_t(B9600))
        #expect(cfgetospeed(&copy) == speed_t(B9600))
        // The pty driver forces CS8 and clears PARENB (drivers/tty/pty.c, pty_set_termios); what the kernel keeps
        // of 7E1 on a pty is the input processing: strip to 7 bits, check parity.
        #expect(attributes.c_iflag & tcflag_t(ISTRIP) != 0)
        #expect(attributes.c_iflag & tcflag_t(INPCK) != 0)
        #expect(attributes.c_cflag & tcflag_t(PARODD) == 0)
        #expect(attributes.c_cflag & tcflag_t(CSTOPB) == 0)
        #expect(attributes.c_lflag & tcflag_t(ICANON | ECHO | ISIG) == 0)  // raw
        #expect(attributes.c_iflag & tcflag_t(ICRNL | IXON) == 0)
        #expect(pty.slaveConfiguration() == .dsmr22)
    }

    @Test func sevenE1TermiosCarriesCS7AndEvenParity() {
        // What TTYPort hands to tcsetattr; a real UART keeps these bits.
        var attributes = termios()
        #expect(CLinuxHAL_configure(&attributes, 9600, 7, CChar(UInt8(ascii: "E")), 1) == 0)
        #expect(attributes.c_cflag & tcflag_t(CSIZE) == tcflag_t(CS7))
        #expect(attributes.c_cflag & tcflag_t(PARENB) != 0)
        #expect(attributes.c_cflag & tcflag_t(PARODD) == 0)
        #expect(attributes.c_cflag & tcflag_t(CLOCAL | CREAD) == tcflag_t(CLOCAL | CREAD))
        #expect(attributes.c_cflag & tcflag_t(CRTSCTS) == 0)
        #expect(cfgetispeed(&attributes) == speed_t(B9600))
        #expect(SerialConfiguration(termios: attributes) == .dsmr22)
        var odd = termios()
        #expect(CLinuxHAL_configure(&odd, 115200, 8, CChar(UInt8(ascii: "O")), 2) == 0)
        #expect(SerialConfiguration(termios: odd) == SerialConfiguration(parsing: "115200-8O2"))
        var bad = termios()
        #expect(CLinuxHAL_configure(&bad, 12345, 8, CChar(UInt8(ascii: "N")), 1) == -1)
    }

    @Test func unsupportedLineSettingsAreRefusedWithAClearError() throws {
        let pty = try PseudoTerminal()
        #expect {
            _ = try TTYPort(path: pty.slavePath, configuration: SerialConfiguration(baudRate: 12345))
        } throws: { error in
            let error = error as? HALError
            return error?.kind == .invalidArgument && error?.description.contains("12345-8N1") == true
        }
    }

    @Test func readTimesOutWithNothingReceived() throws {
        let pty = try PseudoTerminal()
        let port = try TTYPort(path: pty.slavePath, configuration: .dsmr5)
        #expect(try port.read(maxCount: 64, timeout: .milliseconds(20)).isEmpty)
    }

    @Test func writesFromTheReaderReachTheMaster() throws {
        let pty = try PseudoTerminal()
        let port = try TTYPort(path: pty.slavePath, configuration: .dsmr5)
        try port.write(Array("hello".utf8))
        var got: [UInt8] = []
        for _ in 0..<20 where got.count < 5 { got += try pty.read(maxCount: 64, timeout: .milliseconds(100)) }
        #expect(got == Array("hello".utf8))
    }

    @Test func exclusiveOpenRefusesASecondOpener() throws {
        let pty = try PseudoTerminal()
        let first = try TTYPort(path: pty.slavePath, configuration: .dsmr5)
        _ = first
        // TIOCEXCL does not stop root (CAP_SYS_ADMIN); only check the refusal when not root.
        if getuid() != 0 {
            #expect(throws: HALError.self) { _ = try TTYPort(path: pty.slavePath, configuration: .dsmr5) }
        }
    }

    @Test func hangUpIsReportedAsUnavailable() throws {
        let pty = try PseudoTerminal()
        let port = try TTYPort(path: pty.slavePath, configuration: .dsmr5)
        pty.close()
        #expect {
            for _ in 0..<10 { _ = try port.read(maxCount: 64, timeout: .milliseconds(50)) }
        } throws: { error in
            (error as? HALError)?.kind == .unavailable
        }
    }

    @Test func rtsAndDTRControlSucceedOnATTY() throws {
        // A pty accepts TIOCMBIS/TIOCMBIC for RTS/DTR on Linux; a USB-serial adapter drives the pins.
        let pty = try PseudoTerminal()
        let port = try TTYPort(path: pty.slavePath, configuration: .dsmr5)
        do {
            try port.setRTS(true)
            try port.setDTR(false)
        } catch {
            // Some kernels refuse modem-line ioctls on ptys (ENOTTY/EINVAL): the error must still name the call.
            #expect(error.kind == .invalidArgument)
            #expect(error.operation.contains("RTS") || error.operation.contains("DTR"))
        }
    }
#endif
