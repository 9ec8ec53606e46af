import CivilTime
import Firmware

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// libFuzzer entry point (built with `-sanitize=fuzzer,address`, run by `scripts/fuzz`).
///
/// One input is a ring image as the storage holds it at start (512 bytes; other lengths too). The first byte
/// is a mode, the rest the image:
/// - bit 0: the harness writes correct CRC-32s into both header slots (over the header and the runs it names),
///   so mutated record bytes reach the record decoder instead of stopping at the CRC;
/// - bit 1: the image is also loaded through ``FileRingStorage`` (written as a file slot with a correct CRC), as
///   `emeter ring show` and the firmware do: it must give the records ``RAMRingStorage`` gives.
/// Then, as `emeter ring show`: every record is iterated and written as JSON (`Payloads.record`). Properties:
/// no trap; every loaded record passes `IntervalRecord.validate()` (a record that does not is a corrupt slot,
/// and the ring must not load it); consumers can register, take and acknowledge records; appending a record
/// commits an image that loads back to the same records.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    RingFuzz.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

enum RingFuzz {
    static func run(_ input: [UInt8]) {
        let mode = input[0]
        var image = Array(input.dropFirst())
        if mode & 0x01 != 0, image.count == ReadingRing<RAMRingStorage>.imageSize {
            RingImageFixup.fixCRCs(&image)
        }
        if mode & 0x02 != 0, image.count == ReadingRing<RAMRingStorage>.imageSize {
            compareFileLoad(image)
        }
        exercise(RAMRingStorage(image: image))
    }

    /// The file storage loads the image the RAM storage holds: both rings hold the same records.
    static func compareFileLoad(_ image: [UInt8]) {
        guard let storage = RingFile.storage(holding: image) else { return }
        do {
            // The same epoch for both: a version-1 image is migrated with a newly drawn one.
            let fromFile = try ReadingRing(storage: storage, nominalInterval: 60, epoch: 7)
            let fromRAM = try ReadingRing(storage: RAMRingStorage(image: image), nominalInterval: 60, epoch: 7)
            check(fromFile.records == fromRAM.records, "file and RAM storage load different records")
        } catch {
            check(false, "loading a readable image threw \(error)")
        }
    }

    static func exercise<Storage: RingStorage>(_ storage: consuming Storage) {
        var ring: ReadingRing<Storage>
        do {
            ring = try ReadingRing(storage: storage, nominalInterval: 60)
        } catch {
            _ = error.description
            return
        }
        // `emeter ring show`: every record as JSON.
        for record in ring.records {
            do {
                try record.validate()
            } catch {
                check(false, "the ring loaded a record that fails validation (\(error)): \(record)")
            }
            let json = Payloads.record(record, device: "ring")
            check(!json.isEmpty && json.first == UInt8(ascii: "{"), "record JSON does not start with {")
        }
        _ = (ring.count, ring.usedBytes, ring.recordSizes, ring.nextSequence, ring.generation)

        // A forwarder draining it: register, take, acknowledge.
        let consumer = ConsumerID("fuzz")
        do {
            try ring.register(consumer)
            if let record = try ring.next(for: consumer) {
                try ring.acknowledge(consumer, through: record.lastSequence)
            }
            _ = ring.backlog(for: consumer)
        } catch {
            _ = error.description
        }

        // Appending commits an image that loads back to the same records.
        let last = ring.records.last
        let start = min(max(last?.end.seconds ?? 1_700_000_000, 0), Int64(UInt32.max) - 120)
        let record = IntervalRecord(
            start: UnixTime(seconds: start), end: UnixTime(seconds: start + 60),
            p1: P1Interval(importTariff1Wh: 12, averagePowerW: 720))
        do {
            try ring.append(record)
        } catch {
            _ = error.description
        }
        let committed = ring.image
        do {
            let reopened = try ReadingRing(storage: RAMRingStorage(image: committed), nominalInterval: 60)
            if ring.commitCount > 0 {
                check(reopened.loadedExistingImage, "a committed image does not load")
                check(reopened.records == ring.records, "reloaded records differ from the ring's")
            }
        } catch {
            check(false, "loading a committed image threw \(error)")
        }
    }

    /// Traps on a broken invariant: libFuzzer records the input as a crash.
    static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError("Ring fuzz invariant broken: \(message())") }
    }
}

/// The ring image layouts as documented in `RingImage.swift`. Version 2: header slots of 96 bytes at 0 and 96,
/// data area of 320 bytes from 192, CRC-32 at byte 92 of a slot over bytes 0..<92 and the live bytes of its two
/// runs. Version 1 (migrated when loaded): slots of 64 bytes, data area of 384 bytes from 128, CRC at byte 60.
enum RingImageFixup {
    /// Writes the CRC each slot would need to be valid (the runs it names are taken as they are), in the layout of
    /// the version byte of slot 0 (version 1 when it says 1, version 2 otherwise).
    static func fixCRCs(_ image: inout [UInt8]) {
        let version1 = image.count > 2 && image[2] == 1
        let slotSize = version1 ? 64 : 96
        let crcOffset = version1 ? 60 : 92
        let dataStart = 2 * slotSize
        let dataSize = image.count - dataStart
        for slot in 0..<2 {
            let base = slot * slotSize
            func le16(_ offset: Int) -> Int { Int(image[base + offset]) | Int(image[base + offset + 1]) << 8 }
            var crc = CRC32()
            crc.update(image[base..<(base + crcOffset)])
            for run in [(le16(10), le16(12)), (le16(14), le16(16))] {
                guard run.0 < dataSize, run.1 <= dataSize else { continue }
                for index in 0..<run.1 { crc.update(CollectionOfOne(image[dataStart + (run.0 + index) % dataSize])) }
            }
            for index in 0..<4 {
                image[base + crcOffset + index] = UInt8(truncatingIfNeeded: crc.value >> (8 * index))
            }
        }
    }
}

/// CRC-32/ISO-HDLC (reflected 0xEDB88320), as the ring and its file storage use; table-driven for speed.
struct CRC32 {
    static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? (value >> 1) ^ 0xEDB8_8320 : value >> 1 }
        return value
    }
    private var state: UInt32 = 0xFFFF_FFFF
    var value: UInt32 { state ^ 0xFFFF_FFFF }

    mutating func update<Bytes: Sequence<UInt8>>(_ bytes: Bytes) {
        for byte in bytes { state = Self.table[Int(UInt8(truncatingIfNeeded: state) ^ byte)] ^ (state >> 8) }
    }
}

/// A ring file (`FileRingStorage` layout: slot A at 0, magic "ERFS", generation u64, CRC-32 u32, the image)
/// in the temporary directory, rewritten for each input: `$TMPDIR`, else `/dev/shm` (tmpfs) when there is one,
/// else `/tmp`. On ext4, truncating and rewriting the file for every input wrote it back on close: 5 % of the run
/// time in the kernel (perf).
enum RingFile {
    static let path: String = {
        let directory =
            getenv("TMPDIR").map { String(cString: $0) } ?? (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp")
        return "\(directory)/emeter-ring-fuzz-\(getpid()).bin"
    }()

    static func storage(holding image: [UInt8]) -> FileRingStorage? {
        var bytes = Array("ERFS".utf8) + [1, 0, 0, 0, 0, 0, 0, 0]
        var crc = CRC32()
        crc.update(bytes[4..<12])
        crc.update(image)
        for index in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: crc.value >> (8 * index))) }
        bytes += image
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { return nil }
        return FileRingStorage(path: path)
    }
}
