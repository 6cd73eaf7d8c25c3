import MaculaModels
import Testing

/// `MemoryPressureCore` against ``MemoryPressureModel`` (in MaculaModels, shared with
/// `fuzz-pressure`).
@Suite("MemoryPressureCore model", .timeLimit(.minutes(1)))
struct MemoryPressureModelTests {
    @Test("random configurations and readings agree with the reference model after every step", arguments: [
        UInt64(0x9E55_0001), 0x9E55_0002, 0x9E55_0003,
    ])
    func agreesWithModel(seed: UInt64) {
        var random = ModelRandom(seed: seed)
        var levels: Set<String> = []
        for _ in 0..<20 {
            var run = MemoryPressureModelRun(configuration: MemoryPressureModelRun.configuration(&random))
            do {
                for _ in 0..<500 {
                    try run.randomOperation(&random)
                    levels.insert("\(run.core.level)")
                }
            } catch {
                Issue.record("seed \(seed): \(error)")
                return
            }
        }
        #expect(levels.count == 3, "every level was reached: \(levels)")
    }
}
