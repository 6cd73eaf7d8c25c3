@testable import MaculaMesh
import MaculaTesting
import Testing

/// The pure core, synchronously, with explicit instants and no clock.
@Suite("ConnectionPool core", .timeLimit(.minutes(1)))
struct ConnectionPoolCoreTests {
    @Test("a miss starts one connect; its success inserts the entry and resumes the caller")
    func missThenHit() throws {
        var pool = try PoolCoreDriver(limit: 3)
        let (id, action, actions) = pool.request(1)
        let connectID = try #require(action.connectID)
        #expect(actions.isEmpty)
        #expect(pool.order.isEmpty)
        let (connection, completion) = pool.succeed(connectID, node: 1)
        let resumes = poolResumes(completion)
        #expect(resumes.count == 1)
        #expect(resumes.first?.request == Int(id))
        #expect(resumes.first?.outcome.connection === connection)
        #expect(resumes.first?.outcome.lease == nil)
        #expect(pool.order == [1])
        #expect(pool.hit(1).0 === connection)
        #expect(pool.core.usage().size == 1)
        #expect(pool.core.usage().highWaterMark == 1)
        pool.expectInvariants()
    }

    @Test("the hit fast path touches a live entry and leaves absent or dead ones to the full request")
    func hitFastPath() throws {
        var pool = try PoolCoreDriver(limit: 3)
        let one = pool.insert(1).0
        _ = pool.insert(2)
        #expect(pool.core.hit(1) === one)
        #expect(pool.order == [1, 2])
        #expect(pool.core.hit(3) == nil)
        one.markDead()
        #expect(pool.core.hit(1) == nil)
        #expect(pool.order == [1, 2]) // nothing changed: the full request closes and replaces it
        pool.expectInvariants()
    }

    @Test("the least recently used entry is evicted, and closed, when a connect completes on a full pool")
    func evictionOrder() throws {
        var pool = try PoolCoreDriver(limit: 3)
        for node in 1...3 { _ = pool.insert(node) }
        pool.hit(1)
        #expect(pool.order == [1, 3, 2])
        let (_, actions) = pool.insert(4)
        #expect(poolCloses(actions).map(\.node) == [2])
        #expect(poolCloses(actions).map(\.reason) == [.evicted])
        #expect(pool.order == [4, 1, 3])
        let (_, more) = pool.insert(5)
        #expect(poolCloses(more).map(\.node) == [3])
        #expect(pool.order == [5, 4, 1])
        pool.expectInvariants()
    }

    @Test("recency is exact: touches at one instant reorder entries; there are no timestamps to tie")
    func exactRecencyWithEqualTimestamps() throws {
        var pool = try PoolCoreDriver(limit: 3)
        // Every request happens at the same instant (0); only the order of touches matters.
        for node in [1, 2, 3] { _ = pool.insert(node) }
        pool.hit(2)
        pool.hit(1)
        pool.hit(3)
        pool.hit(2)
        #expect(pool.order == [2, 3, 1])
        let (_, actions) = pool.insert(4)
        #expect(poolCloses(actions).map(\.node) == [1])
        pool.expectInvariants()
    }

    @Test("a connect that completes on a full pool evicts nothing before it succeeds")
    func noEvictionBeforeSuccess() throws {
        var pool = try PoolCoreDriver(limit: 2)
        let first = pool.insert(1).0
        let second = pool.insert(2).0
        let (_, action, actions) = pool.request(3)
        let connectID = try #require(action.connectID)
        #expect(actions.isEmpty)
        #expect(pool.order == [2, 1])
        #expect(first.closeCount == 0 && second.closeCount == 0)
        let failure = pool.core.connectFinished(connectID, result: .failure(PoolTestError()))
        #expect(poolCloses(failure).isEmpty)
        #expect(pool.order == [2, 1])
        #expect(poolEvents(failure) == [.connectFailed])
        let error = try #require(poolResumes(failure).first?.outcome.error)
        #expect(error == .connectFailed)
        #expect(error.underlyingError as? PoolTestError == PoolTestError())
        #expect(pool.core.inFlight == 0)
        pool.expectInvariants()
    }

