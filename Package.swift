// swift-tools-version:6.1
import PackageDescription

// One module per job (docs/architecture.md):
//   HAL (bus protocols + Linux backends) ← ADE9000, P1 (device drivers, generic over HAL)
//   CivilTime (calendar + EU summer time) ← P1, Firmware, Forwarding
//   Firmware (loop, source adapters, records, demand, ring + storages, health, the one payload schema) — no NIO
//   MQTT (our MQTT 3.1.1 client on SwiftNIO, usable on its own) ← Forwarding (forwarders + drain)
//   Simulator (device models only) ← emeter (the CLI and composition root)
//   TestSupport (doubles, manual clock, mosquitto launcher): tests only, never linked into emeter.
let nio: [Target.Dependency] = [
    .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
]
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")

let package = Package(
    name: "emeter",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "HAL", targets: ["HAL"]),
        .library(name: "CivilTime", targets: ["CivilTime"]),
        .library(name: "ADE9000", targets: ["ADE9000"]),
        .library(name: "P1", targets: ["P1"]),
        .library(name: "Simulator", targets: ["Simulator"]),
        .library(name: "Firmware", targets: ["Firmware"]),
        .library(name: "MQTT", targets: ["MQTT"]),
        .library(name: "Forwarding", targets: ["Forwarding"]),
        // For the fuzz targets (Fuzz/): configuration files are read with it.
        .library(name: "YAML", targets: ["YAML"]),
        .executable(name: "emeter", targets: ["emeter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // The HTTP API of `emeter run` (Run/APIServer.swift): HummingbirdCore's HTTP/1.1 server. No traits: the
        // default FullFoundation trait would link full Foundation (ICU) into the binary, ConfigurationSupport brings
        // swift-configuration we do not use.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0", traits: []),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // `swift package generate-documentation`: the DocC catalogs of HAL, P1, ADE9000 and MQTT (scripts/docs).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // C shims: kernel macros and libraries Swift cannot import directly. Only HAL imports them.
        .target(name: "CLinuxHAL", path: "Sources/CLinuxHAL"),
        .systemLibrary(
            name: "CGPIOD", path: "Sources/CGPIOD", pkgConfig: "libgpiod", providers: [.apt(["libgpiod-dev"])]),
        .systemLibrary(name: "CI2C", path: "Sources/CI2C", providers: [.apt(["libi2c-dev"])]),

        .target(
            name: "HAL",
            dependencies: [
                .product(name: "SystemPackage", package: "swift-system"),
                .target(name: "CLinuxHAL", condition: .when(platforms: [.linux])),
                .target(name: "CGPIOD", condition: .when(platforms: [.linux])),
                .target(name: "CI2C", condition: .when(platforms: [.linux])),
            ]
        ),
        .target(name: "CivilTime"),
        // Our YAML reader/writer: stdlib only, so the binary needs no Foundation (Yams did).
        .target(name: "YAML"),
        .target(name: "ADE9000", dependencies: ["HAL", logging]),
        .target(
            name: "P1",
            dependencies: [
                "HAL", "CivilTime", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"), logging,
            ]
        ),
        .target(
            name: "Simulator",
            // The ADE9000 chip model imports nothing from the ADE9000 driver: it restates the datasheet on its own
            // (ADE9000Sheet.swift), so a wrong constant in the driver cannot pass by agreeing with the model.
            dependencies: ["HAL", "P1", "CivilTime", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .target(name: "Firmware", dependencies: ["HAL", "CivilTime", "ADE9000", "P1", logging]),
        .target(
            name: "MQTT",
            dependencies: nio + [.product(name: "NIOSSL", package: "swift-nio-ssl"), logging]
        ),
        .target(
            name: "Forwarding",
            dependencies: [
                "HAL", "Firmware", "MQTT", "CivilTime", logging, .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .executableTarget(
            name: "emeter",
            dependencies: [
                "HAL", "CivilTime", "ADE9000", "P1", "Simulator", "Firmware", "MQTT", "Forwarding", logging,
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                "YAML", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // The HTTP API and /metrics (Run/APIServer.swift, Run/APIMetrics.swift).
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"), .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ] + nio,  // P1 sharing (Run/P1ShareServer.swift)
            // The live page at GET / (Run/LivePage.swift): compiled into the binary as a byte array, no bundle.
            resources: [.embedInCode("Page/index.html")]
        ),

        // Test doubles (scripted SPI device, in-memory serial port, manual clock) and the mosquitto launcher.
        .target(
            name: "TestSupport",
            dependencies: ["HAL", "Simulator", .product(name: "NIOHTTP1", package: "swift-nio")] + nio
        ),

        .testTarget(
            name: "HALTests", dependencies: ["HAL", .target(name: "CLinuxHAL", condition: .when(platforms: [.linux]))]),
        .testTarget(
            name: "ADE9000Tests",
            dependencies: ["HAL", "ADE9000", "Simulator", "TestSupport", "YAML", logging]
        ),
        .testTarget(name: "YAMLTests", dependencies: ["YAML"]),
        .testTarget(name: "P1Tests", dependencies: ["P1", "CivilTime", "Simulator", "TestSupport", "HAL"]),
        .testTarget(
            name: "FirmwareTests",
            dependencies: ["Firmware", "Forwarding", "CivilTime", "P1", "Simulator", "TestSupport", "HAL", logging]
        ),
        .testTarget(
            name: "MQTTTests",
            dependencies: [
                "MQTT", "TestSupport", logging, .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ] + nio
        ),
        .testTarget(
            name: "ForwardingTests",
            dependencies: [
                "Forwarding", "Firmware", "MQTT", "P1", "Simulator", "TestSupport", logging,
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ] + nio
        ),
        .testTarget(
            name: "EmeterTests",
            dependencies: [
                "emeter", "HAL", "P1", "Firmware", "MQTT", "Forwarding", "Simulator", "TestSupport",
                "YAML", logging, .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ] + nio
        ),
    ],
    swiftLanguageModes: [.v6]
)
