@testable import MaculaMesh
import MaculaTesting
import Testing

/// The core's slots and waiting queue: who waits, in which order, until when.
@Suite("ConnectionPool core: waiting", .timeLimit(.minutes(1)))
struct ConnectionPoolCoreWaitingTests {
    @Test("with every slot leased a miss waits, and gets its connect when a lease ends")
    func missWaitsWhileEverythingIsLeased() throws {
        var pool = try PoolCoreDriver(limit: 1)
        _ = pool.insert(1)
        let lease = try #require(pool.hit(1, pin: true).1)
        let (waiting, action, _) = pool.request(2, at: 0)
        #expect(action.isQueued)
        #expect(action.signalsDeadlineLoop)
        #expect(pool.core.waiterCount == 1)
        pool.expectInvariants()
        let released = pool.core.leaseReleased(lease)
        let start = try #require(poolStarts(released).first)
        #expect(start.node == 2)
        let (two, completion) = pool.succeed(start.id, node: 2)
        #expect(poolCloses(completion).map(\.node) == [1])
        #expect(pool.resumes(completion).map(\.request) == [Int(waiting)])
        #expect(pool.resumes(completion).first?.outcome.connection === two)
        #expect(pool.order == [2])
        pool.expectInvariants()
    }

    @Test("connects in flight count against the limit: at most `limit` at once")
    func inFlightBounded() throws {
        var pool = try PoolCoreDriver(limit: 2)
        let a = try #require(pool.request(1).action.connectID)
        _ = try #require(pool.request(2).action.connectID)
        #expect(pool.request(3).action.isQueued)
        #expect(pool.core.inFlight == 2)
        // A request for a node being connected joins without a slot.
        #expect(pool.request(1).action.isJoined)
        let (_, actions) = pool.succeed(a, node: 1)
        #expect(poolStarts(actions).map(\.node) == [3])
        #expect(pool.core.inFlight == 2)
        pool.expectInvariants()
    }

    @Test("waiters are served in FIFO order; one whose node is being connected joins that connect")
    func fifoWaiters() throws {
        var pool = try PoolCoreDriver(limit: 1)
        let first = try #require(pool.request(1).action.connectID)
        let (w2, a2, _) = pool.request(2)
        let (w3, a3, _) = pool.request(2)
        let (w4, a4, _) = pool.request(3)
        #expect(a2.isQueued && a3.isQueued && a4.isQueued)
        let (_, actions) = pool.succeed(first, node: 1)
        // The slot goes to the oldest waiter (a connect to 2); the next waiter, for the same node,
        // joins it without a slot; the one after waits.
        #expect(poolStarts(actions).map(\.node) == [2])
        #expect(pool.core.waiterCount == 1)
        let connectTwo = try #require(poolStarts(actions).first?.id)
        let (two, done) = pool.succeed(connectTwo, node: 2)
        let resumed = pool.resumes(done)
        #expect(Set(resumed.filter { $0.outcome.connection === two }.map(\.request)) == [Int(w2), Int(w3)])
        #expect(poolStarts(done).map(\.node) == [3])
        #expect(poolCloses(done).map(\.node) == [1])
        _ = w4
        pool.expectInvariants()
    }

    @Test("a waiter fails with timedOut at its deadline, not before")
    func waitingDeadline() throws {
        var pool = try PoolCoreDriver(limit: 1, waitTimeout: .seconds(5))
        _ = try #require(pool.request(1).action.connectID)
        let (waiter, action, _) = pool.request(2, at: 10)
        #expect(action.isQueued)
        #expect(pool.core.nextDeadline == poolInstant(15))
        let early = pool.core.deadlinePassed(now: poolInstant(14))
        #expect(early.0.isEmpty)
        #expect(early.next == poolInstant(15))
        let due = pool.core.deadlinePassed(now: poolInstant(15))
        #expect(pool.resumes(due.0).map(\.request) == [Int(waiter)])
        #expect(pool.resumes(due.0).first?.outcome.error == .timedOut)
        #expect(poolRejections(due.0) == [.waitTimedOut])
        #expect(due.next == nil)
        #expect(pool.core.waiterCount == 0)
        pool.expectInvariants()
    }

