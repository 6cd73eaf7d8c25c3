@testable import MaculaMemory
import Testing

@Suite("Kit abort race", .timeLimit(.minutes(3)))
struct AbortTests {
    @Test("work that returns or throws first is reported as finished or failed")
    func workWins() async {
        let outcome = await raceAgainstAbort(DeadlineSignal()) { 42 }
        guard case .finished(42) = outcome else { Issue.record("expected finished(42), got \(outcome)"); return }
        struct Refused: Error {}
        let failed = await raceAgainstAbort(DeadlineSignal()) { () throws -> Int in throw Refused() }
        guard case .failed(let error) = failed, error is Refused else { Issue.record("expected failed, got \(failed)"); return }
    }

    @Test("an abort cancels work that would never end, and the race returns once the work has ended")
    func abortCancelsWork() async {
        let abort = DeadlineSignal()
        let (started, starting) = AsyncStream.makeStream(of: Void.self)
        let (ended, ending) = AsyncStream.makeStream(of: Bool.self)
        let race = Task {
            await raceAgainstAbort(abort) { () async throws -> Int in
                starting.yield()
                // Suspends until cancelled; the race must cancel it.
                let cancelled = await withTaskCancellationHandler {
                    await AsyncStream<Void> { _ in }.first { _ in true } == nil
                } onCancel: {}
                ending.yield(cancelled)
                throw CancellationError()
            }
        }
        for await _ in started { break }
        abort.signal()
        guard case .interrupted = await race.value else { Issue.record("expected interrupted"); return }
        ending.finish()
        var sawEnd = false
        for await _ in ended { sawEnd = true; break }
        #expect(sawEnd, "the work ended before the race returned")
    }

    @Test("an abort signalled before the race starts interrupts it at once")
    func abortBeforeStart() async {
        let abort = DeadlineSignal()
        abort.signal()
        let outcome = await raceAgainstAbort(abort) { () async throws -> Int in
            // Never ends unless cancelled.
            _ = await AsyncStream<Void> { _ in }.first { _ in true }
            throw CancellationError()
        }
        guard case .interrupted = outcome else { Issue.record("expected interrupted, got \(outcome)"); return }
    }

    @Test("Aborts keeps one signal per piece of work: abort signals and forgets it, finished forgets it, abortAll signals the rest")
    func aborts() async {
        var aborts = Aborts<Int>()
        let first = aborts.start(1)
        _ = aborts.start(2)
        let third = aborts.start(3)
        #expect(aborts.count == 3)
        aborts.abort(1)
        aborts.abort(1)  // a no-op the second time
        aborts.finished(2)
        #expect(aborts.count == 1)
        aborts.abortAll()
        #expect(aborts.count == 0)
        // A signalled DeadlineSignal makes the next wait return at once (a missing signal hangs
        // the test until its time limit).
        await first.wait()
        await third.wait()
    }
}
