/// Identifies one forwarder (MQTT, HTTP backend …) that drains the ring; 0 ..< ``ReadingRing/maxConsumers``.
/// Keep the same id for the same forwarder across restarts: its acknowledged position is stored in the image.
public struct ConsumerID: Hashable, Sendable, CustomStringConvertible {
    public let index: Int
    /// - Precondition: `index` is in `0..<ReadingRing.maxConsumers` (ids come from static configuration).
    public init(_ index: Int) {
        precondition((0..<RingImage.maxConsumers).contains(index), "consumer index \(index) out of 0..<4")
        self.index = index
    }
    public var description: String { "consumer \(index)" }
}

/// The offline store of interval records: exactly 512 bytes including its header, so the whole image fits an
/// AT24C04 EEPROM. Used while forwarding is down; not a UART buffer.
///
/// **Records.** ``append(_:)`` encodes a record compactly (``RecordCoding``: presence bitmap, LEB128 varints,
/// times relative to the previous record; a typical one-minute P1 record is 10 bytes, so 35 fit) and assigns it
/// the next sequence number.
///
/// **Overflow merges.** When the free space would drop below a reserve, the two oldest adjacent records that no
/// consumer forbids are merged (``IntervalRecord/merged(with:)``): energies add up, so totals stay exact through
/// an outage of any length and only resolution degrades. ``mergeCount`` counts merges; nothing traps.
///
/// **Consumers (at-least-once).** Each registered consumer has an acknowledged position (a sequence number,
/// stored in the image). ``next(for:)`` hands out the oldest record the consumer has not acknowledged — the same
/// record again until it is acknowledged, so a failed send is simply retried — and pins it as *in flight*.
/// ``acknowledge(_:through:)`` takes the record's `lastSequence`. A record leaves the ring once every
/// registered consumer has acknowledged it. A pair `a`, `b` may merge only if, for every consumer, either both
/// are acknowledged or neither is acknowledged nor in flight. So a consumer never sees a record that overlaps
/// one it already received: summing the energy of what each consumer received counts every Wh exactly once.
/// After a restart nothing is in flight; a record sent but not acknowledged is sent again, identical (same
/// sequence range and interval), so a backend de-duplicates it by `firstSequence…lastSequence` or `start/end`.
/// Without any registered consumer records are kept (and merged) until one registers.
///
/// **Crash safety.** Every mutation is one or two *commits*. A commit writes new record bytes only into space
/// that is free in the current committed image, then writes the header (generation + 1, CRC-32 over header and
/// live data) into the *other* header slot. Power loss at any byte leaves either the old header with its data
/// intact, or the new one. A merge first stages the merged record (with any older records before it) in free
/// space just before the oldest record (commit 1), then moves it next to the newer records, into the space the
/// merged pair occupied (commit 2, shared with the append that needed the room). The image is never written
/// anywhere else, so ``RAMRingStorage``, ``FileRingStorage`` and ``AT24C04RingStorage`` all see the same
/// sequence of images.
///
/// **Storage errors.** If the storage throws, the ring rolls back to the last committed state and rethrows; the
/// operation did not happen (an `append` that threw did not store its record).
public struct ReadingRing<Storage: RingStorage>: ~Copyable {
    /// Size of the whole image, header included.
    public static var imageSize: Int { RingImage.size }
    /// Bytes available for encoded records.
    public static var dataCapacity: Int { RingImage.dataSize }
    public static var maxConsumers: Int { RingImage.maxConsumers }
    /// Free bytes kept for staging a merge, at least (see `reserve(including:)`).
    public static var minimumReserve: Int { 24 }
    /// Largest encoded size accepted for one appended record.
    public static var maxRecordSize: Int { 100 }

    struct Entry {
        var record: IntervalRecord
        var offset: Int
        var bytes: [UInt8]
        var end: Int { offset + bytes.count }
    }

