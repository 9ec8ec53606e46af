// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "emeter",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "HAL", targets: ["HAL"]),
        .library(name: "ADE9000", targets: ["ADE9000"]),
        .library(name: "P1", targets: ["P1"]),
        .library(name: "Simulator", targets: ["Simulator"]),
        .library(name: "Firmware", targets: ["Firmware"]),
        .executable(name: "emeter", targets: ["emeter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // C shims: kernel macros and libraries Swift cannot import directly. Only HAL and emeter import them.
        .target(name: "CLinuxHAL", path: "Sources/CLinuxHAL"),
        .systemLibrary(name: "CGPIOD", path: "Sources/CGPIOD", pkgConfig: "libgpiod", providers: [.apt(["libgpiod-dev"])]),
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
        .target(name: "ADE9000", dependencies: ["HAL", .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "P1",
            dependencies: [
                "HAL",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Simulator",
            dependencies: [
                "HAL", "ADE9000", "P1", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Firmware",
            dependencies: [
                "HAL", "ADE9000", "P1", .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .executableTarget(
            name: "emeter",
            dependencies: [
                "HAL", "ADE9000", "P1", "Simulator", "Firmware",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        .testTarget(name: "HALTests", dependencies: ["HAL", .target(name: "CLinuxHAL", condition: .when(platforms: [.linux]))]),
        .testTarget(
            name: "ADE9000Tests",
            dependencies: [
                "HAL", "ADE9000", "Simulator", .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .testTarget(name: "P1Tests", dependencies: ["P1", "Simulator", "HAL"]),
        .testTarget(
            name: "FirmwareTests",
            dependencies: [
                "Firmware", "P1", "Simulator", "HAL", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "EmeterTests",
            dependencies: [
                "emeter", "HAL", "P1", "Firmware", "Simulator", .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
