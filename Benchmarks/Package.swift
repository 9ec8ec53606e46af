// swift-tools-version:6.1
import PackageDescription

// Benchmarks for emeter, kept in their own package so the firmware package does not depend on the benchmark
// framework. Build and run only from this directory (it has its own .build); see README.md.
//
// - Benchmarks/P1Parsing, Benchmarks/ADE9000Snapshot: ordo-one/benchmark suites (`swift package benchmark`).
// - Sources/P1Throughput, Sources/ADE9000SnapshotTable: plain timed executables used by scripts/bench-p1 and
//   scripts/bench-ade9000 (quick, machine-readable output).
// - Sources/BenchSupport: the workloads both share (fixtures, counting/replaying SPI device, snapshot approaches).
let package = Package(
    name: "emeter-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // The main package; named so the products resolve whatever the checkout directory is called.
        .package(name: "emeter", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        // Already a dependency of `benchmark`; named here for its allocation counters in P1Throughput.
        .package(url: "https://github.com/ordo-one/malloc-interposer", from: "1.6.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .target(
            name: "BenchSupport",
            dependencies: [
                .product(name: "HAL", package: "emeter"),
                .product(name: "P1", package: "emeter"),
                .product(name: "ADE9000", package: "emeter"),
                .product(name: "Simulator", package: "emeter"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "P1Throughput",
            dependencies: [
                "BenchSupport",
                .product(name: "P1", package: "emeter"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ]
        ),
        .executableTarget(
            name: "ADE9000SnapshotTable",
            dependencies: [
                "BenchSupport",
                .product(name: "ADE9000", package: "emeter"),
            ]
        ),
        .executableTarget(
            name: "P1Parsing",
            dependencies: [
                "BenchSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "P1", package: "emeter"),
            ],
            path: "Benchmarks/P1Parsing",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "ADE9000Snapshot",
            dependencies: [
                "BenchSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ADE9000", package: "emeter"),
            ],
            path: "Benchmarks/ADE9000Snapshot",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