    struct State {
        var entries: [Entry] = []
        var context: RecordCoding.Context = .init(end: 0, peakW: 0, peakTime: 0, lastSequence: 0)
        var nominalInterval: Int64
        var cursors: [UInt32?] = Array(repeating: nil, count: RingImage.maxConsumers)
        var generation: UInt32 = 0
        var slot = 1  // slot of the committed header; the first commit goes to slot 0
        var emptyOffset = 0  // where records go when there are none
    }

    /// The backend; exposed for tests and for closing a file.
    public var storage: Storage
    private var state: State
    private var committedImage: [UInt8]
    private var inFlight: [UInt32?] = Array(repeating: nil, count: RingImage.maxConsumers)
    /// Merges done since this ring was opened.
    public private(set) var mergeCount = 0
    /// Commits (stores) done since this ring was opened.
    public private(set) var commitCount = 0
    /// What ``init(storage:nominalInterval:)`` found: `true` when a valid image was loaded.
    public let loadedExistingImage: Bool

    /// Opens the ring stored in `storage`, or starts an empty one when it holds no valid image.
    /// - Parameters:
    ///   - nominalInterval: The usual record duration in seconds (1...65535); records of exactly this length
    ///     store no duration. Ignored when an image is loaded (the stored value is used).
    /// - Throws: `RingError` when the storage cannot be read.
    public init(storage: consuming Storage, nominalInterval: Int64 = 60) throws(RingError) {
        self.storage = storage
        let image = try self.storage.load()
        let nominal = min(max(nominalInterval, 1), 65535)
        if let image, image.count == RingImage.size, let loaded = Self.decode(image) {
            state = loaded
            committedImage = image
            loadedExistingImage = true
        } else {
            state = State(nominalInterval: nominal)
            committedImage = image?.count == RingImage.size ? image! : Array(repeating: 0, count: RingImage.size)
            loadedExistingImage = false
        }
    }

    // MARK: Reading

    /// Records stored, oldest first.
    public var records: [IntervalRecord] { state.entries.map(\.record) }
    public var count: Int { state.entries.count }
    public var isEmpty: Bool { state.entries.isEmpty }
    /// Bytes of the data area holding records.
    public var usedBytes: Int { state.entries.reduce(0) { $0 + $1.bytes.count } }
    /// Encoded size of each stored record, oldest first.
    public var recordSizes: [Int] { state.entries.map(\.bytes.count) }
    /// Generation of the committed header.
    public var generation: UInt32 { state.generation }
    public var nominalInterval: Int64 { state.nominalInterval }
    /// The sequence number the next appended record gets.
    public var nextSequence: UInt32 { lastContext.lastSequence &+ 1 }
    /// The committed image as last stored.
    public var image: [UInt8] { committedImage }

    /// The last sequence number `consumer` acknowledged, `nil` when it is not registered.
    public func acknowledgedSequence(for consumer: ConsumerID) -> UInt32? { state.cursors[consumer.index] }

    /// Records `consumer` has not acknowledged yet.
    public func backlog(for consumer: ConsumerID) -> Int {
        guard let acked = state.cursors[consumer.index] else { return 0 }
        return state.entries.count { $0.record.lastSequence > acked }
    }

    // MARK: Appending