    @Test("concurrent requests for one node share one connect and get the same connection")
    func sameNodeShareOneConnect() throws {
        var pool = try PoolCoreDriver(limit: 2)
        let (a, first, _) = pool.request(7)
        let connectID = try #require(first.connectID)
        let (b, second, _) = pool.request(7)
        let (c, third, _) = pool.request(7, pin: true)
        #expect(second.isJoined && third.isJoined)
        #expect(pool.core.inFlight == 1)
        if case .connecting(let waiting) = pool.core.state(of: 7) { #expect(waiting == 3) } else {
            Issue.record("expected a connect in flight")
        }
        let (connection, actions) = pool.succeed(connectID, node: 7)
        let resumes = poolResumes(actions).sorted { $0.request < $1.request }
        #expect(resumes.map(\.request) == [Int(a), Int(b), Int(c)])
        #expect(resumes.allSatisfy { $0.outcome.connection === connection })
        #expect(resumes.map { $0.outcome.lease != nil } == [false, false, true])
        if case .established(_, let leases) = pool.core.state(of: 7) { #expect(leases == 1) } else {
            Issue.record("expected an entry")
        }
        pool.expectInvariants()
    }

    @Test("every caller of a failed shared connect gets the same error")
    func sharedFailure() throws {
        var pool = try PoolCoreDriver(limit: 2)
        let connectID = try #require(pool.request(7).action.connectID)
        _ = pool.request(7)
        let actions = pool.core.connectFinished(connectID, result: .failure(PoolTestError(message: "boom")))
        let errors = poolResumes(actions).compactMap(\.outcome.error)
        #expect(errors.count == 2)
        #expect(errors.allSatisfy { ($0.underlyingError as? PoolTestError)?.message == "boom" })
        #expect(poolEvents(actions) == [.connectFailed])
        #expect(pool.core.state(of: 7) == nil)
        pool.expectInvariants()
    }

    @Test("a cancelled caller leaves the shared connect; the others still get it")
    func cancelledWaiterLeavesTheConnect() throws {
        var pool = try PoolCoreDriver(limit: 2)
        let (leader, first, _) = pool.request(7)
        let connectID = try #require(first.connectID)
        let (other, _, _) = pool.request(7)
        #expect(pool.core.requestCancelled(leader, node: 7).isEmpty)
        let (connection, actions) = pool.succeed(connectID, node: 7)
        #expect(poolResumes(actions).map(\.request) == [Int(other)])
        #expect(pool.hit(7).0 === connection)
        // With every caller gone the connection still enters the pool, idle.
        let lonely = try #require(pool.request(8).action.connectID)
        _ = pool.core.requestCancelled(pool.nextRequest - 1, node: 8)
        let (late, lateActions) = pool.succeed(lonely, node: 8)
        #expect(poolResumes(lateActions).isEmpty)
        #expect(pool.order == [8, 7])
        #expect(pool.hit(8).0 === late)
        pool.expectInvariants()
    }

    @Test("a leased entry is never evicted; the least recently used idle one is")
    func pinning() throws {
        var pool = try PoolCoreDriver(limit: 2)
        let (one, _) = pool.insert(1)
        _ = pool.insert(2)
        let (_, lease) = pool.hit(1, pin: true)
        let oneLease = try #require(lease)
        #expect(pool.order == [1, 2])
        _ = pool.hit(2)
        // 1 is older than 2 but leased.
        let (_, actions) = pool.insert(3)
        #expect(poolCloses(actions).map(\.node) == [2])
        #expect(pool.order == [1, 3])
        #expect(one.closeCount == 0)
        // Releasing the lease makes 1 idle and most recently used.
        #expect(pool.core.leaseReleased(oneLease).isEmpty)
        #expect(pool.order == [1, 3])
        let (_, next) = pool.insert(4)
        #expect(poolCloses(next).map(\.node) == [3])
        pool.expectInvariants()
    }

