// swift-tools-version:6.2
import PackageDescription

/// The fuzz harnesses, one per pure core: `Sources/fuzz-<name>/`.
let fuzzHarnesses = ["pressure", "clients", "registry", "advertisement", "rpc", "pool"]

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
        // The reference models of the pure cores and the drivers that compare a core with its model
        // step by step, shared by the model tests and the fuzz harnesses; internal to the package,
        // not a product.
        .target(name: "MaculaModels", dependencies: ["MaculaMemory", "MaculaMesh", "MaculaTesting"]),
        // One libFuzzer harness per core (`bash .ci/fuzz`). Built with `-Xswiftc -DMACULA_FUZZ` and
        // `--sanitize=fuzzer` they export `LLVMFuzzerTestOneInput`; otherwise their `main` replays
        // the input files it is given.
    ] + fuzzHarnesses.map { name in
        .executableTarget(name: "fuzz-\(name)", dependencies: ["MaculaModels", "MaculaMemory", "MaculaMesh"])
    } + [
        .testTarget(name: "MaculaMemoryTests", dependencies: ["MaculaMemory", "MaculaModels", "MaculaTesting", "CMaculaSystem"]),
        .testTarget(name: "MaculaMeshTests", dependencies: ["MaculaMesh", "MaculaMemory", "MaculaModels", "MaculaTesting"]),
        .testTarget(name: "MaculaTestingTests", dependencies: ["MaculaTesting"]),
        .testTarget(name: "MaculaDemoSupportTests", dependencies: ["MaculaDemoSupport", "MaculaMemory"]),
    ],
    swiftLanguageModes: [.v6]
)
