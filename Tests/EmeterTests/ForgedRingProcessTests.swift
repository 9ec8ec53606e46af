import CivilTime
import Foundation
import Testing

@testable import Firmware

/// Issue "Hostile input" item 4 at process level: `emeter ring show` on a ring file whose image passes its CRC but
/// holds a record of `Int64.max` Wh reports the damaged copy and exits 65; before, it trapped (and so did
/// `emeter run` at start, restarted by systemd forever).
@Test func ringShowReportsAForgedImageInsteadOfTrapping() async throws {
    let directory = try temporaryDirectory("forged-ring")
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("ring.bin").path

    let context = RecordCoding.Context(
        end: 1_767_225_600, peakW: 0, peakTime: 0, lastSequence: 0, adePeakW: 0, adePeakTime: 0)
    let record = IntervalRecord(
        start: UnixTime(seconds: 1_767_225_600), end: UnixTime(seconds: 1_767_225_660),
        p1: P1Interval(importTariff1Wh: .max),
        firstSequence: 1, lastSequence: 1)
    let bytes = RecordCoding.encode(record, after: context, nominalInterval: 60)
    var image = [UInt8](repeating: 0, count: RingImage.size)
    image.replaceSubrange(RingImage.dataStart..<(RingImage.dataStart + bytes.count), with: bytes)
    RingImage.write(
        RingImage.Header(
            slot: 0, generation: 1, count: 1,
            runs: [RingImage.Run(offset: 0, length: bytes.count), RingImage.Run(offset: 0, length: 0)],
            nominalInterval: 60, context: context, positions: [nil, nil, nil, nil]),
        into: &image)
    var storage = FileRingStorage(path: path)
    try storage.store(image, changed: [0..<RingImage.size])

    let show = try await runEmeter(["ring", "show", "--file", path])
    #expect(show.status == 65)
    #expect(show.out.isEmpty)
    #expect(show.err.contains("\(path): damaged copy ignored: header slot 0 (generation 1): record 1 does not decode"))
    #expect(show.err.contains("above 2^40"))
}
