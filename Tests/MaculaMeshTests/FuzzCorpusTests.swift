import Foundation
import MaculaModels
import Testing

/// Every committed fuzz input (`Fuzz/corpus/<harness>/`: the seeds, and each reproducer a harness
/// found) replayed through the harness's driver: the core and its model must agree on each.
@Suite("Fuzz corpus replay", .timeLimit(.minutes(3)))
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus")

    @Test("each committed input replays without a divergence", arguments: FuzzDrivers.all.keys.sorted())
    func replays(harness: String) throws {
        let directory = Self.corpus.appendingPathComponent(harness)
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.path < $1.path }
        #expect(!files.isEmpty, "no inputs in \(directory.path)")
        let driver = try #require(FuzzDrivers.all[harness])
        for file in files {
            var random = ModelRandom(bytes: Array(try Data(contentsOf: file)))
            do {
                try driver(&random)
            } catch {
                Issue.record("\(harness)/\(file.lastPathComponent): \(error)")
            }
        }
    }
}
