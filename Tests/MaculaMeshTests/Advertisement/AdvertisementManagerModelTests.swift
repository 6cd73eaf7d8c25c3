import MaculaModels
import Testing

/// Thousands of random operations on the real core, compared after every step with
/// ``AdvertisementReferenceModel``: the actions returned, every record and its deadlines, the
/// usage and the next deadline. Time moves by random amounts, often exactly onto a deadline.
@Suite("AdvertisementManager model", .timeLimit(.minutes(1)))
struct AdvertisementManagerModelTests {
    @Test("the core agrees with a plain-dictionary model after each of 5,000 random operations", arguments: [0xAD_0001, 0xAD_0002, 0xAD_0003] as [UInt64])
    func randomOperations(seed: UInt64) throws {
        var run = try AdvertisementModelRun(random: ModelRandom(seed: seed))
        for step in 0..<5_000 {
            run.step = step
            run.randomOperation()
            run.compareState()
            if let failure = run.failure {
                Issue.record("seed 0x\(String(seed, radix: 16, uppercase: true)): \(failure)")
                return
            }
        }
    }
}

