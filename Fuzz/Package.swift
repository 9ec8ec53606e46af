// swift-tools-version:6.1
// libFuzzer target for the P1 framer, parser, payload JSON and DLMS decryption (run it with scripts/fuzz-p1).
// A package of its own so the main package's build and tests stay free of sanitizer flags.
import PackageDescription

let package = Package(
    name: "emeter-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "emeter", path: "..")],
    targets: [
        // Declares libFuzzer's `LLVMFuzzerRunDriver`, which the fuzzer's `main` calls.
        .target(name: "CFuzzerDriver"),
        // Sanitizer flags (`-sanitize=fuzzer,address`) come from scripts/fuzz-p1 (`-Xswiftc`), so that only Swift
        // code is instrumented and libFuzzer is linked.
        .executableTarget(
            name: "P1Fuzz",
            dependencies: [
                "CFuzzerDriver", .product(name: "P1", package: "emeter"),
                .product(name: "Firmware", package: "emeter"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