    /// Stores `record`, merging older records first when space runs short.
    /// - Returns: The sequence number assigned (the record's `firstSequence` and `lastSequence`).
    /// - Throws: `.invalidRecord` when a field is out of range (see ``IntervalRecord/validate()``); `.full` when no
    ///   pair may be merged (consumers pin everything); `.storage` from the backend. The ring is then unchanged.
    @discardableResult
    public mutating func append(_ record: IntervalRecord) throws(RingError) -> UInt32 {
        try record.validate()
        var base = state
        if base.entries.isEmpty {
            // Nothing is coded against the header context while the ring is empty, so start it at this
            // record: its start and month peaks then cost nothing.
            base.context.end = record.start
            if let p1 = record.p1 {
                (base.context.peakW, base.context.peakTime) = (p1.monthPeakDemandW, p1.monthPeakTime)
            }
            if let ade = record.ade9000 {
                (base.context.adePeakW, base.context.adePeakTime) = (ade.monthPeakDemandW, ade.monthPeakTime)
            }
        }
        let context = base.entries.isEmpty ? base.context : lastContext
        guard context.lastSequence < UInt32.max - 1 else {
            throw RingError(.full, "sequence numbers exhausted at \(context.lastSequence)")
        }
        var stored = record
        stored.firstSequence = context.lastSequence + 1
        stored.lastSequence = stored.firstSequence
        let bytes = RecordCoding.encode(stored, after: context, nominalInterval: state.nominalInterval)
        guard bytes.count <= Self.maxRecordSize else {
            throw RingError(
                .invalidRecord, "record encodes to \(bytes.count) bytes, expected at most \(Self.maxRecordSize)")
        }
        // Merge while the free space after this record would fall below the reserve. Each merge stages the
        // merged prefix (one commit); its compaction is committed together with the next step, so an append
        // that needs one merge costs two commits.
        var pending: State? = base.entries.isEmpty ? base : nil
        while Self.freeAfterTail(pending ?? state) - bytes.count < reserve(pending ?? state, including: bytes.count) {
            if let compacted = pending {
                try commit(compacted)
                pending = nil
            }
            guard let plan = firstMergePlan(state),
                Self.isFree(Self.liveMap(state.entries), offset: plan.stageOffset, length: plan.cost)
            else { break }
            try commit(plan.staged)
            mergeCount += 1
            pending = plan.compacted
        }
        if let compacted = pending,
            Self.freeAfterTail(compacted) < bytes.count
                || !Self.isFree(Self.liveMap(state.entries), offset: Self.tailOffset(compacted), length: bytes.count)
        {
            try commit(compacted)
            pending = nil
        }
        var next = pending ?? state
        guard Self.freeAfterTail(next) >= bytes.count else {
            throw RingError(
                .full,
                "no room for a \(bytes.count)-byte record and no pair of records may be merged "
                    + "(every pair is pinned by a consumer in flight)")
        }
        next.entries.append(Entry(record: stored, offset: Self.tailOffset(next), bytes: bytes))
        try commit(next)
        return stored.firstSequence
    }

    // MARK: Consumers

    /// Registers `consumer`; a new consumer starts before the oldest stored record. Registering again keeps
    /// its position.
    public mutating func register(_ consumer: ConsumerID) throws(RingError) {
        guard state.cursors[consumer.index] == nil else { return }
        var next = state
        next.cursors[consumer.index] = state.context.lastSequence
        try commit(next)
    }

    /// Forgets `consumer`; records only it still needed are freed.
    public mutating func unregister(_ consumer: ConsumerID) throws(RingError) {
        guard state.cursors[consumer.index] != nil else { return }
        var next = state
        next.cursors[consumer.index] = nil
        Self.freeAcknowledged(&next)
        try commit(next)
        inFlight[consumer.index] = nil
    }

    /// The oldest record `consumer` has not acknowledged, now pinned as in flight (it will not be merged).
    /// Returns the same record until it is acknowledged; `nil` when the consumer is up to date.
    /// - Throws: `.unknownConsumer` when `consumer` is not registered.
    public mutating func next(for consumer: ConsumerID) throws(RingError) -> IntervalRecord? {
        guard let acked = state.cursors[consumer.index] else {
            throw RingError(.unknownConsumer, "\(consumer) is not registered")
        }
        guard let entry = state.entries.first(where: { $0.record.lastSequence > acked }) else { return nil }
        inFlight[consumer.index] = max(inFlight[consumer.index] ?? 0, entry.record.lastSequence)
        return entry.record
    }

