@testable import MaculaMesh
import Testing

/// The waiter box decides, exactly once, between a grant, a failure and the caller's cancellation,
/// in whichever order they arrive.
@Suite("ClientManager waiter", .timeLimit(.minutes(3)))
struct ClientManagerWaiterTests {
    @Test("an outcome that arrives before the caller suspends is kept for it")
    func finishBeforeWait() async {
        let waiter = ClientSlotWaiter()
        #expect(waiter.finish(.failed(.timedOut)))
        #expect(waiter.finish(.connected(registration: 1)) == false)
        #expect(await waiter.wait() == .failed(.timedOut))
    }

    @Test("a cancellation before the caller suspends wins over a later grant or failure")
    func cancelBeforeWait() async {
        let waiter = ClientSlotWaiter()
        waiter.cancel()
        #expect(waiter.claim() == false)
        #expect(waiter.finish(.failed(.shutdown)) == false)
        #expect(await waiter.wait() == .failed(.cancelled))
    }

    @Test("once claimed, the caller's cancellation can no longer win")
    func claimBeatsCancel() async {
        let waiter = ClientSlotWaiter()
        #expect(waiter.claim())
        #expect(waiter.claim() == false)
        waiter.cancel()
        #expect(waiter.finish(.connected(registration: 7)))
        #expect(await waiter.wait() == .connected(registration: 7))
    }

    @Test("a suspended caller is resumed by the outcome")
    func finishResumesWaiter() async {
        let waiter = ClientSlotWaiter()
        let task = Task { await waiter.wait() }
        #expect(waiter.claim())
        #expect(waiter.finish(.connected(registration: 3)))
        #expect(await task.value == .connected(registration: 3))
    }

    @Test("cancelling a suspended caller resumes it with cancelled, and nothing can be delivered after")
    func cancelResumesWaiter() async {
        let waiter = ClientSlotWaiter()
        let task = Task { await waiter.wait() }
        task.cancel()
        #expect(await task.value == .failed(.cancelled))
        #expect(waiter.claim() == false)
        #expect(waiter.finish(.connected(registration: 1)) == false)
    }

    @Test("a cancelled task that waits is resumed at once")
    func alreadyCancelledTask() async {
        let waiter = ClientSlotWaiter()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await waiter.wait()
        }
        #expect(await task.value == .failed(.cancelled))
    }
}
