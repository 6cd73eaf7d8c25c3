import MaculaModels
import Testing

/// `RPCHandlerCore` against ``RPCReferenceModel`` (in MaculaModels, shared with `fuzz-rpc`).
@Suite("RPCHandler core against a reference model", .timeLimit(.minutes(3)))
struct RPCHandlerModelTests {
    @Test("10,000 seeded random operations: calls, sends, replies, cancellations, deadlines, discoveries", arguments: [1, 2, 3] as [UInt64])
    func randomOperations(seed: UInt64) throws {
        var random = ModelRandom(seed: seed)
        var run = try RPCModelRun()
        do {
            for _ in 0..<10_000 {
                try run.randomOperation(&random)
            }
        } catch {
            Issue.record("seed \(seed): \(error)")
            return
        }
        // Every kind of event happened (the run is not vacuous).
        for (event, count) in run.seen {
            #expect(count > 0, "never saw \(event)")
        }
        do {
            try run.shutdown()
        } catch {
            Issue.record("seed \(seed): \(error)")
        }
    }
}