    /// Records that `consumer`'s backend accepted everything up to and including `lastSequence`, which must be
    /// the `lastSequence` of a record handed out by ``next(for:)``. Acknowledging an older position again is a
    /// no-op (a duplicate ack). Records every consumer acknowledged are freed.
    /// - Throws: `.unknownConsumer`; `.invalidAcknowledgement` when `lastSequence` was not handed out or is not
    ///   a record boundary; `.storage`.
    public mutating func acknowledge(_ consumer: ConsumerID, through lastSequence: UInt32) throws(RingError) {
        guard let acked = state.cursors[consumer.index] else {
            throw RingError(.unknownConsumer, "\(consumer) is not registered")
        }
        guard lastSequence > acked else { return }
        guard let handedOut = inFlight[consumer.index], lastSequence <= handedOut,
            state.entries.contains(where: { $0.record.lastSequence == lastSequence })
        else {
            throw RingError(
                .invalidAcknowledgement,
                "\(consumer) acknowledged sequence \(lastSequence), expected the lastSequence of a record it was "
                    + "handed (acknowledged so far: \(acked), handed out up to: \(inFlight[consumer.index].map(String.init) ?? "none"))"
            )
        }
        var next = state
        next.cursors[consumer.index] = lastSequence
        Self.freeAcknowledged(&next)
        try commit(next)
    }

    /// Forgets what `consumer` has in flight (e.g. its connection dropped before the ack); the records become
    /// mergeable again and ``next(for:)`` hands out the oldest unacknowledged one.
    ///
    /// Only call this when the records sent were certainly *not* delivered; otherwise keep them in flight so a
    /// later merge cannot make the backend count their energy twice.
    public mutating func cancelInFlight(_ consumer: ConsumerID) {
        inFlight[consumer.index] = nil
    }

    // MARK: Internals: space

    private var lastContext: RecordCoding.Context {
        guard let last = state.entries.last else { return state.context }
        return Self.context(state, before: state.entries.count - 1).advanced(by: last.record)
    }

    /// The context the record at `index` is coded against.
    private static func context(_ state: State, before index: Int) -> RecordCoding.Context {
        var context = state.context
        for entry in state.entries[..<index] { context = context.advanced(by: entry.record) }
        return context
    }

    private static func tailOffset(_ state: State) -> Int {
        guard let last = state.entries.last else { return state.emptyOffset }
        return last.end % RingImage.dataSize
    }

    /// Free space to keep after an append so the next merge can be staged: the staging cost of the oldest
    /// mergeable pair plus one largest record (in case a consumer pins another record meanwhile), and at
    /// least twice the largest record.
    private func reserve(_ state: State, including size: Int) -> Int {
        let largest = max(size, state.entries.map(\.bytes.count).max() ?? 0)
        let staging = firstMergePlan(state)?.cost ?? 0
        return max(Self.minimumReserve, 2 * largest, staging + largest)
    }

    private static func liveMap(_ entries: [Entry]) -> [Bool] {
        var live = Array(repeating: false, count: RingImage.dataSize)
        for entry in entries {
            for index in entry.offset..<entry.end { live[index % RingImage.dataSize] = true }
        }
        return live
    }

    /// Free bytes from the tail forward (circularly) up to the first live byte.
    private static func freeAfterTail(_ state: State) -> Int {
        if state.entries.isEmpty { return RingImage.dataSize }
        let live = liveMap(state.entries)
        let tail = tailOffset(state)
        var free = 0
        while free < RingImage.dataSize && !live[(tail + free) % RingImage.dataSize] { free += 1 }
        return free
    }

    private static func isFree(_ live: [Bool], offset: Int, length: Int) -> Bool {
        (0..<length).allSatisfy { !live[(offset + $0) % RingImage.dataSize] }
    }

    private static func wrap(_ offset: Int) -> Int {
        ((offset % RingImage.dataSize) + RingImage.dataSize) % RingImage.dataSize
    }

    // MARK: Internals: merging

