import CivilTime
import Firmware
import FuzzSupport
import P1

/// libFuzzer entry point (built with `-sanitize=fuzzer,address`, run by `scripts/fuzz`).
///
/// The path a telegram takes in the firmware after the P1 reader, which `P1Fuzz` does not follow:
/// bytes → `P1Framer` → `P1Reading` → `P1Sample.metered(reading:receivedAt:)` → `IntervalAggregator` (and its
/// `DemandTracker`s) as the measurement loop drives it → closed `IntervalRecord`s → `ReadingRing` append (record
/// encoding) → reload from the committed image (decoding) → `Payloads.record` / `Payloads.live` JSON.
///
/// Time is fuzz-derived and bounded, never the wall clock: telegram `i` arrives `steps[i % 8]` seconds after the
/// previous one (0…254 s; 255 steps back 30 s, a clock step), from a start picked by the last byte among six-hour
/// offsets around the end of March 2024 (month end and the summer-time change). `steps` are the eight bytes
/// before the last one. Properties: no trap; a record the ring refuses is refused for a reason
/// (`.invalidRecord` naming a field, `.full`), never a trap; the reloaded ring holds the records appended; every
/// JSON is valid.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    P1RecordFuzz.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

enum P1RecordFuzz {
    /// 2024-03-31 00:00 UTC, Unix milliseconds.
    static let baseTime: Int64 = 1_711_843_200_000

    static func run(_ input: [UInt8]) {
        let selector = input[input.count - 1]
        let steps = Array(input.suffix(9).prefix(8))
        var options = P1Framer.Options()
        options.requireCRC = selector & 0x01 == 0
        var framer = P1Framer(options: options)
        var aggregator = IntervalAggregator(length: selector & 0x02 == 0 ? 60 : 10)
        var ring: ReadingRing<RAMRingStorage>
        do {
            ring = try ReadingRing(storage: RAMRingStorage(), nominalInterval: aggregator.length)
        } catch {
            check(false, "an empty RAM ring does not open: \(error)")
            return
        }
        var appended: [IntervalRecord] = []
        var time = baseTime + Int64(selector >> 2) * 6 * 3_600_000 - 7 * 86_400_000
        var index = 0

        for event in framer.feed(input) {
            guard case .telegram(let telegram) = event else {
                aggregator.flag(.sourceError)
                continue
            }
            let step = steps.isEmpty ? 10 : steps[index % steps.count]
            time += step == 0xFF ? -30_000 : Int64(step) * 1000 + Int64(index * 137 % 1000)
            index += 1
            do {
                let sample = try P1Sample.metered(reading: telegram.reading, receivedAt: UnixTime(milliseconds: time))
                let (closed, accepted) = aggregator.add(sample)
                store(closed, in: &ring, appended: &appended)
                if accepted {
                    let live = Payloads.live(.p1(sample, demand: DemandView(meterOf: sample)), device: "fuzz")
                    checkJSON(live, "Payloads.live")
                }
            } catch {
                aggregator.flag(.sourceError)
                store(aggregator.advance(to: UnixTime(milliseconds: time)), in: &ring, appended: &appended)
            }
        }
        store(
            aggregator.advance(to: UnixTime(milliseconds: time + aggregator.length * 1000)), in: &ring,
            appended: &appended)

        // The committed image loads back to the ring's records, each with the contents appended.
        do {
            let reopened = try ReadingRing(storage: RAMRingStorage(image: ring.image), nominalInterval: 60)
            check(reopened.records == ring.records, "reloaded ring differs from the ring")
        } catch {
            check(false, "the committed image does not load: \(error)")
        }
        if ring.mergeCount == 0 {
            check(ring.records.count == appended.count, "\(appended.count) appended, \(ring.records.count) stored")
            for (stored, original) in zip(ring.records, appended) {
                var expected = original
                // The ring numbers records and stamps its epoch (the de-duplication id): the rest is what was appended.
                (expected.firstSequence, expected.lastSequence) = (stored.firstSequence, stored.lastSequence)
                expected.epoch = stored.epoch
                check(stored == expected, "stored \(stored) differs from appended \(original)")
            }
        }
        for record in ring.records { checkJSON(Payloads.record(record, device: "ring"), "Payloads.record") }
    }

    /// What the measurement loop's output does with a closed record: JSON for the forwarders, append to the ring.
    static func store(
        _ records: [IntervalRecord], in ring: inout ReadingRing<RAMRingStorage>, appended: inout [IntervalRecord]
    ) {
        for record in records {
            checkJSON(Payloads.record(record, device: "fuzz"), "Payloads.record of a closed record")
            do {
                try ring.append(record)
                appended.append(record)
            } catch {
                check(error.kind == .invalidRecord || error.kind == .full, "ring append failed: \(error)")
            }
        }
    }

    static func checkJSON(_ json: [UInt8], _ what: String) {
        check(JSONValidator.isValid(json), "\(what) wrote invalid JSON: \(String(decoding: json, as: UTF8.self))")
    }

    /// Traps on a broken invariant: libFuzzer records the input as a crash.
    static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError("P1 record fuzz invariant broken: \(message())") }
    }
}
