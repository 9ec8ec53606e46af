// ordo-one/benchmark suite for one full three-phase ADE9000 snapshot, per approach (see SnapshotApproach):
// the driver's burst read, its per-register mode (burstReads: false) and the vendor-style one-register-at-a-time
// read.
//
//   swift package --package-path Benchmarks benchmark --target ADE9000Snapshot
//
// Time and allocations are the driver's alone: one snapshot's SPI replies are recorded from the
// simulator and replayed by CountingSPIDevice. With scalingFactor .kilo each number is per snapshot. The custom
// metrics "SPI transactions" and "SPI bytes" are per snapshot, counted live against the simulator.

import BenchSupport
import Benchmark

let benchmarks: @Sendable () -> Void = {
    let transactions = BenchmarkMetric.custom("SPI transactions", polarity: .prefersSmaller, useScalingFactor: false)
    let bytes = BenchmarkMetric.custom("SPI bytes", polarity: .prefersSmaller, useScalingFactor: false)
    let metrics: [BenchmarkMetric] = [
        .throughput, .wallClock, .cpuTotal, .mallocCountTotal, transactions, bytes,
    ]
    for approach in SnapshotApproach.allCases {
        Benchmark(
            "ADE9000 snapshot \(approach.rawValue)",
            configuration: .init(
                metrics: metrics, warmupIterations: 1, scalingFactor: .kilo, maxDuration: .seconds(2),
                maxIterations: 1000)
        ) { benchmark in
            do {
                var rig = try SnapshotRig(approach)
                let (traffic, _) = try rig.measureTraffic(snapshots: 2)
                try rig.startReplay()
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    blackHole(try rig.snapshot())
                }
                benchmark.stopMeasurement()
                benchmark.measurement(transactions, traffic.transactions)
                benchmark.measurement(bytes, traffic.bytes)
            } catch {
                benchmark.error("\(error)")
            }
        }
    }
}