    /// May the records at `index` and `index + 1` merge without a consumer losing or double-counting energy?
    private func mayMerge(_ state: State, _ index: Int) -> Bool {
        let a = state.entries[index].record
        let b = state.entries[index + 1].record
        for consumer in 0..<RingImage.maxConsumers {
            guard let acked = state.cursors[consumer] else { continue }
            let reached = max(acked, inFlight[consumer] ?? 0)
            guard acked >= b.lastSequence || reached < a.firstSequence else { return false }
        }
        return true
    }

    /// How the oldest mergeable pair would be merged: the records before it plus the merged record (the
    /// *prefix*) are written into free space just before the oldest record (commit 1, "staged"), then into the
    /// space the old prefix occupied, next to the newer records (commit 2, "compacted").
    struct MergePlan {
        var staged: State
        var compacted: State
        var stageOffset: Int
        /// Bytes of the new prefix: the free space the staging needs.
        var cost: Int
    }

    /// The plan for the oldest pair that consumers allow to merge, if any.
    private func firstMergePlan(_ state: State) -> MergePlan? {
        let entries = state.entries
        guard entries.count >= 2 else { return nil }
        for index in 0..<(entries.count - 1) where mayMerge(state, index) {
            let merged = entries[index].record.merged(with: entries[index + 1].record)
            let mergedBytes = RecordCoding.encode(
                merged, after: Self.context(state, before: index), nominalInterval: state.nominalInterval)
            let prefix = entries[..<index].map { ($0.record, $0.bytes) } + [(merged, mergedBytes)]
            let newLength = prefix.reduce(0) { $0 + $1.1.count }
            let oldLength = entries[...(index + 1)].reduce(0) { $0 + $1.bytes.count }
            let oldEnd = entries[index + 1].end
            // The old prefix must be one contiguous stretch, and the merge must not grow it.
            guard newLength <= oldLength, Self.wrap(oldEnd - entries[0].offset) == oldLength % RingImage.dataSize
            else { continue }
            let stageOffset = Self.wrap(entries[0].offset - newLength)
            func placed(at start: Int) -> [Entry] {
                var offset = start
                return prefix.map { record, bytes in
                    defer { offset += bytes.count }
                    return Entry(record: record, offset: offset % RingImage.dataSize, bytes: bytes)
                }
            }
            let rest = Array(entries[(index + 2)...])
            var staged = state
            staged.entries = placed(at: stageOffset) + rest
            var compacted = state
            compacted.entries = placed(at: Self.wrap(oldEnd - newLength)) + rest
            guard Self.runs(staged.entries).count <= 2, Self.runs(compacted.entries).count <= 2 else { continue }
            return MergePlan(staged: staged, compacted: compacted, stageOffset: stageOffset, cost: newLength)
        }
        return nil
    }

    private static func freeAcknowledged(_ state: inout State) {
        let registered = state.cursors.compactMap { $0 }
        guard let floor = registered.min() else { return }
        while let first = state.entries.first, first.record.lastSequence <= floor {
            state.context = state.context.advanced(by: first.record)
            state.emptyOffset = first.end % RingImage.dataSize
            state.entries.removeFirst()
        }
    }

    // MARK: Internals: commit

    /// Contiguous stretches of `entries` in order (a record may wrap around the end of the data area).
    static func runs(_ entries: [Entry]) -> [RingImage.Run] {
        var runs: [RingImage.Run] = []
        for entry in entries {
            if var last = runs.last,
                (last.offset + last.length) % RingImage.dataSize == entry.offset % RingImage.dataSize
            {
                last.length += entry.bytes.count
                runs[runs.count - 1] = last
            } else {
                runs.append(.init(offset: entry.offset % RingImage.dataSize, length: entry.bytes.count))
            }
        }
        return runs
    }

