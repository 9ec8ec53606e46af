// swift-tools-version:6.1
// libFuzzer targets for the code that takes untrusted input (run them with scripts/fuzz): P1 (framer, parser,
// payload JSON, DLMS decryption), P1 telegram → interval record → ring → JSON, MQTT packet decoder, ring images,
// YAML, ADE9000 SPI responses. A package of its own so the main package's build and tests stay free of sanitizer
// flags; one build makes every target.
import PackageDescription

/// A libFuzzer executable: `main.swift` hands the command line to `LLVMFuzzerRunDriver`.
func fuzzTarget(_ name: String, _ products: [String], _ others: [Target.Dependency] = []) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["CFuzzerDriver", "FuzzSupport"] + products.map { .product(name: $0, package: "emeter") } + others
    )
}

let package = Package(
    name: "emeter-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "emeter", path: ".."),
        // Already dependencies of emeter (same versions): ByteBuffer for the MQTT decoder, a silent Logger.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Declares libFuzzer's `LLVMFuzzerRunDriver`, which every fuzzer's `main` calls.
        .target(name: "CFuzzerDriver"),
        // The JSON validator, in C so that it is not instrumented (harness code, not code under test).
        .target(name: "CJSONValidator"),
        // What several targets share: input chunking, a cheap JSON validator, the invariant check.
        .target(name: "FuzzSupport", dependencies: ["CJSONValidator"]),
        // Sanitizer flags (`-sanitize=fuzzer,address`) come from scripts/fuzz (`-Xswiftc`), so that only Swift
        // code is instrumented and libFuzzer is linked.
        fuzzTarget("P1Fuzz", ["P1", "Firmware", "CivilTime"]),
        fuzzTarget("P1RecordFuzz", ["P1", "Firmware", "CivilTime"]),
        fuzzTarget("MQTTFuzz", ["MQTT"], [.product(name: "NIOCore", package: "swift-nio")]),
        fuzzTarget("RingFuzz", ["Firmware", "CivilTime"]),
        fuzzTarget("YAMLFuzz", ["YAML", "Simulator", "ADE9000"]),
        fuzzTarget("ADE9000Fuzz", ["ADE9000", "HAL"], [.product(name: "Logging", package: "swift-log")]),
    ],
    swiftLanguageModes: [.v6]
)
