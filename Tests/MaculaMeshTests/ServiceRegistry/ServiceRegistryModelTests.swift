import MaculaModels
import Testing

/// `ServiceRegistryCore` against ``ServiceRegistryModel`` (in MaculaModels, shared with
/// `fuzz-registry`).
@Suite("ServiceRegistry model", .timeLimit(.minutes(3)))
struct ServiceRegistryModelTests {
    @Test("thousands of random operations agree with a naive list model after every step", arguments: [
        UInt64(0x5EED_0005), 0x5EED_0006, 0x5EED_0007,
    ])
    func randomOperationsMatchTheModel(seed: UInt64) throws {
        var random = ModelRandom(seed: seed)
        var run = try ServiceRegistryModelRun()
        do {
            for _ in 0..<5_000 {
                try run.randomOperation(&random)
            }
        } catch {
            Issue.record("seed \(seed): \(error)")
            return
        }
        // Every operation ran many times (the run is not vacuous).
        #expect(run.counts.count == 10, "\(run.counts)")
        #expect(run.counts.values.allSatisfy { $0 > 20 }, "\(run.counts)")
    }
}
