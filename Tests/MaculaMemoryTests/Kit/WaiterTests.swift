@testable import MaculaMemory
import Testing

/// The waiter decides, exactly once, between the component's outcome and the caller's
/// cancellation, in whichever order they arrive.
@Suite("Kit waiter", .timeLimit(.minutes(3)))
struct WaiterTests {
    @Test("an outcome that arrives before the caller suspends is kept for it; a second finish is refused")
    func finishBeforeWait() async {
        let waiter = Waiter<Int>()
        #expect(waiter.finish(1))
        #expect(waiter.finish(2) == false)
        waiter.cancel()
        #expect(await waiter.wait() == 1)
    }

    @Test("a cancellation before the caller suspends wins over a later claim or finish")
    func cancelBeforeWait() async {
        let waiter = Waiter<Int>()
        waiter.cancel()
        #expect(waiter.claim() == false)
        #expect(waiter.finish(1) == false)
        #expect(await waiter.wait() == nil)
    }

    @Test("once claimed, the caller's cancellation can no longer win")
    func claimBeatsCancel() async {
        let waiter = Waiter<Int>()
        #expect(waiter.claim())
        #expect(waiter.claim() == false)
        waiter.cancel()
        #expect(waiter.finish(7))
        #expect(await waiter.wait() == 7)
    }

    @Test("a suspended caller is resumed by finish, also after a claim")
    func finishResumesWaiter() async {
        let waiter = Waiter<Int>()
        let (suspended, signal) = AsyncStream.makeStream(of: Void.self)
        let task = Task {
            signal.yield()
            return await waiter.wait()
        }
        for await _ in suspended { break }
        #expect(waiter.claim())
        #expect(waiter.finish(3))
        #expect(await task.value == 3)
    }

    @Test("cancelling a suspended caller resumes it with nil, and nothing is delivered after")
    func cancelResumesWaiter() async {
        let waiter = Waiter<Int>()
        let task = Task { await waiter.wait() }
        task.cancel()
        #expect(await task.value == nil)
        #expect(waiter.claim() == false)
        #expect(waiter.finish(1) == false)
    }

    @Test("a task cancelled before it waits is resumed at once with nil")
    func alreadyCancelledTask() async {
        let waiter = Waiter<Int>()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await waiter.wait()
        }
        #expect(await task.value == nil)
    }

    @Test("a second wait returns nil at once")
    func secondWait() async {
        let waiter = Waiter<Int>()
        #expect(waiter.finish(5))
        #expect(await waiter.wait() == 5)
        #expect(await waiter.wait() == nil)
    }

    @Test("finish racing cancellation from many threads: each waiter is resumed exactly once, and finish reports whether it delivered")
    func raceFinishAgainstCancel() async {
        for round in 0..<2_000 {
            let waiter = Waiter<Int>()
            let task = Task { await waiter.wait() }
            let claimFirst = round % 3 == 0
            let claimed = claimFirst && waiter.claim()
            async let cancelling: Void = task.cancel()
            let delivered = waiter.finish(round)
            await cancelling
            let got = await task.value
            #expect(delivered == (got == round), "round \(round): finish said \(delivered), the caller got \(String(describing: got))")
            if claimed { #expect(got == round) }
        }
    }
}

@Suite("Kit wait queue", .timeLimit(.minutes(3)))
struct WaitQueueTests {
    @Test("admission: refused without capacity, when full, after run() stopped and after shutdown")
    func admission() throws {
        var none = WaitQueue<String>(capacity: 0)
        #expect(throws: WaitQueue<String>.Refusal.noWaiting) { try none.enqueue("a", deadline: .seconds(1), lifecycle: .running, now: .zero) }
        var queue = WaitQueue<String>(capacity: 2)
        #expect(throws: WaitQueue<String>.Refusal.notRunning) { try queue.enqueue("a", deadline: .seconds(1), lifecycle: .stopped, now: .zero) }
        #expect(throws: WaitQueue<String>.Refusal.shutDown) { try queue.enqueue("a", deadline: .seconds(1), lifecycle: .shutDown, now: .zero) }
        let first = try queue.enqueue("a", deadline: .seconds(5), lifecycle: .notStarted, now: .zero)
        #expect(first.isEarliest && first.beforeRun == AcceptedBeforeRun(overdueBy: nil))
        let second = try queue.enqueue("b", deadline: .seconds(9), lifecycle: .running, now: .zero)
        #expect(!second.isEarliest && second.beforeRun == nil)
        #expect(throws: WaitQueue<String>.Refusal.full) { try queue.enqueue("c", deadline: .seconds(1), lifecycle: .running, now: .zero) }
        #expect(queue.count == 2 && queue.invariantViolations().isEmpty)
    }

    @Test("callers leave first in first out, by deadline at their deadline, or by ID; each with its deadline")
    func removal() throws {
        var queue = WaitQueue<String>(capacity: 10)
        var ids: [String: UInt64] = [:]
        for (name, deadline) in [("a", 30), ("b", 10), ("c", 20), ("d", 40)] {
            ids[name] = try queue.enqueue(name, deadline: .seconds(deadline), lifecycle: .running, now: .zero).id
        }
        #expect(queue.nextDeadline == .seconds(10))
        #expect(queue.popDue(at: .seconds(20)).map(\.element) == ["b", "c"])
        #expect(queue.remove(ids["d"]!) == "d")
        #expect(queue.remove(ids["d"]!) == nil)
        #expect(queue.popFirst()?.element == "a")
        #expect(queue.isEmpty && queue.nextDeadline == nil && queue.invariantViolations().isEmpty)
    }

    @Test("the overdue warning before run() is due once, only when a queued deadline has passed")
    func overdueOnce() throws {
        var queue = WaitQueue<String>(capacity: 4)
        _ = try queue.enqueue("a", deadline: .seconds(5), lifecycle: .notStarted, now: .zero)
        #expect(queue.checkOverdue(.notStarted, now: .seconds(4)) == nil)
        #expect(queue.checkOverdue(.running, now: .seconds(6)) == nil)
        #expect(queue.checkOverdue(.notStarted, now: .seconds(7)) == .seconds(2))
        #expect(queue.checkOverdue(.notStarted, now: .seconds(8)) == nil)
        let late = try queue.enqueue("b", deadline: .seconds(20), lifecycle: .notStarted, now: .seconds(9))
        #expect(late.beforeRun == AcceptedBeforeRun(overdueBy: nil))
        #expect(queue.removeAll().map(\.element) == ["a", "b"])
    }
}
