import HAL
import Simulator

/// Virtual time shared by in-memory ports: reads advance it by the line time of the bytes returned (10 bit times
/// per character) or by the whole timeout when nothing was queued.
public final class InMemorySerialClock {
    public var now: Duration = .zero
    public init() {}
}

/// An in-memory `SerialPort` double (embedded-hal-mock style, but behavioural): a test queues bytes, `read` returns
/// them in chunks of at most `maxChunk`; it can throw `.unavailable` on demand, records writes and RTS/DTR.
///
/// It also models the line setting: bytes queued with `enqueue` were sent by a meter at `meterConfiguration`; read
/// through a port opened at a different `configuration` they arrive as a UART would deliver them — garbage at a
/// different baud rate, bit 7 = parity bit for 7E1 data read at 8N1, bit 7 cleared for 8N1 data read at 7E1.
/// A class, so a test keeps a reference while a reader owns the port.
public final class InMemorySerialPort: SerialPort {
    /// The setting the port was opened with.
    public let configuration: SerialConfiguration
    /// The setting the queued bytes were sent with (`nil` = the same as `configuration`).
    public var meterConfiguration: SerialConfiguration?
    public var maxChunk: Int
    public let clock: InMemorySerialClock
    /// Called when a read finds the queue empty: returns the meter's next transmission (e.g. the simulator's next
    /// telegram), which is queued for the following reads. The empty read itself costs its full timeout.
    public var refill: (() -> [UInt8])?
    /// While set, every read throws this error (e.g. `.unavailable` for an unplugged cable).
    public var failure: HALError?
    /// Throw `failure` only for this many reads, then clear it (`nil` = until cleared by the test).
    public var failureCount: Int?
    public private(set) var written: [UInt8] = []
    public private(set) var rts: Bool?
    public private(set) var dtr: Bool?
    public private(set) var readCount = 0
    public let name: String

    private var queue: [UInt8] = []
    private var head = 0
    private var noise = P1SeededRandom(seed: 0x1DE5)

    public init(
        configuration: SerialConfiguration = .dsmr5, meterConfiguration: SerialConfiguration? = nil,
        maxChunk: Int = 64, clock: InMemorySerialClock = InMemorySerialClock(), name: String = "mem:p1"
    ) {
        self.configuration = configuration
        self.meterConfiguration = meterConfiguration
        self.maxChunk = maxChunk
        self.clock = clock
        self.name = name
    }

    /// Bytes queued and not yet read.
    public var pendingCount: Int { queue.count - head }

    /// Queues what the meter sent, translated for the port's line setting.
    public func enqueue(_ bytes: [UInt8]) {
        if head > 4096 && head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
        queue += translate(bytes)
    }

    public func read(maxCount: Int, timeout: Duration) throws(HALError) -> [UInt8] {
        readCount += 1
        if let failure {
            if let count = failureCount {
                if count <= 1 {
                    self.failure = nil
                    failureCount = nil
                } else {
                    failureCount = count - 1
                }
            }
            throw failure
        }
        guard pendingCount > 0 else {
            clock.now += timeout
            if let refill { enqueue(refill()) }
            return []
        }
        let count = min(maxCount, maxChunk, pendingCount)
        let chunk = Array(queue[head..<(head + count)])
        head += count
        clock.now += .seconds(Double(count * 10) / Double(configuration.baudRate))
        return chunk
    }

    public func write(_ bytes: [UInt8]) throws(HALError) {
        if let failure { throw failure }
        written += bytes
    }

    public func setRTS(_ asserted: Bool) throws(HALError) {
        if let failure { throw failure }
        rts = asserted
    }

    public func setDTR(_ asserted: Bool) throws(HALError) {
        if let failure { throw failure }
        dtr = asserted
    }

    /// Makes the next reads throw `.unavailable` (the cable was pulled).
    public func unplug(reads: Int? = nil) {
        failure = HALError(
            .unavailable, subsystem: "mem", device: name, operation: "read", detail: "simulated unplug")
        failureCount = reads
    }

    private func translate(_ bytes: [UInt8]) -> [UInt8] {
        guard let meter = meterConfiguration, meter != configuration else { return bytes }
        if meter.baudRate != configuration.baudRate {
            // A UART at the wrong speed sees framing errors and random characters.
            let count = max(1, bytes.count * configuration.baudRate / meter.baudRate)
            return (0..<count).map { _ in UInt8.random(in: 0...255, using: &noise) }
        }
        if meter.dataBits == 7 && configuration.dataBits == 8 {
            // 7E1 read as 8N1: the even-parity bit becomes bit 7.
            return bytes.map { byte in
                let low = byte & 0x7F
                let parity: UInt8 = low.nonzeroBitCount % 2 == 1 ? 0x80 : 0
                return meter.parity == .even ? low | parity : low | (parity ^ 0x80)
            }
        }
        if meter.dataBits == 8 && configuration.dataBits == 7 {
            return bytes.map { $0 & 0x7F }
        }
        return bytes
    }
}