    /// Writes `next` as a new committed image (data into free space, then the header into the other slot).
    /// On a storage error the ring stays at the last committed state.
    private mutating func commit(_ next: State) throws(RingError) {
        var next = next
        next.generation = state.generation &+ 1
        next.slot = 1 - state.slot
        var image = committedImage
        let oldLive = Self.liveMap(state.entries)
        for entry in next.entries {
            for (index, byte) in entry.bytes.enumerated() {
                let position = (entry.offset + index) % RingImage.dataSize
                let imageIndex = RingImage.dataStart + position
                if image[imageIndex] != byte {
                    // The crash-safety invariant: only bytes free in the committed image are rewritten.
                    guard !oldLive[position] else {
                        throw RingError(.corrupt, "internal error: a commit would overwrite live data byte \(position)")
                    }
                    image[imageIndex] = byte
                }
            }
        }
        var runs = Self.runs(next.entries)
        guard runs.count <= 2 else {
            throw RingError(
                .corrupt, "internal error: the record layout has \(runs.count) runs, at most 2 fit the header")
        }
        if runs.isEmpty { runs.append(.init(offset: next.emptyOffset, length: 0)) }
        while runs.count < 2 { runs.append(.init(offset: 0, length: 0)) }
        RingImage.write(
            .init(
                slot: next.slot, generation: next.generation, count: next.entries.count, runs: runs,
                nominalInterval: next.nominalInterval, context: next.context, cursors: next.cursors),
            into: &image)
        let changed =
            Self.changedRanges(from: committedImage, to: image, within: RingImage.dataStart..<RingImage.size)
            + Self.changedRanges(from: committedImage, to: image, within: RingImage.slotRange(next.slot))
        try storage.store(image, changed: changed)
        committedImage = image
        state = next
        commitCount += 1
    }

    static func changedRanges(from old: [UInt8], to new: [UInt8], within bounds: Range<Int>) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start: Int?
        for index in bounds {
            if old[index] != new[index] {
                if start == nil { start = index }
            } else if let open = start {
                ranges.append(open..<index)
                start = nil
            }
        }
        if let open = start { ranges.append(open..<bounds.upperBound) }
        return ranges
    }

    // MARK: Internals: load

    /// The state of the newest valid header slot of `image`, `nil` when neither is valid.
    static func decode(_ image: [UInt8]) -> State? {
        let candidates = (0..<RingImage.slotCount).compactMap { RingImage.readHeader(image, slot: $0) }
            .sorted { Int32(bitPattern: $0.generation &- $1.generation) > 0 }
        for header in candidates {
            if let state = decode(image, header: header) { return state }
        }
        return nil
    }

    private static func decode(_ image: [UInt8], header: RingImage.Header) -> State? {
        var state = State(nominalInterval: header.nominalInterval)
        state.context = header.context
        state.generation = header.generation
        state.slot = header.slot
        state.emptyOffset = header.runs[0].offset
        var context = header.context
        for run in header.runs where run.length > 0 {
            var reader = RingByteReader(RingImage.dataBytes(image, run))
            while !reader.isAtEnd {
                let start = reader.position
                guard
                    let record = try? RecordCoding.decode(
                        &reader, after: context, nominalInterval: header.nominalInterval)
                else { return nil }
                state.entries.append(
                    Entry(
                        record: record, offset: (run.offset + start) % RingImage.dataSize,
                        bytes: Array(reader.bytes[start..<reader.position])))
                context = context.advanced(by: record)
            }
        }
        guard state.entries.count == header.count else { return nil }
        if runs(state.entries).count > 2 { return nil }
        let live = liveMap(state.entries)
        guard live.count(where: { $0 }) == header.runs[0].length + header.runs[1].length else { return nil }  // overlap
        state.cursors = header.cursors.map { cursor in
            cursor.map { min(max($0, header.context.lastSequence), context.lastSequence) }
        }
        return state
    }
}

extension IntervalRecord {
    /// Largest energy, volume or power the ring accepts in one appended record (2⁴⁰ ≈ 1.1 × 10¹²).
    public static let maxQuantity: Int64 = 1 << 40

