import CivilTime

/// Identifies one consumer of the ring (stdout, an MQTT or HTTP backend …) by a stable name: `stdout`,
/// `mqtt:<host>/<prefix>`, `http:<host><path>` or the `name:` given in the configuration.
///
/// The image stores the consumer's acknowledged position together with ``nameHash``, so a consumer keeps its
/// position across restarts whatever its place in the configuration: reordering forwarders is harmless, and a
/// removed forwarder's position is never inherited by another one.
public struct ConsumerID: Hashable, Sendable, CustomStringConvertible {
    /// The stable name.
    public let name: String

    public init(_ name: String) { self.name = name }

    /// What the ring image stores for this consumer: FNV-1a (32-bit) of the UTF-8 name, xor-folded to 16 bits
    /// (the folding the FNV authors recommend for short hashes). Two configured names with the same hash are
    /// refused (``ReadingRing/setConsumers(_:)``); the only effect of a collision with a *removed* consumer
    /// (1 in 65 536) is that a new consumer starts at the removed one's position instead of the oldest record.
    public var nameHash: UInt16 {
        var hash: UInt32 = 0x811C_9DC5
        for byte in name.utf8 {
            hash ^= UInt32(byte)
            hash &*= 0x0100_0193
        }
        return UInt16(truncatingIfNeeded: (hash >> 16) ^ (hash & 0xFFFF))
    }

    public var description: String { "consumer `\(name)`" }
}

/// A consumer registered in the stored image that ``ReadingRing/setConsumers(_:)`` unregistered because it is no
/// longer configured. The image keeps only a hash of its name.
public struct RemovedConsumer: Sendable, Equatable, CustomStringConvertible {
    /// ``ConsumerID/nameHash`` of its name.
    public var nameHash: UInt16
    /// The last sequence number it acknowledged.
    public var acknowledgedSequence: UInt32
    /// Records it had not taken yet; they stay in the ring as long as another consumer needs them.
    public var backlog: Int

    public var description: String {
        let hex = String(nameHash, radix: 16)
        return "consumer with name hash 0x\(String(repeating: "0", count: 4 - hex.count) + hex)"
    }
}

/// The offline store of interval records: exactly 512 bytes including its header, so the whole image fits an
/// AT24C04 EEPROM. Used while forwarding is down; not a UART buffer.
///
/// **Records.** ``append(_:)`` encodes a record compactly (``RecordCoding``: presence bitmap, LEB128 varints,
/// times relative to the previous record; a typical one-minute P1 record is 10 bytes, so 35 fit) and assigns it
/// the next sequence number.
///
/// **Overflow merges.** When the free space after an append would drop below a reserve, adjacent records are
/// merged first (``IntervalRecord/merged(with:)``): energies add up and the highest quarter-hour demand is kept, so
/// totals stay exact through an outage of any length and only resolution degrades, where it costs the least billing
/// detail: pairs inside one quarter-hour first, then whole quarter-hours inside an hour, whole hours inside a day,
/// whole days (``mergeDetailCost(_:_:)``), the oldest first at equal cost. A merged record thus always sits on the
/// boundaries of its granularity (never 14:07–15:23) while any such pair can merge; a 48-hour outage keeps its
/// recent hours in quarter-hours and its first day as hours or one day. Among those, the pair merged is one the
/// consumers allow (see below) whose merge can be staged in the free space; when forwarders hold records in flight,
/// pairs elsewhere are merged instead.
/// ``mergeCount`` counts merges; nothing traps. `append` throws `.full` only if no pair at all may merge.
///
/// **Consumers (at-least-once).** Each registered consumer has an acknowledged position (a sequence number,
/// stored in the image). ``next(for:)`` hands out the oldest record the consumer has not acknowledged — the same
/// record again until it is acknowledged, so a failed send is simply retried — and pins it as *in flight*.
/// ``acknowledge(_:through:)`` takes the record's `lastSequence`. A record leaves the ring once every
/// registered consumer has acknowledged it. A pair `a`, `b` may merge only if, for every consumer, either both
/// are acknowledged or neither is acknowledged nor in flight. So a consumer never sees a record that overlaps
/// one it already received: summing the energy of what each consumer received counts every Wh exactly once.
/// After a restart nothing is in flight; a record sent but not acknowledged is sent again, identical (same
/// ``IntervalRecord/id``: epoch and sequence range), so a backend de-duplicates it by that id.
/// Consumers are known by name (``ConsumerID``); ``setConsumers(_:)`` at start unregisters the ones no longer
/// configured and registers new ones at the oldest record.
///
/// **Deferred acknowledgements (wear).** An acknowledgement that catches a consumer up with the newest record, when
/// the committed image has that record as the consumer's only unacknowledged one, is applied in memory (the record
/// is freed there once every consumer has it) and committed with the next commit, normally the next append. With
/// the network up the daemon thus commits once per record instead of three times (append, stdout, forwarder), which
/// is what makes the 24C04 last (see ``AT24C04RingStorage``). If the power fails first, the image still has that one
/// record unacknowledged: it is sent again, identical (same ``IntervalRecord/id``), and since the backend may hold
/// it already, a ring opened on such an image never merges it until it is acknowledged again.
/// ``commitDeferredAcknowledgements()`` commits them at once (at a clean stop).
///
/// **Record ids.** Sequence numbers are unique only within one *storage epoch*: a random non-zero 32-bit value
/// drawn when the ring starts empty (a RAM ring at every start, a file or EEPROM ring whose image is missing or
/// damaged) and stored in the image, so a file or EEPROM ring keeps it, and its sequences, across restarts. Every
/// record carries it (``IntervalRecord/epoch``), and epoch plus sequence range is the record's unique
/// ``IntervalRecord/id``.
///
/// **Image versions.** A version-1 image (consumers known by their place in the configuration, no epoch) is
/// migrated when loaded: records and context are kept, a new epoch is drawn, and no consumer position is kept,
/// since version 1 did not say whose it was: every consumer starts at the oldest record, so records may be
/// delivered once more (at least once, never lost). The layout is otherwise the same, so the next commit writes a
/// version-2 header into the other slot like any commit, and is as crash-safe. ``migratedFromVersion1`` says it
/// happened.
/// ``cancelInFlight(_:)`` unpins a record whose send certainly failed; an acknowledgement for it that arrives
/// afterwards is refused (`.invalidAcknowledgement`) and the consumer gets the (possibly merged) record again.
/// Without any registered consumer records are kept (and merged) until one registers.
///
/// **Crash safety.** Every mutation is one or more *commits*. A commit writes new record bytes only into space
/// that is free in the current committed image, then writes the header (generation + 1, CRC-32 over header and
/// live data) into the *other* header slot. Power loss at any byte leaves either the old header with its data
/// intact, or the new one. A merge takes two commits: first the merged record, together with the records on
/// one side of the pair (the older ones, or the newer ones — whichever plan fits), is staged in free space
/// (before the oldest or after the newest record); then it is moved into the space the pair occupied (this
/// second commit is shared with the append that needed the room). If power fails between the two, the image
/// loads with the records in two runs and the next mutation joins them (one more commit). Records are only
/// ever written this way, so ``RAMRingStorage``, ``FileRingStorage`` and ``AT24C04RingStorage`` see the same
/// sequence of images.
///
/// **Storage errors.** If the storage throws, the ring stays at the last committed state and rethrows; an
/// `append` that threw did not store its record (a merge committed before it, to make room, stays). The medium may
/// hold part of the failed store, so the next commit first re-reads it (``RingStorage/load()``) and diff-writes
/// against what it really holds.
public struct ReadingRing<Storage: RingStorage>: ~Copyable {
    /// Size of the whole image, header included.
    public static var imageSize: Int { RingImage.size }
    /// Bytes available for encoded records.
    public static var dataCapacity: Int { RingImage.dataSize }
    public static var maxConsumers: Int { RingImage.maxConsumers }
    /// Free bytes kept after an append for staging the next merge, at least. The ring keeps
    /// `max(this, 2 × largest record, cheapest staging + largest record)`.
    public static var minimumReserve: Int { 24 }
    /// Largest encoded size accepted for one appended record.
    public static var maxRecordSize: Int { 100 }

