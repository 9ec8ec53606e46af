// ADE9000SnapshotTable: SPI transactions, bytes on the wire and driver CPU time per full three-phase snapshot,
// for the driver's burst read, its per-register mode and the vendor-style one-register-at-a-time read.
// Used by scripts/bench-ade9000.
//
//   ADE9000SnapshotTable [--seconds S] [--json]
//
// Traffic is counted against the simulator (ADE9000Simulator, strict). CPU time is the driver's alone: one
// snapshot's replies are recorded and replayed by the counting SPI device, so no simulator work is timed. The
// column "with simulator" times live snapshots against the simulator for comparison.

import ADE9000
import BenchSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Row {
    var approach: SnapshotApproach
    var traffic: SPITraffic
    var driverMicroseconds: Double
    var driverMedianMicroseconds: Double
    var driverWallMicroseconds: Double
    var liveMicroseconds: Double
    var deviation: Double
}

func format(_ value: Double, decimals: Int) -> String {
    let scale = Double([1, 10, 100, 1000][min(decimals, 3)])
    let rounded = (value * scale).rounded() / scale
    return decimals == 0 ? "\(Int(rounded))" : "\(rounded)"
}

/// Times `body` in batches of ~10 ms of thread CPU for `seconds`; returns µs per call: the best batch by thread CPU
/// (the most stable figure on a shared machine, where a busy sibling hyperthread or cache thrashing inflates CPU
/// time too), and the medians by CPU and wall.
func time(seconds: Double, _ body: () throws(BenchError) -> Void) throws(BenchError) -> (
    cpu: Double, cpuMedian: Double, wall: Double
) {
    func run(_ count: Int) throws(BenchError) -> (cpu: UInt64, wall: UInt64) {
        let cpu0 = BenchClock.threadCPUNanoseconds()
        let wall0 = BenchClock.wallNanoseconds()
        for _ in 0..<count { try body() }
        return (BenchClock.threadCPUNanoseconds() - cpu0, BenchClock.wallNanoseconds() - wall0)
    }
    var batch = 10
    while true {
        let (cpu, _) = try run(batch)
        if cpu >= 10_000_000 || batch >= 1_000_000 { break }
        batch *= 4
    }
    var cpuPer: [Double] = []
    var wallPer: [Double] = []
    var spent: UInt64 = 0
    while spent < UInt64(seconds * 1e9) || cpuPer.count < 5 {
        let (cpu, wall) = try run(batch)
        cpuPer.append(Double(cpu) / 1000 / Double(batch))
        wallPer.append(Double(wall) / 1000 / Double(batch))
        spent += wall
    }
    return (cpuPer.min() ?? 0, median(cpuPer), median(wallPer))
}

func measure(_ approach: SnapshotApproach, seconds: Double, reference: SnapshotValues?) throws(BenchError) -> (
    Row, SnapshotValues
) {
    // Live, against the simulator: traffic, values, and time including the simulator's work.
    var live = try SnapshotRig(approach)
    let (traffic, values) = try live.measureTraffic(snapshots: 5)
    let withSimulator = try time(seconds: seconds / 4) { () throws(BenchError) in
        live.time.advance(by: .milliseconds(250))
        do { keepAlive(try live.snapshot()) } catch { throw BenchError("\(approach.rawValue) live snapshot: \(error)") }
    }
    // Replay: the driver alone.
    var replay = try SnapshotRig(approach)
    _ = try replay.measureTraffic(snapshots: 2)
    try replay.startReplay()
    let driverOnly = try time(seconds: seconds) { () throws(BenchError) in
        do { keepAlive(try replay.snapshot()) } catch {
            throw BenchError("\(approach.rawValue) replayed snapshot: \(error)")
        }
    }
    let deviation = reference.map { values.largestRelativeDifference(to: $0) } ?? 0
    return (
        Row(
            approach: approach, traffic: traffic, driverMicroseconds: driverOnly.cpu,
            driverMedianMicroseconds: driverOnly.cpuMedian, driverWallMicroseconds: driverOnly.wall,
            liveMicroseconds: withSimulator.cpu, deviation: deviation),
        values
    )
}

func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - text.count))
    return left ? text + fill : fill + text
}

do {
    var seconds = 1.0
    var json = false
    var index = 1
    let arguments = CommandLine.arguments
    while index < arguments.count {
        switch arguments[index] {
        case "--seconds":
            index += 1
            guard index < arguments.count, let value = Double(arguments[index]), value > 0 else {
                throw BenchError("--seconds expects a positive number")
            }
            seconds = value
        case "--json": json = true
        case "--help", "-h":
            print("usage: ADE9000SnapshotTable [--seconds S] [--json]")
            exit(0)
        default: throw BenchError("unknown argument '\(arguments[index])'")
        }
        index += 1
    }

    var rows: [Row] = []
    var reference: SnapshotValues?
    for approach in SnapshotApproach.allCases {
        let (row, values) = try measure(approach, seconds: seconds, reference: reference)
        if reference == nil { reference = values }
        // All approaches read the same simulated load: the values must agree (the simulator adds no noise between
        // rigs at the same virtual time; 1 % allows for RMS filter settling differences).
        guard row.deviation < 0.01 else {
            throw BenchError(
                "\(approach.rawValue) readings differ from the burst readings by \(row.deviation * 100) %")
        }
        rows.append(row)
    }
    guard let base = rows.first else { throw BenchError("no approach measured") }

    if json {
        for row in rows {
            print(
                """
                {"approach":"\(row.approach.rawValue)","transactions":\(row.traffic.transactions),\
                "bytes":\(row.traffic.bytes),"driver_us_cpu_best":\(format(row.driverMicroseconds, decimals: 3)),\
                "driver_us_cpu_median":\(format(row.driverMedianMicroseconds, decimals: 3)),\
                "driver_us_wall_median":\(format(row.driverWallMicroseconds, decimals: 3)),\
                "with_simulator_us_cpu_best":\(format(row.liveMicroseconds, decimals: 3))}
                """)
        }
    } else {
        let header = [
            pad("approach", 40, left: true), pad("transactions", 12), pad("bytes", 7), pad("µs/snapshot", 12),
            pad("×trans", 7), pad("×bytes", 7), pad("×µs", 6), pad("µs w/ sim", 10),
        ]
        print(header.joined(separator: " "))
        print(String(repeating: "-", count: 108))
        for row in rows {
            let cells = [
                pad(row.approach.label, 40, left: true), pad("\(row.traffic.transactions)", 12),
                pad("\(row.traffic.bytes)", 7), pad(format(row.driverMicroseconds, decimals: 2), 12),
                pad(format(Double(row.traffic.transactions) / Double(base.traffic.transactions), decimals: 2), 7),
                pad(format(Double(row.traffic.bytes) / Double(base.traffic.bytes), decimals: 2), 7),
                pad(format(row.driverMicroseconds / base.driverMicroseconds, decimals: 2), 6),
                pad(format(row.liveMicroseconds, decimals: 1), 10),
            ]
            print(cells.joined(separator: " "))
        }
        print(
            """

            µs/snapshot: driver CPU time (thread CPU clock, best of ~10 ms batches) with the SPI replies replayed, \
            so no simulator work is included; no ioctl either (on hardware each transaction adds a \
            SPI_IOC_MESSAGE syscall and the clocked bytes: at 10 MHz SCLK 0.8 µs per byte).
            ×: ratio to the burst row. µs w/ sim: CPU per snapshot against the live simulator (driver + simulator).
            """)
    }
} catch {
    printError("ADE9000SnapshotTable: \(error)")
    exit(1)
}