    /// Checks that the record can be stored: times in 0...UInt32.max with `end ≥ start`; energies, gas,
    /// water, maxima, demand and peak in `0...maxQuantity`; average and ADE9000 max power within ±`maxQuantity`;
    /// voltages in 0...65535 (0.1 V) with max ≥ min; month peak time in 0...UInt32.max.
    /// - Throws: `RingError` of kind `.invalidRecord` naming the field.
    public func validate() throws(RingError) {
        func check(_ ok: Bool, _ field: String, _ value: Int64, _ expected: String) throws(RingError) {
            guard ok else {
                throw RingError(.invalidRecord, "IntervalRecord.\(field) = \(value), expected \(expected)")
            }
        }
        let time = Int64(0)...Int64(UInt32.max)
        let quantity = Int64(0)...Self.maxQuantity
        let signed = -Self.maxQuantity...Self.maxQuantity
        try check(time.contains(start), "start", start, "Unix seconds in \(time)")
        try check(time.contains(end) && end >= start, "end", end, "Unix seconds in \(time), ≥ start \(start)")
        func voltages(_ part: String, _ low: Int64?, _ high: Int64?) throws(RingError) {
            let range = Int64(0)...65535
            if let low { try check(range.contains(low), "\(part).voltageMinDecivolts", low, "0...65535") }
            if let high { try check(range.contains(high), "\(part).voltageMaxDecivolts", high, "0...65535") }
            if let low, let high {
                try check(high >= low, "\(part).voltageMaxDecivolts", high, "≥ voltageMinDecivolts \(low)")
            }
        }
        if let p1 {
            let quantities: [(String, Int64)] = [
                ("importTariff1Wh", p1.importTariff1Wh), ("importTariff2Wh", p1.importTariff2Wh),
                ("exportTariff1Wh", p1.exportTariff1Wh), ("exportTariff2Wh", p1.exportTariff2Wh),
                ("maxImportPowerW", p1.maxImportPowerW), ("maxExportPowerW", p1.maxExportPowerW),
                ("gasLitres", p1.gasLitres), ("waterLitres", p1.waterLitres),
                ("quarterHourDemandW", p1.quarterHourDemandW), ("monthPeakDemandW", p1.monthPeakDemandW),
            ]
            for (name, value) in quantities { try check(quantity.contains(value), "p1.\(name)", value, "0...2^40") }
            try check(signed.contains(p1.averagePowerW), "p1.averagePowerW", p1.averagePowerW, "±2^40")
            try check(
                p1.monthPeakDemandW <= Int64(UInt32.max), "p1.monthPeakDemandW", p1.monthPeakDemandW, "≤ UInt32.max")
            try check(time.contains(p1.monthPeakTime), "p1.monthPeakTime", p1.monthPeakTime, "Unix seconds in \(time)")
            try voltages("p1", p1.voltageMinDecivolts, p1.voltageMaxDecivolts)
        }
        if let ade = ade9000 {
            for (name, phase) in [("phaseA", ade.phaseA), ("phaseB", ade.phaseB), ("phaseC", ade.phaseC)] {
                try check(quantity.contains(phase.importWh), "ade9000.\(name).importWh", phase.importWh, "0...2^40")
                try check(quantity.contains(phase.exportWh), "ade9000.\(name).exportWh", phase.exportWh, "0...2^40")
            }
            try check(signed.contains(ade.averagePowerW), "ade9000.averagePowerW", ade.averagePowerW, "±2^40")
            try check(signed.contains(ade.maxPowerW), "ade9000.maxPowerW", ade.maxPowerW, "±2^40")
            try check(
                quantity.contains(ade.quarterHourDemandW), "ade9000.quarterHourDemandW", ade.quarterHourDemandW,
                "0...2^40")
            try check(
                (0...Int64(UInt32.max)).contains(ade.monthPeakDemandW), "ade9000.monthPeakDemandW",
                ade.monthPeakDemandW, "0...UInt32.max")
            try check(
                time.contains(ade.monthPeakTime), "ade9000.monthPeakTime", ade.monthPeakTime,
                "Unix seconds in \(time)")
            try voltages("ade9000", ade.voltageMinDecivolts, ade.voltageMaxDecivolts)
        }
    }
}