    typealias Entry = RingEntry
    typealias State = RingState

    /// The backend; exposed for tests and for closing a file.
    public var storage: Storage
    private var state: State
    private var committedImage: [UInt8]
    private var inFlight: [UInt32?] = Array(repeating: nil, count: RingImage.maxConsumers)
    /// `false` after a store threw: the medium may then hold any part of that store (new record bytes in the free
    /// data area, part of the header in the other slot), which `committedImage` does not show. The next commit
    /// re-reads the medium first, so its diff starts from what the medium really holds.
    private var mediumMatchesImage = true
    /// Names of the consumers registered since this ring was opened, by ``ConsumerID/nameHash`` (the image keeps
    /// only the hash).
    private var knownNames: [UInt16: String] = [:]
    /// `true` after migrating a version-1 image until the first commit has written a version-2 header.
    private var headerIsVersion1 = false
    /// Data bytes live in the committed image. Normally those of `state`; after a deferred acknowledgement freed
    /// records in memory only, they also cover those records until the next commit, so nothing is written over them.
    private var committedLive: [Bool] = Array(repeating: false, count: RingImage.dataSize)
    /// Records freed by deferred acknowledgements: gone from `state`, still live in the committed image.
    private var deferredFree: [Entry] = []
    /// The consumer cursors in the committed image.
    private var committedCursors: [UInt32?] = Array(repeating: nil, count: RingImage.maxConsumers)
    /// Per consumer slot: after opening an image, the newest record when it was the only one the consumer had not
    /// acknowledged. Its acknowledgement may have been deferred and lost with the power (see "Deferred
    /// acknowledgements"), so the backend may hold it already: it is not merged with anything until acknowledged.
    private var uncertain: [UInt32?] = Array(repeating: nil, count: RingImage.maxConsumers)
    /// Merges done since this ring was opened.
    public private(set) var mergeCount = 0
    /// Merges done with the suffix plan (the front was pinned by consumers), for tests.
    private(set) var suffixMergeCount = 0
    /// Commits (stores) done since this ring was opened.
    public private(set) var commitCount = 0
    /// Bytes handed to the storage over those commits (the changed ranges: what an EEPROM wears by).
    public private(set) var bytesWritten = 0
    /// What ``init(storage:nominalInterval:)`` found: `true` when a valid image was loaded.
    public let loadedExistingImage: Bool
    /// Header slots whose checksum matched but whose records did not decode or were out of range (a CRC-32 is no
    /// MAC: a damaged or forged image can pass it), each as a sentence naming the slot and the problem. Such a slot
    /// is ignored like one with a wrong checksum: the older slot, or an empty ring, is used instead.
    public let loadProblems: [String]
    /// `true` when the loaded image was version 1 and was migrated (see "Image versions" above).
    public let migratedFromVersion1: Bool

