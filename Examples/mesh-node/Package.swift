// swift-tools-version:6.2
import PackageDescription

// The mesh node: the library embedded in a SwiftNIO HTTP/2 server (issue 15). Its own package so
// that the library's root Package.swift stays free of dependencies.
let package = Package(
    name: "mesh-node",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mesh-node", targets: ["mesh-node"]),
    ],
    dependencies: [
        // The library, by relative path; named so the identity does not depend on the clone's folder name.
        .package(name: "macula-swift", path: "../.."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .executableTarget(
            name: "mesh-node",
            dependencies: [
                .product(name: "MaculaMemory", package: "macula-swift"),
                .product(name: "MaculaMesh", package: "macula-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // Hostile peers and bad input against a node started in-process (`@testable import mesh_node`).
        .testTarget(
            name: "MeshNodeTests",
            dependencies: [
                "mesh-node",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MaculaMesh", package: "macula-swift"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
