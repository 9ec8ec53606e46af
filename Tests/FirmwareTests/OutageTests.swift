import CivilTime
import Firmware
import Forwarding
import Logging
import Simulator
import TestSupport
import Testing

/// A backend that is up or down as the test says.
actor SwitchableBackend: Forwarder {
    nonisolated let name = "switchable"
    var up = true
    private(set) var delivered: [IntervalRecord] = []
    func setUp(_ value: Bool) { up = value }
    func run() async {}
    func send(_ record: IntervalRecord) async throws(ForwardError) {
        guard up else { throw ForwardError(.retry(after: nil), "connection refused") }
        delivered.append(record)
    }
    func publish(_ reading: LiveReading) async {}
    func publish(_ health: Health) async {}
    func shutdown() async {}
}

/// Closed records go straight into the ring.
actor RingOutput: LoopOutput {
    let store: any RecordStoring
    private(set) var largestImage = 0
    init(store: any RecordStoring) { self.store = store }
    func live(_ reading: LiveReading) {}
    func closed(_ record: IntervalRecord) async {
        _ = try? await store.append(record)
        largestImage = max(largestImage, await store.statistics.usedBytes)
    }
    func health(_ health: Health) {}
}

/// Forwarding fails for 1 h, then for 48 h (virtual time): afterwards the acknowledged records' energy adds up
/// exactly to the meter's register difference, and the ring never needed more than its 512 bytes.
@Test func outagesOfOneHourAndTwoDaysLoseNoWattHour() async throws {
    let store = try RecordStore(storage: RAMRingStorage(), nominalInterval: 60, logger: Logger(label: "test"))
    let consumer = ConsumerID("c1")
    try await store.register(consumer)
    let output = RingOutput(store: store)
    let backend = SwitchableBackend()
    let drain = ForwardingDrain(
        store: store, consumer: consumer, forwarder: backend, clock: ManualClock(),
        logger: Logger(label: "test"))
    var loop = MeasurementLoop<ReplaySampler>(
        ade: nil, intervalLength: 60, output: output,
        logger: Logger(label: "test"), healthEvery: 0)

    // Timeline in hours: up 0–2, down 2–3 (1 h), up 3–5, down 5–53 (48 h), up 53–56.
    func backendUp(_ hour: Double) -> Bool { !(2..<3).contains(hour) && !(5..<53).contains(hour) }
    var statistics = DrainStatistics()
    var sent: [P1Sample] = []
    var register: Int64 = 12_345_678
    let start = runStart
    let end = start + 56 * 3600
    var t = start
    while t <= end {
        // A DSMR 4 meter: a telegram every 10 s; a load that varies per minute.
        register += 5 + (t / 60) % 7
        let sample = P1Sample(
            time: UnixTime(seconds: t), importWh: (register, 777), exportWh: (0, 0),
            powerImportW: 1800 + (t / 60) % 7 * 360, powerExportW: 0)
        sent.append(sample)
        await loop.handle(.p1(.sample(sample)))
        if t % 60 == 0 {
            let up = backendUp(Double(t - start) / 3600)
            await backend.setUp(up)
            // Drain what is there (one attempt only while down; the record stays pinned).
            while let record = await store.peek(for: consumer) {
                if case .failed = await drain.deliver(record, statistics: &statistics) { break }
            }
        }
        t += 10
    }
    let delivered = await backend.delivered
    #expect(await store.statistics.backlog["c1"] == 0)
    #expect(statistics.failedAttempts > 2000)  // every minute of both outages
    #expect(delivered.contains { $0.flags.contains(.merged) }, "the 48 h outage must have merged records")
    // Delivered records tile the run: contiguous sequence ranges and times, no overlap.
    for (a, b) in zip(delivered, delivered.dropFirst()) {
        #expect(b.firstSequence == a.lastSequence + 1)
        #expect(b.start == a.end)
    }
    // Exact energy: register at the last telegram before the last boundary minus the first telegram's.
    let lastEnd = try #require(delivered.last?.end)
    let lastBefore = try #require(sent.last { $0.time < lastEnd })
    let energy = delivered.reduce(Int64(0)) { $0 + ($1.p1?.importTariff1Wh ?? 0) + ($1.p1?.importTariff2Wh ?? 0) }
    #expect(energy == lastBefore.totalImportWh - sent[0].totalImportWh)
    // The ring's data area (384 bytes inside the 512-byte image) was never exceeded.
    #expect(await output.largestImage <= 384)
    #expect(ReadingRing<RAMRingStorage>.imageSize == 512)
}