    /// Opens the ring stored in `storage`, or starts an empty one when it holds no valid image.
    /// - Parameters:
    ///   - storage: Where the image lives.
    ///   - nominalInterval: The usual record duration in seconds (1...65535); records of exactly this length
    ///     store no duration. Ignored when an image is loaded (the stored value is used).
    ///   - epoch: The storage epoch to use when the ring starts empty (tests); `nil` draws a random non-zero one.
    ///     Ignored when a version-2 image is loaded (its epoch is kept).
    /// - Throws: `RingError` when the storage cannot be read.
    public init(storage: consuming Storage, nominalInterval: Int64 = 60, epoch: UInt32? = nil) throws(RingError) {
        self.storage = storage
        let image = try self.storage.load()
        let nominal = min(max(nominalInterval, 1), 65535)
        let newEpoch = epoch ?? UInt32.random(in: 1...UInt32.max)
        var problems: [String] = []
        if let image, image.count == RingImage.size {
            committedImage = image
            if var loaded = Self.decode(image, problems: &problems) {
                let version1 = loaded.epoch == 0  // only a version-1 header has no epoch
                if version1 {
                    loaded.epoch = newEpoch
                    for index in loaded.entries.indices { loaded.entries[index].record.epoch = newEpoch }
                }
                migratedFromVersion1 = version1
                headerIsVersion1 = version1
                state = loaded
                loadedExistingImage = true
                loadProblems = problems
                committedLive = Self.liveMap(loaded.entries)
                committedCursors = loaded.cursors
                if let newest = loaded.entries.last?.record.lastSequence {
                    let beforeNewest =
                        loaded.entries.count >= 2
                        ? loaded.entries[loaded.entries.count - 2].record.lastSequence : loaded.context.lastSequence
                    uncertain = loaded.cursors.map { $0 == beforeNewest ? newest : nil }
                }
                return
            }
        } else {
            committedImage = Array(repeating: 0, count: RingImage.size)
        }
        state = State(nominalInterval: nominal, epoch: newEpoch)
        loadedExistingImage = false
        loadProblems = problems
        migratedFromVersion1 = false
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
    /// The end of the last record ever appended (kept in the header after the records left); `nil` when none was.
    /// The measurement loop's checkpoint is checked against it (``LoopCheckpoint/resume(ringLastEnd:)``).
    public var lastRecordEnd: UnixTime? { lastContext.end > 0 ? UnixTime(seconds: lastContext.end) : nil }
    /// The committed image as last stored.
    public var image: [UInt8] { committedImage }
    /// The storage epoch: with a record's sequence range, its unique ``IntervalRecord/id``.
    public var epoch: UInt32 { state.epoch }

    /// The slot `consumer` holds in the image, `nil` when it is not registered.
    private func slot(of consumer: ConsumerID) -> Int? {
        let hash = consumer.nameHash
        return (0..<RingImage.maxConsumers).first { state.cursors[$0] != nil && state.names[$0] == hash }
    }

    /// The last sequence number `consumer` acknowledged, `nil` when it is not registered.
    public func acknowledgedSequence(for consumer: ConsumerID) -> UInt32? {
        slot(of: consumer).flatMap { state.cursors[$0] }
    }

    /// Records `consumer` has not acknowledged yet.
    public func backlog(for consumer: ConsumerID) -> Int {
        guard let acked = acknowledgedSequence(for: consumer) else { return 0 }
        return state.entries.count { $0.record.lastSequence > acked }
    }

    /// The registered consumers with their backlog, named when registered since this ring was opened, otherwise
    /// `#` and the name hash in hex (a consumer only the stored image knows).
    public var backlogByConsumer: [String: Int] {
        var backlog: [String: Int] = [:]
        for slot in 0..<RingImage.maxConsumers {
            guard let acked = state.cursors[slot] else { continue }
            let hash = state.names[slot]
            backlog[knownNames[hash] ?? "#" + String(hash, radix: 16)] = state.entries.count {
                $0.record.lastSequence > acked
            }
        }
        return backlog
    }

    // MARK: Appending

    /// Stores `record`, merging older records first when space runs short.
    ///
    /// The record's `firstSequence`/`lastSequence` are ignored: the ring assigns the next sequence number.
    /// Its flags are kept as given.
    /// - Returns: The sequence number assigned (the stored record's `firstSequence` and `lastSequence`).
    /// - Throws: `.invalidRecord` when a field is out of range (see ``IntervalRecord/validate()``); `.full` when no
    ///   pair may be merged (consumers pin everything); `.storage` from the backend. The record is then not
    ///   stored (merges committed to make room for it stay; they lose no energy).
    @discardableResult
    public mutating func append(_ record: IntervalRecord) throws(RingError) -> UInt32 {
        try record.validate()
        try joinSplitLayout()
        var base = state
        if base.entries.isEmpty {
            // Nothing is coded against the header context while the ring is empty, so start it at this
            // record: its start and month peaks then cost nothing.
            base.context.end = record.start.seconds
            if let p1 = record.p1 {
                base.context.peakW = p1.monthPeakDemandW
                base.context.peakTime = RecordCoding.seconds(p1.monthPeakTime)
            }
            if let ade = record.ade9000 {
                base.context.adePeakW = ade.monthPeakDemandW
                base.context.adePeakTime = RecordCoding.seconds(ade.monthPeakTime)
            }
        }
        let context = base.entries.isEmpty ? base.context : lastContext
        guard context.lastSequence < UInt32.max - 1 else {
            throw RingError(.full, "sequence numbers exhausted at \(context.lastSequence)")
        }
        var stored = record
        stored.firstSequence = context.lastSequence + 1
        stored.lastSequence = stored.firstSequence
        stored.epoch = state.epoch
        let bytes = RecordCoding.encode(stored, after: context, nominalInterval: state.nominalInterval)
        guard bytes.count <= Self.maxRecordSize else {
            throw RingError(
                .invalidRecord, "record encodes to \(bytes.count) bytes, expected at most \(Self.maxRecordSize)")
        }
        // Merge while the free space after this record would fall below the reserve. Each merge stages the
        // merged prefix (one commit); its compaction is committed together with the next step, so an append
        // that needs one merge costs two commits.
        var pending: State? = base.entries.isEmpty ? base : nil
        while freeAfterTail(pending ?? state) - bytes.count < reserve(pending ?? state, including: bytes.count)
            || (pending ?? state).entries.count >= RingImage.maxRecords
        {
            if let compacted = pending {
                try commit(compacted)
                pending = nil
            }
            guard let plan = chooseMergePlan(state) else { break }
            try commit(plan.staged)
            mergeCount += 1
            if plan.isSuffix { suffixMergeCount += 1 }
            pending = plan.compacted
        }
        if let compacted = pending,
            freeAfterTail(compacted) < bytes.count
                || !Self.isFree(committedLive, offset: Self.tailOffset(compacted), length: bytes.count)
        {
            try commit(compacted)
            pending = nil
        }
        var next = pending ?? state
        guard freeAfterTail(next) >= bytes.count, next.entries.count < RingImage.maxRecords else {
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
    /// - Throws: `.unknownConsumer` when all ``maxConsumers`` slots are taken by other consumers; `.storage`.
    public mutating func register(_ consumer: ConsumerID) throws(RingError) {
        knownNames[consumer.nameHash] = consumer.name
        guard slot(of: consumer) == nil else { return }
        try joinSplitLayout()
        var next = state
        let slot = try Self.add(consumer, to: &next)
        try commit(next)
        inFlight[slot] = nil
        uncertain[slot] = nil
    }

    /// Forgets `consumer`; records only it still needed are freed.
    public mutating func unregister(_ consumer: ConsumerID) throws(RingError) {
        guard slot(of: consumer) != nil else { return }
        try joinSplitLayout()
        guard let slot = slot(of: consumer) else { return }
        var next = state
        next.cursors[slot] = nil
        next.names[slot] = 0
        Self.freeAcknowledged(&next)
        try commit(next)
        inFlight[slot] = nil
        uncertain[slot] = nil
    }

    /// Makes `consumers` exactly the registered ones, in one commit: a consumer the image holds that is not among
    /// them is unregistered (records only it still needed are freed; the others keep theirs), a new one starts at
    /// the oldest stored record, and one already registered keeps its position, whatever its place in the list.
    /// - Returns: The consumers unregistered, for the log.
    /// - Throws: `.unknownConsumer` when two names are the same or hash alike (rename one), or there are more than
    ///   ``maxConsumers``; `.storage`. The ring is then unchanged.
    @discardableResult
    public mutating func setConsumers(_ consumers: [ConsumerID]) throws(RingError) -> [RemovedConsumer] {
        var byHash: [UInt16: ConsumerID] = [:]
        for consumer in consumers {
            if let other = byHash[consumer.nameHash] {
                throw RingError(
                    .unknownConsumer,
                    other.name == consumer.name
                        ? "two consumers are named `\(consumer.name)`; give one another `name:`"
                        : "the consumer names `\(other.name)` and `\(consumer.name)` have the same hash in the ring "
                            + "image; give one another `name:`")
            }
            byHash[consumer.nameHash] = consumer
        }
        guard consumers.count <= RingImage.maxConsumers else {
            throw RingError(
                .unknownConsumer,
                "\(consumers.count) consumers configured, the ring tracks at most \(RingImage.maxConsumers)")
        }
        try joinSplitLayout()
        var next = state
        var removed: [RemovedConsumer] = []
        var changed: [Int] = []
        for slot in 0..<RingImage.maxConsumers {
            guard let acked = next.cursors[slot], byHash[next.names[slot]] == nil else { continue }
            removed.append(
                RemovedConsumer(
                    nameHash: next.names[slot], acknowledgedSequence: acked,
                    backlog: next.entries.count { $0.record.lastSequence > acked }))
            next.cursors[slot] = nil
            next.names[slot] = 0
            changed.append(slot)
        }
        Self.freeAcknowledged(&next)
        for consumer in consumers {
            knownNames[consumer.nameHash] = consumer.name
            let hash = consumer.nameHash
            guard !(0..<RingImage.maxConsumers).contains(where: { next.cursors[$0] != nil && next.names[$0] == hash })
            else { continue }
            changed.append(try Self.add(consumer, to: &next))
        }
        if !changed.isEmpty || headerIsVersion1 { try commit(next) }
        for slot in changed {
            inFlight[slot] = nil
            uncertain[slot] = nil
        }
        return removed
    }

    /// Puts `consumer` into a free slot of `state`, at the oldest stored record.
    /// - Returns: The slot.
    private static func add(_ consumer: ConsumerID, to state: inout State) throws(RingError) -> Int {
        guard let slot = state.cursors.firstIndex(where: { $0 == nil }) else {
            throw RingError(
                .unknownConsumer,
                "cannot register \(consumer): the ring tracks at most \(RingImage.maxConsumers) consumers and all "
                    + "are taken")
        }
        state.cursors[slot] = state.context.lastSequence
        state.names[slot] = consumer.nameHash
        return slot
    }

    /// The oldest record `consumer` has not acknowledged, without pinning it (for status displays; a forwarder
    /// that sends the record must use ``next(for:)``).
    /// - Throws: `.unknownConsumer` when `consumer` is not registered.
    public func peek(for consumer: ConsumerID) throws(RingError) -> IntervalRecord? {
        guard let acked = acknowledgedSequence(for: consumer) else {
            throw RingError(.unknownConsumer, "\(consumer) is not registered")
        }
        return state.entries.first(where: { $0.record.lastSequence > acked })?.record
    }

    /// The oldest record `consumer` has not acknowledged, now pinned as in flight (it will not be merged).
    /// Returns the same record until it is acknowledged; `nil` when the consumer is up to date.
    /// - Throws: `.unknownConsumer` when `consumer` is not registered.
    public mutating func next(for consumer: ConsumerID) throws(RingError) -> IntervalRecord? {
        guard let slot = slot(of: consumer), let acked = state.cursors[slot] else {
            throw RingError(.unknownConsumer, "\(consumer) is not registered")
        }
        guard let entry = state.entries.first(where: { $0.record.lastSequence > acked }) else { return nil }
        inFlight[slot] = max(inFlight[slot] ?? 0, entry.record.lastSequence)
        return entry.record
    }

    /// Up to `limit` (at least 1) of the oldest records `consumer` has not acknowledged, oldest first, all now pinned
    /// as in flight (none of them will be merged) for a backend that takes several records per request. Returns
    /// the same first record until it is acknowledged; empty when the consumer is up to date.
    /// - Throws: `.unknownConsumer` when `consumer` is not registered.
    public mutating func next(for consumer: ConsumerID, limit: Int) throws(RingError) -> [IntervalRecord] {
        guard let slot = slot(of: consumer), let acked = state.cursors[slot] else {
            throw RingError(.unknownConsumer, "\(consumer) is not registered")
        }
        let records = state.entries.lazy.filter { $0.record.lastSequence > acked }.prefix(max(1, limit)).map(\.record)
        guard let last = records.last else { return [] }
        inFlight[slot] = max(inFlight[slot] ?? 0, last.lastSequence)
        return Array(records)
    }

    /// Records that `consumer`'s backend accepted everything up to and including `lastSequence`, which must be
    /// the `lastSequence` of a record handed out by ``next(for:)``. Acknowledging an older position again is a
    /// no-op (a duplicate ack). Records every consumer acknowledged are freed.
    /// - Throws: `.unknownConsumer`; `.invalidAcknowledgement` when `lastSequence` was not handed out or is not
    ///   a record boundary; `.storage`.
    public mutating func acknowledge(_ consumer: ConsumerID, through lastSequence: UInt32) throws(RingError) {
        guard let slot = slot(of: consumer), let acked = state.cursors[slot] else {
            throw RingError(.unknownConsumer, "\(consumer) is not registered")
        }
        guard lastSequence > acked else { return }
        guard let handedOut = inFlight[slot], lastSequence <= handedOut,
            state.entries.contains(where: { $0.record.lastSequence == lastSequence })
        else {
            throw RingError(
                .invalidAcknowledgement,
                "\(consumer) acknowledged sequence \(lastSequence), expected the lastSequence of a record it was "
                    + "handed (acknowledged so far: \(acked), handed out up to: \(inFlight[slot].map(String.init) ?? "none"))"
            )
        }
        var next = state
        next.cursors[slot] = lastSequence
        Self.freeAcknowledged(&next)
        if let pin = uncertain[slot], lastSequence >= pin { uncertain[slot] = nil }
        if let newest = state.entries.last?.record.lastSequence, lastSequence == newest,
            committedCursors[slot] == Self.context(state, before: state.entries.count - 1).lastSequence
        {
            // Caught up with the newest record, which the committed image has as its only unacknowledged one: the
            // next commit (normally the next append) carries this acknowledgement.
            deferredFree += state.entries.prefix(state.entries.count - next.entries.count)
            state = next
            return
        }
        try commit(next)
    }

    /// Commits acknowledgements deferred in memory (see "Deferred acknowledgements"), e.g. before a clean stop, so
    /// nothing is sent again after the restart. Does nothing when there are none.
    public mutating func commitDeferredAcknowledgements() throws(RingError) {
        guard state.cursors != committedCursors else { return }
        try commit(state)
    }

    /// Forgets what `consumer` has in flight (e.g. its connection dropped before the ack); the records become
    /// mergeable again and ``next(for:)`` hands out the oldest unacknowledged one.
    ///
    /// Only call this when the records sent were certainly *not* delivered; otherwise keep them in flight so a
    /// later merge cannot make the backend count their energy twice.
    public mutating func cancelInFlight(_ consumer: ConsumerID) {
        guard let slot = slot(of: consumer) else { return }
        inFlight[slot] = nil
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

    /// Free space to keep after an append so the next merge can be staged: the cheapest staging plus one
    /// largest record (in case a consumer pins another record meanwhile), and at least twice the largest record.
    private func reserve(_ state: State, including size: Int) -> Int {
        let largest = max(size, state.entries.map(\.bytes.count).max() ?? 0)
        let staging = cheapestStagingBound(state) ?? 0
        return max(Self.minimumReserve, 2 * largest, staging + largest)
    }

    private static func liveMap(_ entries: [Entry]) -> [Bool] {
        var live = Array(repeating: false, count: RingImage.dataSize)
        for entry in entries {
            for index in entry.offset..<entry.end { live[index % RingImage.dataSize] = true }
        }
        return live
    }

    /// Bytes that new data must not go to: live in `state`, or freed by a deferred acknowledgement only.
    private func occupied(_ state: State) -> [Bool] {
        Self.liveMap(deferredFree.isEmpty ? state.entries : state.entries + deferredFree)
    }

    /// Free bytes from the tail forward (circularly) up to the first byte that is occupied (``occupied(_:)``): the
    /// distance to the nearest record ahead, without building the byte map.
    private func freeAfterTail(_ state: State) -> Int {
        let tail = Self.tailOffset(state)
        var free = RingImage.dataSize
        for entries in [state.entries, deferredFree] {
            for entry in entries where !entry.bytes.isEmpty {
                let start = Self.wrap(entry.offset - tail)
                // An entry that covers the tail (running on round from behind it) leaves no room at all.
                if start + entry.bytes.count > RingImage.dataSize { return 0 }
                free = min(free, start)
            }
        }
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
            let reached = max(acked, inFlight[consumer] ?? 0, uncertain[consumer] ?? 0)
            guard acked >= b.lastSequence || reached < a.firstSequence else { return false }
        }
        return true
    }

    /// One way to merge the pair at `index`, `index + 1` without writing over live bytes. The records on one
    /// side of the pair are rewritten together with the merged record:
    /// - *prefix* plan: the older records and the merged record are staged in the free space just before the
    ///   oldest record (commit 1), then moved next to the newer records, into the space the old prefix held;
    /// - *suffix* plan: the merged record and the newer records are staged in the free space after the tail
    ///   (commit 1), then moved back to where the pair started.
    /// The second commit is shared with an append when there is room.
    typealias MergePlan = RingMergePlan

    /// The plans for merging the pair at `index` (which the consumers allow), cheapest first.
    private func mergePlans(
        _ state: State, index: Int, context: RecordCoding.Context, olderLength: Int, total: Int
    ) -> [MergePlan] {
        let entries = state.entries
        let merged = entries[index].record.merged(with: entries[index + 1].record)
        let mergedBytes = RecordCoding.encode(merged, after: context, nominalInterval: state.nominalInterval)
        let pairLength = entries[index].bytes.count + entries[index + 1].bytes.count
        guard mergedBytes.count <= pairLength else { return [] }
        let newerLength = total - olderLength - pairLength
        let head = entries[0].offset
        let tail = Self.tailOffset(state)
        let pairStart = entries[index].offset
        let pairEnd = entries[index + 1].end
        func placed(_ items: [(IntervalRecord, [UInt8])], at start: Int) -> [Entry] {
            var offset = start
            return items.map { record, bytes in
                defer { offset += bytes.count }
                return Entry(record: record, offset: offset % RingImage.dataSize, bytes: bytes)
            }
        }
        var plans: [MergePlan] = []
        func add(_ staged: [Entry], _ compacted: [Entry], offset: Int, cost: Int, suffix: Bool) {
            var stagedState = state
            stagedState.entries = staged
            var compactedState = state
            compactedState.entries = compacted
            guard Self.runs(staged).count <= 2, Self.runs(compacted).count <= 2 else { return }
            plans.append(
                MergePlan(
                    index: index, staged: stagedState, compacted: compactedState, stageOffset: offset, cost: cost,
                    isSuffix: suffix))
        }
        // Prefix plan: the older records must be one contiguous stretch up to the pair.
        if Self.wrap(pairEnd - head) == (olderLength + pairLength) % RingImage.dataSize {
            let prefix = entries[..<index].map { ($0.record, $0.bytes) } + [(merged, mergedBytes)]
            let cost = olderLength + mergedBytes.count
            let newer = Array(entries[(index + 2)...])
            add(
                placed(prefix, at: Self.wrap(head - cost)) + newer,
                placed(prefix, at: Self.wrap(pairEnd - cost)) + newer,
                offset: Self.wrap(head - cost), cost: cost, suffix: false)
        }
        // Suffix plan: the newer records must be one contiguous stretch from the pair to the tail.
        if Self.wrap(tail - pairStart) == (pairLength + newerLength) % RingImage.dataSize {
            let suffix = [(merged, mergedBytes)] + entries[(index + 2)...].map { ($0.record, $0.bytes) }
            let cost = mergedBytes.count + newerLength
            let older = Array(entries[..<index])
            add(
                older + placed(suffix, at: tail), older + placed(suffix, at: pairStart), offset: tail, cost: cost,
                suffix: true)
        }
        return plans.sorted { $0.cost < $1.cost }
    }

    /// The plan to carry out now. The pairs the consumers allow to merge are tried where merging gives up the least
    /// billing detail first (``mergeDetailCost(_:_:)``), the oldest first at equal cost, so a merged record always
    /// sits on the boundaries of its granularity while any such pair fits; the first pair with a plan whose staging
    /// fits in free space is taken, with its cheapest such plan.
    private func chooseMergePlan(_ state: State) -> MergePlan? {
        let entries = state.entries
        guard entries.count >= 2 else { return nil }
        let live = occupied(state)
        let total = entries.reduce(0) { $0 + $1.bytes.count }
        var contexts: [RecordCoding.Context] = []
        var olderLengths: [Int] = []
        var context = state.context
        var olderLength = 0
        for entry in entries {
            contexts.append(context)
            olderLengths.append(olderLength)
            context = context.advanced(by: entry.record)
            olderLength += entry.bytes.count
        }
        // Cheap test first: no plan can stage in less than the merged record plus one side.
        let free = max(Self.freeBefore(head: entries[0].offset, live), freeAfterTail(state))
        let candidates = (0..<(entries.count - 1)).filter { mayMerge(state, $0) }
            .map { (index: $0, cost: Self.mergeDetailCost(entries[$0].record, entries[$0 + 1].record)) }
            .sorted { ($0.cost, $0.index) < ($1.cost, $1.index) }
        for (index, _) in candidates {
            let pairLength = entries[index].bytes.count + entries[index + 1].bytes.count
            let newerLength = total - olderLengths[index] - pairLength
            guard min(olderLengths[index], newerLength) < free else { continue }
            let plans = mergePlans(
                state, index: index, context: contexts[index], olderLength: olderLengths[index], total: total)
            if let plan = plans.first(where: { Self.isFree(live, offset: $0.stageOffset, length: $0.cost) }) {
                return plan
            }
        }
        return nil
    }

    /// The billing detail merging `older` with the record after it, `newer`, gives up, least first: 0 when the
    /// merged record stays inside one quarter-hour (the capacity tariff's unit: minutes are lost, no quarter-hour),
    /// 1 when it is whole quarter-hours inside one hour, 2 whole hours inside one day, 3 whole days (UTC; quarter-hours
    /// and hours are the same in any whole-hour time zone); 4 when the merged record would not sit on the boundaries
    /// of its granularity (such as 14:07–15:23), which is merged only when nothing else fits.
    static func mergeDetailCost(_ older: IntervalRecord, _ newer: IntervalRecord) -> Int {
        // In the ring's unit, Unix seconds (stored records lie in 0...UInt32.max).
        let start = older.start.seconds
        let last = max(newer.end.seconds - 1, start)
        let end = last + 1
        func inside(_ unit: Int64) -> Bool { start / unit == last / unit }
        func on(_ unit: Int64) -> Bool { start % unit == 0 && end % unit == 0 }
        if inside(900) { return 0 }
        if on(900) && inside(3600) { return 1 }
        if on(3600) && inside(86_400) { return 2 }
        if on(86_400) { return 3 }
        return unalignedMergeCost
    }

    /// ``mergeDetailCost(_:_:)`` of a pair whose merged record would not be aligned.
    static var unalignedMergeCost: Int { 4 }

    /// An upper bound of the cheapest staging among the pairs the consumers allow to merge, preferring those whose
    /// merge stays aligned (``mergeDetailCost(_:_:)``): the merged record is never longer than the pair, so a plan
    /// costs at most the pair plus the shorter side.
    private func cheapestStagingBound(_ state: State) -> Int? {
        let entries = state.entries
        guard entries.count >= 2 else { return nil }
        let total = entries.reduce(0) { $0 + $1.bytes.count }
        var olderLength = 0
        var best: Int?
        var bestAligned: Int?
        for index in 0..<(entries.count - 1) {
            defer { olderLength += entries[index].bytes.count }
            guard mayMerge(state, index) else { continue }
            let pairLength = entries[index].bytes.count + entries[index + 1].bytes.count
            let cost = pairLength + min(olderLength, total - olderLength - pairLength)
            best = min(best ?? cost, cost)
            if Self.mergeDetailCost(entries[index].record, entries[index + 1].record) < Self.unalignedMergeCost {
                bestAligned = min(bestAligned ?? cost, cost)
            }
        }
        // Room for the cheapest pair whose merge stays aligned, so an unaligned one is never the only one that fits.
        return bestAligned ?? best
    }

    /// Free bytes just before `head`, going backwards to the first live byte.
    private static func freeBefore(head: Int, _ live: [Bool]) -> Int {
        var free = 0
        while free < RingImage.dataSize && !live[wrap(head - 1 - free)] { free += 1 }
        return free
    }

    /// Joins the two runs of a layout left split by a merge whose second commit never happened (power loss
    /// between the two): the run that fits into the gap between them is moved there, in one commit.
    private mutating func joinSplitLayout() throws(RingError) {
        guard Self.runs(state.entries).count == 2 else { return }
        // The gap may hold records freed by a deferred acknowledgement, still live in the committed image: commit
        // their freeing first (this is rare: the split needs a power cut between the two commits of a merge).
        if !deferredFree.isEmpty { try commit(state) }
        let runs = Self.runs(state.entries)
        guard runs.count == 2 else { return }
        let gap = Self.wrap(runs[1].offset - (runs[0].offset + runs[0].length))
        var firstCount = 0
        var length = 0
        while length < runs[0].length {
            length += state.entries[firstCount].bytes.count
            firstCount += 1
        }
        func placed(_ entries: ArraySlice<Entry>, at start: Int) -> [Entry] {
            var offset = start
            return entries.map { entry in
                defer { offset += entry.bytes.count }
                return Entry(record: entry.record, offset: offset % RingImage.dataSize, bytes: entry.bytes)
            }
        }
        var next = state
        if gap >= runs[0].length {
            next.entries =
                placed(state.entries[..<firstCount], at: Self.wrap(runs[1].offset - runs[0].length))
                + state.entries[firstCount...]
        } else if gap >= runs[1].length {
            next.entries =
                Array(state.entries[..<firstCount])
                + placed(state.entries[firstCount...], at: Self.wrap(runs[0].offset + runs[0].length))
        } else {
            return
        }
        try commit(next)
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
        if !mediumMatchesImage { try reloadMediumAfterFailedStore() }
        var next = next
        next.generation = state.generation &+ 1
        next.slot = 1 - state.slot
        var image = committedImage
        let oldLive = committedLive
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
                nominalInterval: next.nominalInterval, context: next.context,
                positions: next.cursors.map { cursor in
                    cursor.map { acked in next.entries.count { $0.record.lastSequence <= acked } }
                },
                names: next.names, epoch: next.epoch),
            into: &image)
        let changed =
            Self.changedRanges(from: committedImage, to: image, within: RingImage.dataStart..<RingImage.size)
            + Self.changedRanges(from: committedImage, to: image, within: RingImage.slotRange(next.slot))
        do {
            try storage.store(image, changed: changed)
        } catch {
            mediumMatchesImage = false
            throw error
        }
        committedImage = image
        state = next
        committedLive = Self.liveMap(next.entries)
        committedCursors = next.cursors
        deferredFree.removeAll()
        headerIsVersion1 = false
        commitCount += 1
        bytesWritten += changed.reduce(0) { $0 + $1.count }
    }

    /// After a failed store: takes what the medium holds in the bytes that store may have written (the data bytes
    /// free in the committed state, and the header slot the next commit goes to) into `committedImage`, so the next
    /// diff-write programs every byte that differs on the medium. Without this a byte the failed store changed, and
    /// the next commit wants back as it was, would be skipped, and that commit's header CRC would not match on the
    /// medium: after a restart the ring would load an older state. A medium that holds no image yet (a file never
    /// written) is rewritten whole by the next store anyway.
    /// - Throws: `.storage` when the medium cannot be read; the ring then stays as it was and tries again next time.
    private mutating func reloadMediumAfterFailedStore() throws(RingError) {
        if let medium = try storage.load(), medium.count == RingImage.size {
            for position in 0..<RingImage.dataSize where !committedLive[position] {
                committedImage[RingImage.dataStart + position] = medium[RingImage.dataStart + position]
            }
            for index in RingImage.slotRange(1 - state.slot) { committedImage[index] = medium[index] }
        }
        mediumMatchesImage = true
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
        var problems: [String] = []
        return decode(image, problems: &problems)
    }

    /// As ``decode(_:)``, adding a sentence to `problems` for each checksum-valid slot that was not usable.
    static func decode(_ image: [UInt8], problems: inout [String]) -> State? {
        let candidates = (0..<RingImage.slotCount).compactMap { RingImage.readHeader(image, slot: $0) }
            .sorted { Int32(bitPattern: $0.generation &- $1.generation) > 0 }
        for header in candidates {
            do throws(RingError) {
                return try decode(image, header: header)
            } catch {
                problems.append("header slot \(header.slot) (generation \(header.generation)): \(error.message)")
            }
        }
        return nil
    }

    /// The state `header` describes. A version-1 header gives a state with epoch 0 and no consumer (migration).
    private static func decode(_ image: [UInt8], header: RingImage.Header) throws(RingError) -> State {
        func corrupt(_ reason: String) -> RingError { RingError(.corrupt, reason) }
        var state = State(nominalInterval: header.nominalInterval)
        state.context = header.context
        state.generation = header.generation
        state.slot = header.slot
        state.names = header.names
        state.epoch = header.epoch
        state.emptyOffset = header.runs[0].offset
        var context = header.context
        for run in header.runs where run.length > 0 {
            var reader = RingByteReader(RingImage.dataBytes(image, run))
            while !reader.isAtEnd {
                let start = reader.position
                var record: IntervalRecord
                do throws(RecordCoding.DecodeError) {
                    record = try RecordCoding.decode(&reader, after: context, nominalInterval: header.nominalInterval)
                } catch {
                    throw corrupt("record \(state.entries.count + 1) does not decode (\(error.reason))")
                }
                // Every record was validated before it was stored: one out of range now was damaged or forged, and
                // sums over it (merges, totals) could overflow.
                do throws(RingError) {
                    try record.validate()
                } catch {
                    throw corrupt("record \(state.entries.count + 1) is out of range (\(error.message))")
                }
                record.epoch = header.epoch
                state.entries.append(
                    Entry(
                        record: record, offset: (run.offset + start) % RingImage.dataSize,
                        bytes: Array(reader.bytes[start..<reader.position])))
                context = context.advanced(by: record)
            }
        }
        guard state.entries.count == header.count else {
            throw corrupt("the header counts \(header.count) records, the data holds \(state.entries.count)")
        }
        if runs(state.entries).count > 2 { throw corrupt("the records form more than two runs") }
        let live = liveMap(state.entries)
        guard live.count(where: { $0 }) == header.runs[0].length + header.runs[1].length else {
            throw corrupt("records overlap")
        }
        guard header.version == RingImage.version else { return state }  // version 1: migrated, no consumers
        if header.epoch == 0 { throw corrupt("the storage epoch is 0") }
        if state.entries.count > RingImage.maxRecords {
            throw corrupt("\(state.entries.count) records, at most \(RingImage.maxRecords) fit the header")
        }
        for (slot, position) in header.positions.enumerated() {
            guard let position else { continue }
            guard position <= state.entries.count else {
                throw corrupt(
                    "consumer slot \(slot) acknowledged \(position) records, the ring holds \(state.entries.count)")
            }
            state.cursors[slot] =
                position == 0 ? header.context.lastSequence : state.entries[position - 1].record.lastSequence
        }
        return state
    }
}

extension IntervalRecord {
    /// The record with every level field (voltages, powers, demand, peak) moved into the range
    /// ``validate()`` accepts, flagged ``Flags/levelClamped`` when one moved. Energies are never touched: one
    /// implausible voltage (`1-0:32.7.0(7000.0*V)`) or a negative demand (`1-0:1.4.0(-00.100*kW)`) must not make the
    /// ring refuse the interval and so lose its energy.
    public func withLevelsClamped() -> IntervalRecord {
        var record = self
        var clamped = false
        func clamp(_ value: inout Int64, _ range: ClosedRange<Int64>) {
            let limited = min(max(value, range.lowerBound), range.upperBound)
            if limited != value {
                value = limited
                clamped = true
            }
        }
        /// A peak time clamped like its peak; one clamped to 0 is none.
        func clamp(_ time: inout UnixTime?, _ range: ClosedRange<Int64>) {
            guard let seconds = time?.seconds, !range.contains(seconds) else { return }
            let limited = min(max(seconds, range.lowerBound), range.upperBound)
            time = RecordCoding.peakTime(limited)
            clamped = true
        }
        func clampVoltages(_ low: inout Int64?, _ high: inout Int64?) {
            if var value = low {
                clamp(&value, 0...65535)
                low = value
            }
            if var value = high {
                clamp(&value, (low ?? 0)...65535)
                high = value
            }
        }
        let quantity = Int64(0)...Self.maxQuantity
        let signed = -Self.maxQuantity...Self.maxQuantity
        let peak = Int64(0)...Int64(UInt32.max)
        if var p1 = record.p1 {
            clamp(&p1.averagePowerW, signed)
            clamp(&p1.maxImportPowerW, quantity)
            clamp(&p1.maxExportPowerW, quantity)
            clamp(&p1.quarterHourDemandW, quantity)
            clamp(&p1.monthPeakDemandW, peak)
            clamp(&p1.monthPeakTime, peak)
            clampVoltages(&p1.voltageMinDecivolts, &p1.voltageMaxDecivolts)
            record.p1 = p1
        }
        if var ade = record.ade9000 {
            clamp(&ade.averagePowerW, signed)
            clamp(&ade.maxPowerW, signed)
            clamp(&ade.quarterHourDemandW, quantity)
            clamp(&ade.monthPeakDemandW, peak)
            clamp(&ade.monthPeakTime, peak)
            clampVoltages(&ade.voltageMinDecivolts, &ade.voltageMaxDecivolts)
            record.ade9000 = ade
        }
        if clamped { record.flags.insert(.levelClamped) }
        return record
    }
}

extension IntervalRecord {
    /// Largest energy, volume or power the ring accepts in one appended record (2⁴⁰ ≈ 1.1 × 10¹²).
    public static let maxQuantity: Int64 = 1 << 40

