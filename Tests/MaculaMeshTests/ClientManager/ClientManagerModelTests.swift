import MaculaModels
import Testing

/// `ClientManagerCore` against ``ClientsModel`` (in MaculaModels, shared with `fuzz-clients`).
@Suite("ClientManager model", .timeLimit(.minutes(3)))
struct ClientManagerModelTests {
    @Test("random operations on the core agree with the reference model after every step", arguments: [
        UInt64(0x5EED_C11E), 0xC0FF_EE00_1234, 42,
    ])
    func agreesWithModel(seed: UInt64) throws {
        var random = ModelRandom(seed: seed)
        // Some runs accept callers before run() starts, some start with it running.
        var run = try ClientsModelRun(running: Bool.random(using: &random))
        do {
            for _ in 0..<12_000 {
                try run.randomOperation(&random)
            }
        } catch {
            Issue.record("seed \(seed): \(error)")
            return
        }

        // Every operation kind ran many times, and the state went through full and waiting phases.
        #expect(run.counts.count == 15)  // 13 operations, plus the grant and fail actions they produced
        #expect(run.counts.values.allSatisfy { $0 > 50 }, "\(run.counts)")
        #expect(run.highWaterMark >= 5)
        do {
            try run.shutdown()
        } catch {
            Issue.record("seed \(seed): \(error)")
        }
    }
}
