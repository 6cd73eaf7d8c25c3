// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "macula-swift",
    // `Synchronization.Mutex` needs macOS 15 on Apple platforms; Linux has no minimum.
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "MaculaMemory", targets: ["MaculaMemory"]),
        .library(name: "MaculaMesh", targets: ["MaculaMesh"]),
        .library(name: "MaculaTesting", targets: ["MaculaTesting"]),
        .executable(name: "macula-bench", targets: ["macula-bench"]),
        .executable(name: "macula-demo", targets: ["macula-demo"]),
    ],
    targets: [
        // Reads the C allocator's statistics (glibc `mallinfo2`) for the heap memory reader.
        .target(name: "CMaculaSystem"),
        .target(name: "MaculaMemory", dependencies: ["CMaculaSystem"]),
        .target(name: "MaculaMesh", dependencies: ["MaculaMemory"]),
        .target(name: "MaculaTesting", dependencies: ["MaculaMemory", "MaculaMesh"]),
        .executableTarget(
            name: "macula-bench",
            dependencies: ["MaculaMemory", "MaculaMesh", "MaculaTesting"]
        ),
        // The demo's pure helpers (arguments, statistics, CSV, SVG chart), kept in a library so
        // that they can be tested; internal to the package, not a product.
        .target(name: "MaculaDemoSupport", dependencies: ["MaculaMemory"]),
        .executableTarget(
            name: "macula-demo",
            dependencies: ["MaculaDemoSupport", "MaculaMemory", "MaculaMesh", "MaculaTesting"]
        ),
        .testTarget(name: "MaculaMemoryTests", dependencies: ["MaculaMemory", "MaculaTesting", "CMaculaSystem"]),
        .testTarget(name: "MaculaMeshTests", dependencies: ["MaculaMesh", "MaculaMemory", "MaculaTesting"]),
        .testTarget(name: "MaculaTestingTests", dependencies: ["MaculaTesting"]),
        .testTarget(name: "MaculaDemoSupportTests", dependencies: ["MaculaDemoSupport", "MaculaMemory"]),
    ],
    swiftLanguageModes: [.v6]
)