    /// Checks that the record can be stored: times in 0...UInt32.max with `end ≥ start`; energies, gas,
    /// water, maxima, demand and peak in `0...maxQuantity`; average and ADE9000 max power within ±`maxQuantity`;
    /// voltages in 0...65535 (0.1 V) with max ≥ min; month peak time and gas time in 0...UInt32.max.
    /// - Throws: `RingError` of kind `.invalidRecord` naming the field.
    public func validate() throws(RingError) {
        // Field name and expectation are only formatted for a failing check: formatted for every check (ranges
        // through `print`), they made `validate()` 22 % of RingFuzz's time (perf), as every loaded record is checked.
        func check(
            _ ok: Bool, _ field: @autoclosure () -> String, _ value: Int64, _ expected: @autoclosure () -> String
        ) throws(RingError) {
            guard ok else {
                throw RingError(.invalidRecord, "IntervalRecord.\(field()) = \(value), expected \(expected())")
            }
        }
        let time = Int64(0)...Int64(UInt32.max)
        let quantity = Int64(0)...Self.maxQuantity
        let signed = -Self.maxQuantity...Self.maxQuantity
        let (start, end) = (self.start.seconds, self.end.seconds)
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
            if let peakTime = p1.monthPeakTime?.seconds {
                try check(time.contains(peakTime), "p1.monthPeakTime", peakTime, "Unix seconds in \(time)")
            }
            if let gasTime = p1.gasTime?.seconds {
                try check(time.contains(gasTime), "p1.gasTime", gasTime, "Unix seconds in \(time)")
            }
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
            if let peakTime = ade.monthPeakTime?.seconds {
                try check(time.contains(peakTime), "ade9000.monthPeakTime", peakTime, "Unix seconds in \(time)")
            }
            try voltages("ade9000", ade.voltageMinDecivolts, ade.voltageMaxDecivolts)
        }
    }
}