    @Test("a lease ends only with its last holder, and a stale lease is a no-op")
    func leaseCounting() throws {
        var pool = try PoolCoreDriver(limit: 2)
        _ = pool.insert(1)
        let first = try #require(pool.hit(1, pin: true).1)
        let second = try #require(pool.hit(1, pin: true).1)
        #expect(pool.core.leaseReleased(first).isEmpty)
        if case .established(_, let leases) = pool.core.state(of: 1) { #expect(leases == 1) }
        #expect(pool.core.leaseReleased(second).isEmpty)
        if case .established(_, let leases) = pool.core.state(of: 1) { #expect(leases == 0) }
        // Releasing again, or after the entry left and its slot was reused, changes nothing.
        let third = try #require(pool.hit(1, pin: true).1)
        _ = pool.core.remove(1)
        _ = pool.insert(2)
        _ = pool.hit(2, pin: true)
        #expect(pool.core.leaseReleased(third).isEmpty)
        #expect(pool.core.leaseReleased(first).isEmpty)
        if case .established(_, let leases) = pool.core.state(of: 2) { #expect(leases == 1) }
        pool.expectInvariants()
    }

    @Test("with every slot leased a miss waits, and gets its connect when a lease ends")
    func missWaitsWhileEverythingIsLeased() throws {
        var pool = try PoolCoreDriver(limit: 1)
        _ = pool.insert(1)
        let lease = try #require(pool.hit(1, pin: true).1)
        let (waiting, action, _) = pool.request(2, at: 0)
        guard case .queued(let signal) = action else {
            Issue.record("expected the miss to wait, got \(action)")
            return
        }
        #expect(signal)
        #expect(pool.core.waiterCount == 1)
        pool.expectInvariants()
        let released = pool.core.leaseReleased(lease)
        let start = try #require(poolStarts(released).first)
        #expect(start.node == 2)
        let (two, completion) = pool.succeed(start.id, node: 2)
        #expect(poolCloses(completion).map(\.node) == [1])
        #expect(poolResumes(completion).map(\.request) == [Int(waiting)])
        #expect(poolResumes(completion).first?.outcome.connection === two)
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
        let resumed = poolResumes(done)
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
        #expect(poolResumes(due.0).map(\.request) == [Int(waiter)])
        #expect(poolResumes(due.0).first?.outcome.error == .timedOut)
        #expect(poolRejections(due.0) == [.waitTimedOut])
        #expect(due.next == nil)
        #expect(pool.core.waiterCount == 0)
        pool.expectInvariants()
    }

    @Test("the queue of waiters is bounded, waiting needs run(), and maximumWaiters 0 means never wait")
    func waitingRejections() throws {
        var bounded = try PoolCoreDriver(limit: 1, maximumWaiters: 1)
        _ = bounded.request(1)
        #expect(bounded.request(2).action.isQueued)
        let (_, full, fullActions) = bounded.request(3)
        #expect(full.rejection == .waitersLimitReached)
        #expect(poolRejections(fullActions) == [.waitersLimitReached])

        var idle = try PoolCoreDriver(limit: 1, running: false)
        _ = idle.request(1)
        let (_, notRunning, notRunningActions) = idle.request(2)
        #expect(notRunning.rejection == .notRunning)
        #expect(poolRejections(notRunningActions) == [.notRunning])

        var never = try PoolCoreDriver(limit: 1, maximumWaiters: 0, running: false)
        _ = never.request(1)
        let (_, rejected, rejectedActions) = never.request(2)
        #expect(rejected.rejection == .limitReached)
        #expect(poolRejections(rejectedActions) == [.limitReached])
        never.expectInvariants()
    }

    @Test("when run() stops, every queued caller fails with notRunning")
    func runStopped() throws {
        var pool = try PoolCoreDriver(limit: 1)
        #expect(pool.core.runStarted() == .alreadyRunning)
        _ = pool.request(1)
        let (waiter, _, _) = pool.request(2)
        let actions = pool.core.runStopped()
        #expect(poolResumes(actions).map(\.request) == [Int(waiter)])
        #expect(poolResumes(actions).first?.outcome.error == .notRunning)
        #expect(pool.core.nextDeadline == nil)
        #expect(pool.core.runStarted() == nil)
        pool.expectInvariants()
    }

    @Test("a dead entry found on a hit is closed, removed and replaced")
    func deadOnHit() throws {
        var pool = try PoolCoreDriver(limit: 2)
        let (old, _) = pool.insert(1)
        old.markDead()
        let (_, action, actions) = pool.request(1)
        let connectID = try #require(action.connectID)
        #expect(poolCloses(actions).map(\.serial) == [old.serial])
        #expect(poolCloses(actions).map(\.reason) == [.dead])
        #expect(pool.core.state(of: 1) != nil)
        let (fresh, _) = pool.succeed(connectID, node: 1)
        #expect(pool.hit(1).0 === fresh)
        pool.expectInvariants()
    }

    @Test("prune closes and counts the dead entries, leased ones included, and frees their slots")
    func prune() throws {
        var pool = try PoolCoreDriver(limit: 3)
        let one = pool.insert(1).0
        _ = pool.insert(2)
        let three = pool.insert(3).0
        _ = pool.hit(3, pin: true)
        one.markDead()
        three.markDead()
        let (count, actions) = pool.core.prune()
        #expect(count == 2)
        #expect(Set(poolCloses(actions).map(\.node)) == [1, 3])
        #expect(poolCloses(actions).allSatisfy { $0.reason == .dead })
        #expect(pool.order == [2])
        #expect(pool.core.prune().0 == 0)
        pool.expectInvariants()
    }

    @Test("lowering the limit evicts idle entries at once; leased ones go when their lease ends")
    func lowerLimit() throws {
        var pool = try PoolCoreDriver(limit: 4)
        for node in 1...4 { _ = pool.insert(node) }
        let lease = try #require(pool.hit(1, pin: true).1)
        let actions = try pool.core.setBaseLimit(2)
        #expect(poolCloses(actions).map(\.node) == [2, 3])
        #expect(poolCloses(actions).allSatisfy { $0.reason == .evicted })
        #expect(pool.order == [1, 4])
        pool.expectInvariants()

        let pressure = pool.core.setPressureScale(0.5)
        #expect(pool.core.limit == 1)
        #expect(poolCloses(pressure).map(\.node) == [4])
        #expect(poolCloses(pressure).map(\.reason) == [.pressure])
        // 1 is leased and now alone; lowering further keeps it until its lease ends.
        _ = try pool.core.setBaseLimit(1)
        #expect(pool.order == [1])
        // No slot is free (1 is leased), so a miss waits; the lease's end lets it through and its
        // connect then replaces 1.
        #expect(pool.request(5).action.isQueued)
        let released = pool.core.leaseReleased(lease)
        let start = try #require(poolStarts(released).first)
        let (_, done) = pool.succeed(start.id, node: 5)
        #expect(poolCloses(done).map(\.node) == [1])
        #expect(pool.order == [5])
        pool.expectInvariants()
        #expect(throws: ConfigurationError.self) { try pool.core.setBaseLimit(0) }
        #expect(pool.core.usage().baseLimit == 1)
    }

    @Test("a connect that completes with no room after the limit was lowered is closed, its callers told")
    func noRoomAfterLowering() throws {
        var pool = try PoolCoreDriver(limit: 2)
        _ = pool.insert(1)
        let lease = try #require(pool.hit(1, pin: true).1)
        let (waiter, action, _) = pool.request(2)
        let connectID = try #require(action.connectID)
        _ = pool.core.setPressureScale(0.5)
        #expect(pool.core.limit == 1)
        let (late, actions) = pool.succeed(connectID, node: 2)
        #expect(poolCloses(actions).map(\.serial) == [late.serial])
        #expect(poolCloses(actions).map(\.reason) == [nil])
        #expect(poolEvents(actions) == [.connectDiscarded])
        #expect(poolResumes(actions).map(\.request) == [Int(waiter)])
        #expect(poolResumes(actions).first?.outcome.error == .limitReached)
        #expect(pool.order == [1])
        _ = pool.core.leaseReleased(lease)
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

    @Test("limit 1: every new node replaces the previous one; a lease blocks replacement")
    func limitOne() throws {
        var pool = try PoolCoreDriver(limit: 1)
        var previous: FakeConnection<Int>?
        for node in 1...5 {
            let (connection, actions) = pool.insert(node)
            #expect(poolCloses(actions).map(\.serial) == (previous.map { [$0.serial] } ?? []))
            #expect(pool.order == [node])
            previous = connection
            pool.expectInvariants()
        }
        let lease = try #require(pool.hit(5, pin: true).1)
        #expect(pool.request(6).action.isQueued)
        let released = pool.core.leaseReleased(lease)
        let start = try #require(poolStarts(released).first)
        let (_, done) = pool.succeed(start.id, node: 6)
        #expect(poolCloses(done).map(\.node) == [5])
        #expect(pool.order == [6])
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

    @Test("remove closes an entry, abandons a connect, and is a no-op for unknown nodes")
    func remove() throws {
        var pool = try PoolCoreDriver(limit: 3)
        let (one, _) = pool.insert(1)
        let (removed, actions) = pool.core.remove(1)
        #expect(removed)
        #expect(poolCloses(actions).map(\.serial) == [one.serial])
        #expect(poolCloses(actions).map(\.reason) == [.removed])
        #expect(pool.core.remove(1).0 == false)
        #expect(pool.core.remove(99).0 == false)

        let (waiter, action, _) = pool.request(2)
        let connectID = try #require(action.connectID)
        let (abandoned, abandonActions) = pool.core.remove(2)
        #expect(abandoned)
        #expect(poolCancelledConnects(abandonActions) == [connectID])
        #expect(poolResumes(abandonActions).map(\.request) == [Int(waiter)])
        #expect(poolResumes(abandonActions).first?.outcome.error == .nodeRemoved)
        #expect(pool.core.inFlight == 1) // the task still runs until it reports
        // A new request for the node starts a new connect; the old one's connection is closed.
        let fresh = try #require(pool.request(2).action.connectID)
        let (late, lateActions) = pool.succeed(connectID, node: 2)
        #expect(poolCloses(lateActions).map(\.serial) == [late.serial])
        #expect(poolEvents(lateActions) == [.connectDiscarded])
        #expect(pool.core.state(of: 2) != nil)
        _ = pool.succeed(fresh, node: 2)
        #expect(pool.order == [2])
        pool.expectInvariants()
    }

    @Test("shutdown closes everything, fails every caller, abandons connects; later requests fail")
    func shutdown() throws {
        var pool = try PoolCoreDriver(limit: 2)
        let (one, _) = pool.insert(1)
        _ = pool.hit(1, pin: true)
        let (connecting, action, _) = pool.request(2)
        let connectID = try #require(action.connectID)
        let (queued, _, _) = pool.request(3)
        let actions = pool.core.shutdown()
        #expect(poolCloses(actions).map(\.serial) == [one.serial])
        #expect(poolCloses(actions).map(\.reason) == [.shutdown])
        #expect(poolCancelledConnects(actions) == [connectID])
        let failed = Dictionary(uniqueKeysWithValues: poolResumes(actions).map { ($0.request, $0.outcome.error) })
        #expect(failed == [Int(connecting): .shutdown, Int(queued): .shutdown])
        #expect(pool.request(1).action.rejection == .shutdown)
        #expect(pool.core.runStarted() == .shutdown)
        let (late, lateActions) = pool.succeed(connectID, node: 2)
        #expect(poolCloses(lateActions).map(\.serial) == [late.serial])
        #expect(pool.core.shutdown().isEmpty)
        #expect(pool.core.usage().size == 0)
        pool.expectInvariants()
    }

    @Test("a request from an already cancelled caller starts nothing")
    func cancelledBeforeRequest() throws {
        var pool = try PoolCoreDriver(limit: 1)
        #expect(pool.request(1, cancelled: true).action.rejection == .cancelled)
        #expect(pool.core.inFlight == 0)
        _ = pool.insert(2)
        // A hit needs no waiter, so it succeeds even for a cancelled caller.
        if case .hit = pool.request(2, cancelled: true).action {} else { Issue.record("expected a hit") }
        pool.expectInvariants()
    }
}
