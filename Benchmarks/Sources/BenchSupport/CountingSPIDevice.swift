import HAL

/// SPI traffic: CS-framed transactions and bytes clocked on the wire.
public struct SPITraffic: Sendable, Equatable {
    /// `SPIDevice.transaction(_:)` calls (one CS assertion each; one `SPI_IOC_MESSAGE` ioctl on Linux).
    public var transactions = 0
    /// Sum of the lengths of every `.write`, `.read` and `.transfer` operation (a full-duplex transfer counts once:
    /// that many SCK bytes). Delays clock nothing.
    public var bytes = 0

    public init(transactions: Int = 0, bytes: Int = 0) {
        self.transactions = transactions
        self.bytes = bytes
    }

    public static func - (lhs: SPITraffic, rhs: SPITraffic) -> SPITraffic {
        SPITraffic(transactions: lhs.transactions - rhs.transactions, bytes: lhs.bytes - rhs.bytes)
    }
}

/// An `SPIDevice` wrapper that counts transactions and bytes on the wire, and can record the replies of a window
/// of transactions and later replay them instead of calling the wrapped device.
///
/// Replay is what makes the driver's CPU time measurable on its own: the simulator behind it computes metrology for
/// every register read, which costs far more than the driver; replaying recorded replies costs an array copy.
/// The replay checks each transaction's command bytes against the recording, so a driver that takes a different
/// path than the recorded one fails loudly instead of being timed on wrong data.
public struct CountingSPIDevice<Inner: SPIDevice>: SPIDevice {
    /// What `transaction(_:)` does besides counting.
    public enum Mode: Sendable, Equatable {
        /// Forward to `inner`.
        case live
        /// Forward to `inner` and append the replies to the recording.
        case recording
        /// Answer from the recording, in order, wrapping around; `inner` is not called.
        case replaying
    }

    public var inner: Inner
    public var mode = Mode.live
    public private(set) var traffic = SPITraffic()
    /// Per recorded transaction: the first operation's bytes (the command word) and the replies.
    private var tape: [(command: [UInt8], replies: [[UInt8]])] = []
    private var position = 0

    public init(_ inner: Inner) {
        self.inner = inner
    }

    /// Recorded transactions.
    public var recordedCount: Int { tape.count }

    /// Drops the recording and returns to `.live`.
    public mutating func clearRecording() {
        tape.removeAll()
        position = 0
        mode = .live
    }

    public mutating func transaction(_ operations: [SPIOperation]) throws(HALError) -> [[UInt8]] {
        traffic.transactions += 1
        var command: [UInt8] = []
        for (index, operation) in operations.enumerated() {
            switch operation {
            case .write(let bytes):
                traffic.bytes += bytes.count
                if index == 0 { command = bytes }
            case .transfer(let bytes):
                traffic.bytes += bytes.count
                if index == 0 { command = bytes }
            case .read(let count): traffic.bytes += count
            case .delay: break
            }
        }
        switch mode {
        case .live:
            return try inner.transaction(operations)
        case .recording:
            let replies = try inner.transaction(operations)
            tape.append((command, replies))
            return replies
        case .replaying:
            guard !tape.isEmpty else {
                throw HALError(
                    .other, subsystem: "bench", device: "replay", operation: "transaction", detail: "nothing recorded")
            }
            let entry = tape[position]
            guard entry.command == command else {
                throw HALError(
                    .other, subsystem: "bench", device: "replay", operation: "transaction \(position)",
                    detail: "driver sent command \(command), the recording has \(entry.command)")
            }
            position = position + 1 == tape.count ? 0 : position + 1
            return entry.replies
        }
    }
}
