// ordo-one/benchmark suite for the P1 hot path: framing + CRC-16/ARC check + line parsing + P1Reading, per telegram.
//
//   swift package --package-path Benchmarks benchmark --target P1Parsing
//
// "telegram" benchmarks feed one fixture telegram per scaled iteration to one long-lived framer (the firmware's
// steady state); with scalingFactor .kilo every reported number is per telegram (throughput in telegrams/s,
// mallocCountTotal in allocations per telegram). "×1000 stream" benchmarks feed 1000 concatenated telegrams to a
// fresh framer per iteration (scalingFactor .one): their malloc count divided by 1000 must equal the per-telegram
// count (plus the framer's own one-time buffers), i.e. nothing grows with the stream.

import BenchSupport
import Benchmark
import P1

let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [
        .throughput, .wallClock, .cpuTotal, .mallocCountTotal, .mallocBytesCount, .mallocFreeDelta,
    ]
    for fixture in P1Fixture.allCases {
        let workload: P1Workload
        do {
            workload = try P1Workload(fixture)
        } catch {
            // Registered as a failing benchmark, so the run reports why instead of silently skipping.
            Benchmark("P1 \(fixture.label) telegram") { benchmark in benchmark.error("\(error)") }
            continue
        }

        Benchmark(
            "P1 \(fixture.label) telegram",
            configuration: .init(
                metrics: metrics, warmupIterations: 3, scalingFactor: .kilo, maxDuration: .seconds(2),
                maxIterations: 10_000)
        ) { benchmark in
            var framer = P1Framer()
            var result = P1StreamResult()
            workload.telegram.withUnsafeBufferPointer { buffer in
                result += feedAndRead(&framer, buffer)  // first use outside the measurement
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    result += feedAndRead(&framer, buffer)
                }
                benchmark.stopMeasurement()
            }
            do {
                try workload.verify(result, expectedTelegrams: benchmark.scaledIterations.count + 1)
            } catch {
                benchmark.error("\(error)")
            }
            blackHole(framer)
        }

        let count = 1000
        let stream = workload.concatenated(count)
        Benchmark(
            "P1 \(fixture.label) ×\(count) stream",
            configuration: .init(
                metrics: metrics, warmupIterations: 2, scalingFactor: .one, maxDuration: .seconds(2),
                maxIterations: 1000)
        ) { benchmark in
            benchmark.startMeasurement()
            var framer = P1Framer()
            let result = stream.withUnsafeBufferPointer { feedAndRead(&framer, $0) }
            benchmark.stopMeasurement()
            do {
                try workload.verify(result, expectedTelegrams: count)
            } catch {
                benchmark.error("\(error)")
            }
            blackHole(framer)
        }
    }
}
