import CivilTime
import Testing

@testable import Firmware

/// Is `record` aligned to a boundary of its own granularity: inside one quarter-hour (minute detail), or whole
/// quarter-hours inside one hour, whole hours inside one UTC day, or whole UTC days?
private func isAligned(_ record: IntervalRecord) -> Bool {
    let (start, end) = (record.start.seconds, record.end.seconds)
    func inside(_ unit: Int64) -> Bool { start / unit == (end - 1) / unit }
    func on(_ unit: Int64) -> Bool { start % unit == 0 && end % unit == 0 }
    return inside(900) || (on(900) && inside(3600)) || (on(3600) && inside(86_400)) || on(86_400)
}

@Suite("Ring merging keeps billing detail")
struct RingMergeAlignmentTests {
    /// A 48 h outage of one-minute records, starting at 14:07, into the 512-byte ring with a forwarder that never
    /// takes a record: every stored record stays on the boundaries of its granularity, none overlaps another, no Wh is
    /// lost and the highest quarter-hour demand is still there.
    @Test func aTwoDayOutageMergesAlongQuarterHoursHoursAndDays() throws {
        var ring = try ReadingRing(storage: RAMRingStorage(), nominalInterval: 60, epoch: 3)
        try ring.register(ConsumerID("mqtt:broker/emeter"))
        let start = ringNewYear2026 + 86_400 + 14 * 3600 + 7 * 60
        var records = typicalRingRecords(48 * 60, start: start)
        // One quarter-hour with a demand far above the others, in the middle of the first night.
        records[700].p1?.quarterHourDemandW = 9_876
        for record in records { try ring.append(record) }

        let stored = ring.records
        #expect(ring.mergeCount > 0)
        #expect(RingTotals(stored) == RingTotals(records))
        #expect(stored.first?.start == UnixTime(seconds: start) && stored.last?.end == records.last?.end)
        for (older, newer) in zip(stored, stored.dropFirst()) {
            #expect(
                newer.start == older.end, "records \(older.sequences) and \(newer.sequences) overlap or leave a gap")
        }
        let misaligned = stored.filter { !isAligned($0) }
        #expect(
            misaligned.isEmpty,
            "not on the boundaries of their granularity: \(misaligned.map { ($0.start.seconds - start, $0.end.seconds - start) })"
        )
        #expect(stored.compactMap(\.p1?.quarterHourDemandW).max() == 9_876)
        // Detail is given up where it costs least: the newest hour still has quarter-hours or finer.
        #expect(stored.last.map { $0.duration <= .seconds(900) } == true)
    }
}