    @Test("the queue of waiters is bounded, waiting is refused once run() stopped, and maximumWaiters 0 means never wait")
    func waitingRejections() throws {
        var bounded = try PoolCoreDriver(limit: 1, maximumWaiters: 1)
        _ = bounded.request(1)
        #expect(bounded.request(2).action.isQueued)
        let (_, full, fullActions) = bounded.request(3)
        #expect(full.rejection == .waitersLimitReached)
        #expect(poolRejections(fullActions) == [.waitersLimitReached])

        var stopped = try PoolCoreDriver(limit: 1)
        _ = stopped.core.runStopped()
        _ = stopped.request(1)
        let (_, notRunning, notRunningActions) = stopped.request(2)
        #expect(notRunning.rejection == .notRunning)
        #expect(poolRejections(notRunningActions) == [.notRunning])
        stopped.expectInvariants()

        var never = try PoolCoreDriver(limit: 1, maximumWaiters: 0, running: false)
        _ = never.request(1)
        let (_, rejected, rejectedActions) = never.request(2)
        #expect(rejected.rejection == .limitReached)
        #expect(poolRejections(rejectedActions) == [.limitReached])
        never.expectInvariants()
    }

    @Test("callers queued before run() count waiting_for_run; past their deadline when it starts they fail in deadline order, with one warning")
    func queuedBeforeRun() throws {
        var pool = try PoolCoreDriver(limit: 1, running: false)
        _ = pool.request(1)                                          // its connect holds the slot
        let (early, earlyAction, earlyActions) = pool.request(2, at: 1)  // deadline 6 s
        #expect(earlyAction.isQueued)
        #expect(poolEvents(earlyActions) == [.callerQueued, .waitingForRun])
        let (late, _, _) = pool.request(3, at: 2)                   // deadline 7 s
        // A caller arriving once the oldest is overdue carries the one-time warning.
        let (_, _, overdueActions) = pool.request(4, at: 7)
        #expect(overdueActions.contains { if case .warnRunNotStarted(.seconds(1)) = $0 { true } else { false } })
        let (_, _, quietActions) = pool.request(5, at: 8)
        #expect(!quietActions.contains { if case .warnRunNotStarted = $0 { true } else { false } })
        pool.expectInvariants()

        #expect(pool.core.runStarted(now: poolInstant(20)) == .started(overdueBy: nil))  // warned already
        let (actions, _) = pool.core.deadlinePassed(now: poolInstant(20))
        #expect(pool.resumes(actions).prefix(2).map(\.request) == [Int(early), Int(late)])
        #expect(pool.resumes(actions).allSatisfy { $0.outcome.error == .timedOut })
        pool.expectInvariants()
    }

    @Test("when run() stops, every queued caller fails with notRunning")
    func runStopped() throws {
        var pool = try PoolCoreDriver(limit: 1)
        #expect(pool.core.runStarted(now: .zero) == .rejected(.alreadyRunning))
        _ = pool.request(1)
        let (waiter, _, _) = pool.request(2)
        let actions = pool.core.runStopped()
        #expect(pool.resumes(actions).map(\.request) == [Int(waiter)])
        #expect(pool.resumes(actions).first?.outcome.error == .notRunning)
        #expect(pool.core.nextDeadline == nil)
        #expect(pool.core.runStarted(now: .zero) == .started(overdueBy: nil))
        pool.expectInvariants()
    }

    @Test("raising the limit lets waiting callers through")
    func raiseLimit() throws {
        var pool = try PoolCoreDriver(limit: 1)
        _ = pool.request(1)
        _ = pool.request(2)
        let actions = try pool.core.setBaseLimit(2)
        #expect(poolStarts(actions).map(\.node) == [2])
        pool.expectInvariants()
    }

    @Test("a lease on an idle entry needs a slot; a second lease on a leased entry does not")
    func leaseNeedsSlot() throws {
        var pool = try PoolCoreDriver(limit: 2)
        _ = pool.insert(1)
        _ = pool.insert(2)
        _ = try #require(pool.hit(1, pin: true).1)
        _ = try #require(pool.request(3).action.connectID) // pinned 1 + in flight 1 = limit
        #expect(pool.request(2, pin: true).action.isQueued)
        _ = pool.hit(1, pin: true) // already leased: no new slot needed
        // A plain hit never waits.
        _ = pool.hit(2)
        pool.expectInvariants()
    }

}
