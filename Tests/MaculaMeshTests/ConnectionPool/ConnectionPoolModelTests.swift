import MaculaModels
import Testing

/// Thousands of random operations on the real core, compared after every step with a naive
/// reference pool: arrays, linear scans for the least recently used entry, a use counter instead
/// of the linked lists.
@Suite("ConnectionPool model", .timeLimit(.minutes(1)))
struct ConnectionPoolModelTests {
    @Test("the core agrees with a naive LRU pool over 10,000 random operations", arguments: [1, 2, 3] as [UInt64])
    func randomOperations(seed: UInt64) throws {
        var run = try PoolModelRun(random: ModelRandom(seed: seed))
        for step in 0..<10_000 {
            run.step()
            run.compare(step: step)
            if let failure = run.failure {
                Issue.record("seed \(seed), step \(step): \(failure)")
                return
            }
        }
        run.finish()
        if let failure = run.failure { Issue.record("seed \(seed): \(failure)") }
    }
}

