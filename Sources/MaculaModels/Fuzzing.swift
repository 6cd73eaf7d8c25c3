#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What every fuzz harness shares: decoding libFuzzer's input, trapping on a divergence, and the
/// replay `main` of a harness built without libFuzzer.
package enum Fuzzing {
    /// The most steps one input may drive, so that every input runs in bounded time.
    package static let maximumSteps = 4_096

    /// Runs `body` on the input's bytes; traps with the divergence's message when it throws.
    package static func run(
        _ harness: String, _ data: UnsafePointer<UInt8>?, _ size: Int, _ body: (inout ModelRandom) throws(Divergence) -> Void
    ) {
        let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
        var random = ModelRandom(bytes: bytes)
        do {
            try body(&random)
        } catch {
            fatalError("fuzz-\(harness): the core and its model diverged: \(error.description)")
        }
    }

    /// The `main` of a harness built without libFuzzer: runs each file named in `arguments` (each
    /// file of a directory) as one input, so a corpus or a reproducer replays as a regression.
    package static func replay(_ harness: String, arguments: ArraySlice<String>, _ body: (UnsafePointer<UInt8>?, Int) -> CInt) {
        var count = 0
        for path in arguments.flatMap(files) {
            let bytes = read(path)
            _ = bytes.withUnsafeBufferPointer { body($0.baseAddress, $0.count) }
            count += 1
        }
        print("fuzz-\(harness): \(count) inputs replayed, no divergence")
    }

    private static func files(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [path] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if !name.hasPrefix(".") { names.append(path + "/" + name) }
        }
        return names.sorted()
    }

    private static func read(_ path: String) -> [UInt8] {
        guard let file = fopen(path, "rb") else { fatalError("cannot open \(path)") }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[..<count]
        }
        return bytes
    }
}
