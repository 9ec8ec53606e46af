import Testing

@testable import Firmware

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

@Suite("Ring on the file backend")
struct RingFileStorageTests {
    @Test func reopensWhatWasStored() throws {
        let path = ringTemporaryPath("roundtrip")
        defer { unlink(path) }
        var ring = try ReadingRing(storage: FileRingStorage(path: path))
        #expect(ring.loadedExistingImage == false)
        try ring.register(ConsumerID("c1"))
        let records = typicalRingRecords(100)
        for record in records { try ring.append(record) }
        let reopened = try ReadingRing(storage: FileRingStorage(path: path))
        #expect(reopened.loadedExistingImage == true)
        #expect(reopened.records == ring.records)
        #expect(RingTotals(reopened.records) == RingTotals(records))
        #expect(reopened.acknowledgedSequence(for: ConsumerID("c1")) == 0)
        #expect(ringReadFile(path).count == 4096 + 528)
    }

    @Test func slotLayoutIsMagicGenerationCRCImage() throws {
        let image = [UInt8](repeating: 0xA5, count: 512)
        let slot = FileRingStorage.slotBytes(generation: 0x0102, image: image)
        #expect(slot.count == 528)
        #expect(Array(slot[0..<12]) == Array("ERFS".utf8) + [0x02, 0x01, 0, 0, 0, 0, 0, 0])
        #expect(FileRingStorage.parseSlot(slot)?.0 == 0x0102)
        var damaged = slot
        damaged[300] ^= 0x01
        #expect(FileRingStorage.parseSlot(damaged) == nil)
    }

    static func records(inFile bytes: [UInt8], path: String) throws -> [IntervalRecord] {
        ringWriteFile(path, bytes)
        return try ReadingRing(storage: FileRingStorage(path: path)).records
    }

    /// The last write (a whole slot) is torn at every byte offset — the rest of the slot keeps its old bytes,
    /// with or without one garbage byte at the tear: loading gives the previous records or the new ones.
    @Test(arguments: [1, 7])
    func tornWriteAtEveryOffsetGivesPreviousOrNewImage(appendsBefore: Int) throws {
        let path = ringTemporaryPath("torn")
        let scratch = path + ".scratch"
        defer {
            unlink(path)
            unlink(scratch)
        }
        var ring = try ReadingRing(storage: FileRingStorage(path: path))
        let records = typicalRingRecords(appendsBefore + 1)
        for record in records.dropLast() { try ring.append(record) }
        let previous = ring.records
        let before = ringReadFile(path)
        try ring.append(records.last!)
        let new = ring.records
        let after = ringReadFile(path)
        let slotStart = ring.storage.currentSlot == 1 ? 4096 : 0
        #expect(after.count == 4096 + 528)
        var previousCount = 0
        for torn in 0...528 {
            for garbage in [false, true] {
                var bytes = before.count == after.count ? before : after.map { _ in 0 }
                if before.count != after.count { bytes.replaceSubrange(0..<before.count, with: before) }
                bytes.replaceSubrange(slotStart..<(slotStart + torn), with: after[slotStart..<(slotStart + torn)])
                if garbage && torn < 528 { bytes[slotStart + torn] ^= 0x5A }
                let loaded = try Self.records(inFile: bytes, path: scratch)
                // Once the bytes not yet written happen to equal the new ones, the slot is complete: new.
                let accepted = torn == 528 ? loaded == new : loaded == previous || loaded == new
                #expect(accepted, "torn after \(torn) bytes, garbage \(garbage)")
                if loaded == previous { previousCount += 1 }
            }
        }
        #expect(previousCount > 500)
    }

    /// The first write to slot B extends the file; cut off at every length it leaves slot A's image.
    @Test func truncatedExtensionGivesThePreviousImage() throws {
        let path = ringTemporaryPath("truncated")
        let scratch = path + ".scratch"
        defer {
            unlink(path)
            unlink(scratch)
        }
        var ring = try ReadingRing(storage: FileRingStorage(path: path))
        try ring.register(ConsumerID("c0"))  // slot A
        let previous = ring.records
        try ring.append(typicalRingRecords(1)[0])  // slot B: the file grows to 4096 + 528
        let after = ringReadFile(path)
        #expect(after.count == 4096 + 528)
        for length in 528..<after.count {
            #expect(try Self.records(inFile: Array(after[..<length]), path: scratch) == previous)
        }
        #expect(try Self.records(inFile: after, path: scratch) == ring.records)
        // A file cut inside the very first write holds no image at all: an empty ring, not garbage.
        for length in 0..<528 {
            ringWriteFile(scratch, Array(after[..<length]))
            let empty = try ReadingRing(storage: FileRingStorage(path: scratch))
            #expect(empty.loadedExistingImage == false && empty.count == 0)
        }
    }

    @Test func unreadableFileIsAStorageError() {
        do {
            _ = try ReadingRing(storage: FileRingStorage(path: "/proc/self/mem/nope"))
            Issue.record("opened a ring below a non-directory")
        } catch {
            #expect(error.kind == .storage)
            #expect(error.message.contains("/proc/self/mem/nope"))
        }
    }
}
