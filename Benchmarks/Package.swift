// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "emeter-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "emeter", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "P1Parsing",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "P1", package: "emeter"),
            ],
            path: "Benchmarks/P1Parsing",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
