import HAL

/// Keeps the ring image in an AT24C04 (4 Kbit, 512 × 8) I2C EEPROM, through any `I2CDevice`.
///
/// **Layout.** The EEPROM holds exactly the 512-byte ring image (``RingImage``): block 0 (device address
/// `address`, 0x50) holds bytes 0x000–0x0FF, block 1 (`address | 1`, 0x51) holds 0x100–0x1FF. Header slot 0 is
/// 0x000–0x03F, slot 1 is 0x040–0x07F, records live in 0x080–0x1FF.
///
/// **Writes.** `store` programs only the byte ranges the ring says changed, in the ring's order (records
/// first, header last), split so no write crosses a 16-byte page (the chip would wrap inside the page). Each
/// page write is followed by ACK polling: the chip NACKs its address during the internal write cycle
/// (t_WR ≤ 5 ms); we probe every `pollInterval` through the injected `Delay`, at most `maxPolls` times, then
/// throw `.storage` (timed out). `store` returns only when every byte is programmed. A NACK is any
/// `.noAcknowledge` kind: adapters report it as `ENXIO` or, like the Raspberry Pi's `i2c-bcm2835`, as `EREMOTEIO`.
///
/// **A store that failed half-way** (an I2C error, a write cycle that never ended) leaves some of its bytes on the
/// chip. The ring then re-reads the chip (``load()``) before its next store, so that store's diff is taken against
/// what the chip really holds and no byte is skipped.
///
/// **Power loss mid-page.** Only the bytes being programmed can be damaged. The ring writes records only into
/// space that is free in the committed image and writes its header into the *other* slot, with a CRC-32 over
/// header and live data, so after a cut the old slot still validates (or, if the header landed, the new one).
///
/// **Wear.** Unchanged bytes are never rewritten; records go round the 384-byte data area, so their writes
/// spread over all of it; the header alternates between two slots, within a slot only changed bytes (generation,
/// run, context, CRC: about nine of 64) are written, and the header's place in its slot rotates every 256
/// generations (``RingImage``), so those bytes do not wear the same cells. With the network up the daemon commits
/// once per record (acknowledgements that catch up are deferred to the next commit, see ``ReadingRing``). Measured
/// on the chip model (`RingWearTests`): a year of 60 s records with stdout and one forwarder is 525 601 commits;
/// the most written byte (in a header slot) sees 37 314 writes, the most written data byte 13 404. At the
/// AT24C04's 1 000 000 cycles that is about 26 years. (Before the rotation and the deferred acknowledgements,
/// three commits a minute and fixed header bytes wore the CRC cells about 790 000 times a year: 15 months.)
public struct AT24C04RingStorage<Bus: I2CDevice, Wait: Delay>: RingStorage {
    public var bus: Bus
    public var delay: Wait
    /// 7-bit address of block 0 (0x50 when A2 is low); block 1 is `address | 1`.
    public let address: UInt8
    /// Wait between two ACK polls.
    public var pollInterval: Duration
    /// Polls before giving up on a write cycle (default 20 × 500 µs = 10 ms, twice t_WR max).
    public var maxPolls: Int
    /// Page writes issued so far.
    public private(set) var pageWrites = 0
    /// ACK polls that found the chip still busy.
    public private(set) var busyPolls = 0

    public static var pageSize: Int { 16 }

    public init(
        bus: Bus, delay: Wait, address: UInt8 = 0x50, pollInterval: Duration = .microseconds(500), maxPolls: Int = 20
    ) {
        self.bus = bus
        self.delay = delay
        self.address = address & 0x7E
        self.pollInterval = pollInterval
        self.maxPolls = max(maxPolls, 1)
    }

    private var name: String { "24C04 EEPROM at 0x" + String(address, radix: 16) }

    /// Reads both 256-byte blocks (random read from word address 0 of each block).
    public mutating func load() throws(RingError) -> [UInt8]? {
        var image: [UInt8] = []
        image.reserveCapacity(RingImage.size)
        for block in 0..<2 {
            let device = address | UInt8(block)
            try waitUntilReady(device)
            let bytes: [UInt8]
            do {
                bytes = try bus.writeRead(address: device, [0x00], count: 256)
            } catch {
                throw RingError(.storage, "\(name): read of block \(block) failed", underlying: error)
            }
            guard bytes.count == 256 else {
                throw RingError(.storage, "\(name): read of block \(block) returned \(bytes.count) bytes, expected 256")
            }
            image += bytes
        }
        return image
    }

    public mutating func store(_ image: [UInt8], changed: [Range<Int>]) throws(RingError) {
        guard image.count == RingImage.size else {
            throw RingError(.storage, "\(name): image is \(image.count) bytes, expected \(RingImage.size)")
        }
        for range in changed {
            var start = range.lowerBound
            while start < range.upperBound {
                let pageEnd = (start / Self.pageSize + 1) * Self.pageSize
                let end = min(range.upperBound, pageEnd)
                try writePage(at: start, Array(image[start..<end]))
                start = end
            }
        }
    }

    /// One page write: block select in the device address, 8-bit word address, then ≤ 16 data bytes that do not
    /// cross a page; then ACK polling until the write cycle ends.
    private mutating func writePage(at offset: Int, _ bytes: [UInt8]) throws(RingError) {
        let device = address | UInt8(offset >> 8)
        do {
            try bus.write(address: device, [UInt8(offset & 0xFF)] + bytes)
        } catch {
            throw RingError(
                .storage, "\(name): page write of \(bytes.count) bytes at 0x" + String(offset, radix: 16) + " failed",
                underlying: error)
        }
        pageWrites += 1
        try waitUntilReady(device)
    }

    /// ACK polling (AT24C04C datasheet, "Acknowledge Polling"): probe until the address is acknowledged.
    private mutating func waitUntilReady(_ device: UInt8) throws(RingError) {
        var lastError: HALError?
        for attempt in 0..<maxPolls {
            do {
                try bus.probe(address: device)
                return
            } catch  where error.isNoAcknowledge {
                // A probe has no data byte, so any NACK is the address phase: the chip is still busy.
                lastError = error
                busyPolls += 1
                if attempt + 1 < maxPolls { delay.delay(pollInterval) }
            } catch {
                throw RingError(.storage, "\(name): ACK poll failed", underlying: error)
            }
        }
        throw RingError(
            .storage, "\(name): write cycle not finished after \(maxPolls) polls \(pollInterval) apart",
            underlying: lastError)
    }
}

extension HALError {
    fileprivate var isNoAcknowledge: Bool {
        if case .noAcknowledge = kind { return true }
        return false
    }
}
