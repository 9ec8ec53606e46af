import ArgumentParser
import Firmware
import HAL
import Logging
import P1
import Simulator
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

struct P1Command: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "p1",
        abstract: "Read and parse smart-meter P1 telegrams (DSMR 2.2–5, Belgian e-MUCS, Luxembourg Smarty).",
        subcommands: [Parse.self, Read.self],
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case json, text
    }

    /// Keeps the output of `parse` and `read` the same. JSON is ``Payloads/telegram(_:receivedAt:)``: its
    /// `reading` holds the same members as a live P1 reading of `emeter run`.
    struct Printer: ~Copyable {
        var format: Format
        /// Write each line at once (live reading) rather than in 64 KiB blocks (a file).
        var flushEveryLine: Bool
        var rejected = 0
        var failedFrames = 0
        var telegrams = 0
        /// Lines not yet written; reused, so a long file costs one buffer, not one per telegram.
        private var pending = JSONWriter(capacity: 1 << 17)

        init(format: Format, flushEveryLine: Bool) {
            self.format = format
            self.flushEveryLine = flushEveryLine
        }

        mutating func handle(_ event: P1StreamEvent) {
            switch event {
            case .telegram(let telegram):
                telegrams += 1
                switch format {
                case .json: Payloads.telegram(telegram, into: &pending)
                case .text: pending.raw((telegram.reading.textSummary + "\n").utf8)
                }
                pending.newline()
                if flushEveryLine || pending.count >= 1 << 16 { flush() }
            case .rejected(let rejection):
                flush()
                rejected += 1
                standardError("rejected telegram: \(rejection)")
            case .frameFailed(let error):
                flush()
                failedFrames += 1
                standardError("rejected frame: \(error)")
            }
        }

        mutating func flush() {
            guard pending.count > 0 else { return }
            standardOutput(pending)
            pending.removeAll()
        }

        mutating func summary(source: String) {
            flush()
            var text = "\(source): \(telegrams) telegram\(telegrams == 1 ? "" : "s")"
            text += ", \(rejected) rejected"
            if failedFrames > 0 { text += ", \(failedFrames) frames failed decryption" }
            standardError(text)
        }
    }

    /// `--key` / `--auth-key` for encrypted meters.
    struct KeyOptions: ParsableArguments {
        @Option(
            help: ArgumentHelp(
                "AES-128 decryption key of an encrypted meter (Luxembourg Smarty, Austria): 32 hex digits, env:NAME (an environment variable) or file:PATH (the first line of a file). Prefer env: or file:: a key on the command line is visible to every user in /proc/<pid>/cmdline.",
                valueName: "key"))
        var key: String?

        @Option(
            help: ArgumentHelp(
                "Authentication key, given like --key; default: the fixed Smarty key 00112233445566778899AABBCCDDEEFF. Pass `none` to skip the tag check.",
                valueName: "key"))
        var authKey: String?

        /// The decryptor for `--key`, or `nil` without one; warnings (a key given inline) go to stderr.
        func decryptor() throws -> P1Decryptor? {
            guard let key else {
                if authKey != nil { throw ValidationError("--auth-key: only used with --key (an encrypted meter)") }
                return nil
            }
            func resolve(_ text: String, option: String) throws -> String {
                do {
                    let value = try Secret.resolve(text, field: option) { standardError("warning: \($0)") }
                    if Secret.isInline(text) {
                        standardError(
                            "warning: \(option) on the command line is visible to every user (/proc/<pid>/cmdline) "
                                + "and kept in shell history; use \(option) env:NAME or \(option) file:PATH")
                    }
                    return value
                } catch {
                    throw ValidationError(error.description)
                }
            }
            let encryptionHex = try resolve(key, option: "--key")
            let authenticationHex = try authKey.flatMap { $0 == "none" ? nil : try resolve($0, option: "--auth-key") }
            do throws(P1Error) {
                let encryption = try P1Decryptor.key(hex: encryptionHex, name: "encryption key")
                if authKey == "none" { return try P1Decryptor(encryptionKey: encryption, authenticationKey: nil) }
                let authentication =
                    try authenticationHex.map { hex throws(P1Error) in
                        try P1Decryptor.key(hex: hex, name: "authentication key")
                    } ?? P1Decryptor.smartyAuthenticationKey
                return try P1Decryptor(encryptionKey: encryption, authenticationKey: authentication)
            } catch {
                throw ValidationError("\(error)")
            }
        }
    }

    struct Parse: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Parse a P1 byte stream (a capture file or stdin) and print every valid telegram.",
            discussion: """
                JSON (default) prints one object per valid telegram per line (JSON Lines), in input order:
                {"header": …, "crc": …, "obis": {code as sent: value, …}, "reading": {normalised reading}}.
                Rejected telegrams (CRC mismatch, truncated, …) are reported on stderr with their reason, and a
                count at the end. The input can hold any number of telegrams, garbage between them, or encrypted
                DLMS frames (with --key).

                Exit status: 0 also when telegrams were rejected; 66 when FILE cannot be read; 64 for bad options.
                Examples:
                  emeter p1 parse capture.txt
                  cat /dev/ttyUSB0 | emeter p1 parse - --format text
                  emeter p1 parse smarty.bin --key 000102030405060708090A0B0C0D0E0F
                """
        )

        @Argument(help: "The byte stream: a file, or - for stdin.")
        var file: String = "-"

        @Option(help: "Output: json (JSON Lines) or text.")
        var format: Format = .json

        @OptionGroup var keys: KeyOptions

        func run() throws {
            let input: Int32
            if file == "-" {
                input = STDIN_FILENO
            } else {
                input = open(file, O_RDONLY | O_CLOEXEC)
                guard input >= 0 else {
                    let reason = errno == ENOENT ? "no such file" : errno == EACCES ? "permission denied" : errnoText()
                    standardError("\(file): cannot be opened for reading (\(reason))")
                    throw ExitStatus.noInput
                }
            }
            defer { if input != STDIN_FILENO { close(input) } }
            var printer = Printer(format: format, flushEveryLine: false)
            var framer = P1Framer()
            // A capture file may hold the same frames more than once: no replay check offline.
            var decoder = try keys.decryptor().map {
                P1EncryptedStreamDecoder(decryptor: $0, checksFrameCounter: false)
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
                if count < 0 {
                    if errno == EINTR { continue }
                    standardError("\(file == "-" ? "stdin" : file): read failed: \(errnoText())")
                    throw ExitStatus.ioError
                }
                if count == 0 { break }
                chunk.withUnsafeBufferPointer { all in
                    let bytes = UnsafeBufferPointer(rebasing: all[..<count])
                    if decoder != nil {
                        decoder?.feed(bytes) { printer.handle($0) }
                    } else {
                        framer.feed(buffer: bytes) { event in
                            switch event {
                            case .telegram(let telegram): printer.handle(.telegram(telegram))
                            case .rejected(let rejection): printer.handle(.rejected(rejection))
                            }
                        }
                    }
                }
            }
            // A telegram still open at the end of input is incomplete.
            framer.reset { event in if case .rejected(let rejection) = event { printer.handle(.rejected(rejection)) } }
            printer.summary(source: file == "-" ? "stdin" : file)
        }
    }

    struct Read: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read telegrams live from a P1 port and print them.",
            discussion: """
                PORT is a tty (/dev/ttyUSB0, a /dev/serial/by-id/… link, a simulator pty) or tcp://host:port
                (ser2net, network P1 dongles). --serial auto tries 115200-8N1, 9600-7E1 and 115200-7E1 until a
                valid telegram arrives. An unplugged cable is reported and reopened until you stop with Ctrl-C.
                Examples:
                  emeter p1 read --port /dev/ttyUSB0
                  emeter p1 read --port tcp://192.0.2.10:2001 --format text --count 1
                """
        )

        @Option(help: "tty path or tcp://host:port.")
        var port: String

        @Option(help: "auto, or a line setting like 115200-8N1, 9600-7E1, 115200-7E1.")
        var serial: String = "auto"

        @Option(help: "Output: json (JSON Lines) or text.")
        var format: Format = .json

        @Option(help: "Stop after this many telegrams (default: run until interrupted).")
        var count: Int?

        @Option(help: "Raise the cable's data-request line: none, rts or dtr.")
        var dataRequest: String = "none"

        @OptionGroup var keys: KeyOptions
        @OptionGroup var global: GlobalOptions

        func validate() throws {
            guard P1Endpoint(port) != nil else {
                throw ValidationError("--port: expected a tty path like /dev/ttyUSB0 or tcp://host:port, got `\(port)`")
            }
            guard serial == "auto" || SerialConfiguration(parsing: serial) != nil else {
                throw ValidationError(
                    "--serial: expected auto or a setting like 115200-8N1 or 9600-7E1, got `\(serial)`")
            }
            guard ["none", "rts", "dtr"].contains(dataRequest) else {
                throw ValidationError("--data-request: expected none, rts or dtr, got `\(dataRequest)`")
            }
            if let count, count < 1 { throw ValidationError("--count: expected at least 1") }
        }

        func run() async throws {
            let logger = global.bootstrapLogging()
            guard let endpoint = P1Endpoint(port) else { throw ExitStatus.usage }
            let decryptor = try keys.decryptor()
            let request: DataRequestLine = dataRequest == "rts" ? .rts : dataRequest == "dtr" ? .dtr : .none
            let (events, continuation) = AsyncStream<P1ReaderThread.Event>.makeStream()
            let thread = P1ReaderThread(
                endpoint: endpoint, serial: SerialConfiguration(parsing: serial),
                decryptor: decryptor, dataRequest: request, logger: logger
            ) { continuation.yield($0) }
            thread.start()
            var printer = Printer(format: format, flushEveryLine: true)
            await withTaskCancellationHandler {
                for await event in events {
                    switch event {
                    case .stream(let streamEvent, _): printer.handle(streamEvent)
                    case .detected(let setting): standardError("\(endpoint): detected \(setting)")
                    case .portError(let message): standardError(message)
                    }
                    if let count, printer.telegrams >= count { break }
                }
            } onCancel: {
                continuation.finish()
            }
            thread.stop()
            printer.summary(source: endpoint.description)
        }
    }
}
