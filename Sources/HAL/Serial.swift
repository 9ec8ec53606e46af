/// Parity of a serial character frame.
public enum SerialParity: String, Sendable, Codable, CaseIterable {
    case none, even, odd
}

/// Line settings of a serial port: `115200-8N1`, `9600-7E1`.
public struct SerialConfiguration: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// Baud rates the Linux termios backend can set (standard `B…` constants).
    public static let supportedBaudRates: [Int] = [
        1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600,
    ]

    public var baudRate: Int
    /// 5…8 data bits per character.
    public var dataBits: Int
    public var parity: SerialParity
    /// 1 or 2 stop bits.
    public var stopBits: Int

    public init(baudRate: Int, dataBits: Int = 8, parity: SerialParity = .none, stopBits: Int = 1) {
        self.baudRate = baudRate
        self.dataBits = dataBits
        self.parity = parity
        self.stopBits = stopBits
    }

    /// DSMR 4/5, e-MUCS, Smarty: 115200 8N1.
    public static let dsmr5 = SerialConfiguration(baudRate: 115_200)
    /// DSMR 2.2/3: 9600 7E1.
    public static let dsmr22 = SerialConfiguration(baudRate: 9600, dataBits: 7, parity: .even)
    /// Some DSMR 4.2 Kaifa meters: 115200 7E1.
    public static let dsmr42Kaifa = SerialConfiguration(baudRate: 115_200, dataBits: 7, parity: .even)

    /// `115200-8N1` style.
    public var description: String {
        let p: String =
            switch parity {
            case .none: "N"
            case .even: "E"
            case .odd: "O"
            }
        return "\(baudRate)-\(dataBits)\(p)\(stopBits)"
    }

    /// Parses `115200-8N1`, `9600-7E1`, `115200 8n1` or `115200:8E2`.
    /// - Returns: `nil` when the text is not of that form or names an unsupported setting.
    public init?(parsing text: String) {
        let parts = text.split(whereSeparator: { $0 == "-" || $0 == " " || $0 == ":" || $0 == "/" })
        guard parts.count == 2, let baud = Int(parts[0]), Self.supportedBaudRates.contains(baud) else { return nil }
        let frame = Array(parts[1].uppercased())
        guard frame.count == 3, let bits = Int(String(frame[0])), (5...8).contains(bits),
            let stop = Int(String(frame[2])), stop == 1 || stop == 2
        else { return nil }
        let parity: SerialParity
        switch frame[1] {
        case "N": parity = .none
        case "E": parity = .even
        case "O": parity = .odd
        default: return nil
        }
        self.init(baudRate: baud, dataBits: bits, parity: parity, stopBits: stop)
    }
}

/// A byte stream to and from a serial device (a P1 cable's USB-serial tty).
///
/// Opening and the line settings belong to the backend (`TTYPort(path:configuration:)` on Linux);
/// this protocol is what readers use once it is open. Not `Sendable`: a port is confined to one task.
public protocol SerialPort {
    /// Reads what has arrived, waiting up to `timeout` for the first byte.
    ///
    /// - Parameters:
    ///   - maxCount: At most this many bytes are returned.
    ///   - timeout: How long to wait for the first byte.
    /// - Returns: Between 1 and `maxCount` bytes, or an empty array when `timeout` passed with nothing received.
    /// - Throws: `HALError`; `.unavailable` when the device went away (USB cable unplugged, pty closed).
    /// On Linux the corresponding calls are `poll` and `read`.
    mutating func read(maxCount: Int, timeout: Duration) throws(HALError) -> [UInt8]

    /// Writes all of `bytes`. On Linux the corresponding call is `write`.
    mutating func write(_ bytes: [UInt8]) throws(HALError)

    /// Raises (`true`) or drops the RTS modem line. On Linux the corresponding ioctl is `TIOCMBIS`/`TIOCMBIC`.
    mutating func setRTS(_ asserted: Bool) throws(HALError)

    /// Raises (`true`) or drops the DTR modem line. On Linux the corresponding ioctl is `TIOCMBIS`/`TIOCMBIC`.
    mutating func setDTR(_ asserted: Bool) throws(HALError)
}