// The ring's internal types live outside the generic `ReadingRing`, so that they are not generic themselves: an
// unspecialised build would otherwise look up their metadata at every use.

/// One stored record: where it sits in the data area and its encoded bytes.
struct RingEntry {
    var record: IntervalRecord
    var offset: Int
    var bytes: [UInt8]
    var end: Int { offset + bytes.count }
}

/// What a committed (or about to be committed) image holds.
struct RingState {
    var entries: [RingEntry] = []
    var context: RecordCoding.Context = .init(end: 0, peakW: 0, peakTime: 0, lastSequence: 0)
    var nominalInterval: Int64
    var cursors: [UInt32?] = Array(repeating: nil, count: RingImage.maxConsumers)
    /// ``ConsumerID/nameHash`` of the consumer in each slot (meaningful where the cursor is set).
    var names: [UInt16] = Array(repeating: 0, count: RingImage.maxConsumers)
    var epoch: UInt32 = 1
    var generation: UInt32 = 0
    var slot = 1  // slot of the committed header; the first commit goes to slot 0
    var emptyOffset = 0  // where records go when there are none
}

/// One way to merge a pair (see `ReadingRing.mergePlans`).
struct RingMergePlan {
    var index: Int
    var staged: RingState
    var compacted: RingState
    var stageOffset: Int
    /// Bytes written by the staging: the free space it needs.
    var cost: Int
    /// `true` for a suffix plan.
    var isSuffix: Bool
}
