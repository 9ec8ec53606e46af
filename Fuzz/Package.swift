// swift-tools-version:6.1
// libFuzzer target for the P1 framer, parser, JSON writer and DLMS decryption (run it with scripts/fuzz-p1).
// A package of its own so the main package's build and tests stay free of sanitizer flags.
import PackageDescription

let package = Package(
    name: "emeter-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "emeter", path: "..")],
    targets: [
        // libFuzzer provides `main`: the target is compiled as a library-style module (`-parse-as-library`) and
        // only exports `LLVMFuzzerTestOneInput`. Sanitizer flags come from scripts/fuzz-p1 (`-Xswiftc`).
        .executableTarget(
            name: "P1Fuzz",
            dependencies: [.product(name: "P1", package: "emeter")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    ],
    swiftLanguageModes: [.v6]
)
