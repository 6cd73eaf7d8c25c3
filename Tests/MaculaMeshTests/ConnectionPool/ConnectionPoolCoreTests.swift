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
        let resumes = pool.resumes(completion)
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
        let error = try #require(pool.resumes(failure).first?.outcome.error)
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
        let resumes = pool.resumes(actions).sorted { $0.request < $1.request }
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
        let errors = pool.resumes(actions).compactMap(\.outcome.error)
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
        #expect(pool.cancel(leader, node: 7).isEmpty)
        let (connection, actions) = pool.succeed(connectID, node: 7)
        #expect(pool.resumes(actions).map(\.request) == [Int(other)])
        #expect(pool.hit(7).0 === connection)
        // With every caller gone the connection still enters the pool, idle.
        let lonely = try #require(pool.request(8).action.connectID)
        _ = pool.cancel(pool.nextRequest - 1, node: 8)
        let (late, lateActions) = pool.succeed(lonely, node: 8)
        #expect(pool.resumes(lateActions).isEmpty)
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

    @Test("a request from an already cancelled caller starts nothing")
    func cancelledBeforeRequest() throws {
        var pool = try PoolCoreDriver(limit: 1)
        #expect(pool.request(1, cancelled: true).action.rejection == .cancelled)
        #expect(pool.core.inFlight == 0)
        _ = pool.insert(2)
        // A hit needs no waiter, so it succeeds even for a cancelled caller.
        #expect(pool.request(2, cancelled: true).action.hit != nil)
        pool.expectInvariants()
    }

    @Test("a resumed caller takes its outcome once; it is kept for it until then")
    func outcomeTakenOnce() throws {
        var pool = try PoolCoreDriver(limit: 2)
        let (id, action, _) = pool.request(1, pin: true)
        let connectID = try #require(action.connectID)
        let (connection, _) = pool.succeed(connectID, node: 1)
        #expect(pool.core.callerCount == 1)
        let requestID = try #require(pool.ids[id])
        let (outcome, actions) = pool.core.callerResumed(requestID, node: 1, delivered: true)
        #expect(outcome.connection === connection && outcome.lease != nil)
        #expect(actions.isEmpty)
        #expect(pool.core.callerCount == 0)
        #expect(pool.core.outcome(of: requestID) == nil)
        // Taking it again is a no-op.
        #expect(pool.core.callerResumed(requestID, node: 1, delivered: true).0.error == .cancelled)
        if case .established(_, let leases) = pool.core.state(of: 1) { #expect(leases == 1) }
        pool.expectInvariants()
    }

    @Test("a caller cancelled after its leased outcome was delivered gets cancelled, and its lease ends")
    func cancelledAfterDelivery() throws {
        var pool = try PoolCoreDriver(limit: 1)
        let (id, action, _) = pool.request(1, pin: true)
        let connectID = try #require(action.connectID)
        _ = pool.succeed(connectID, node: 1)
        // Another caller waits for the slot the lease holds.
        let (waiting, queued, _) = pool.request(2)
        #expect(queued.isQueued)
        let actions = pool.cancel(id, node: 1)
        #expect(pool.core.callerCount == 1) // the caller for 2 only
        // The lease ended, so the waiting caller's connect starts.
        #expect(poolStarts(actions).map(\.node) == [2])
        if case .established(_, let leases) = pool.core.state(of: 1) { #expect(leases == 0) }
        #expect(pool.core.waiterCount == 0)
        _ = waiting
        pool.expectInvariants()
    }

    @Test("a cancelled caller that would queue is refused without queueing")
    func cancelledBeforeQueueing() throws {
        var pool = try PoolCoreDriver(limit: 1)
        _ = try #require(pool.request(1).action.connectID)
        let (_, action, actions) = pool.request(2, cancelled: true)
        #expect(action.rejection == .cancelled)
        #expect(poolEvents(actions).isEmpty)
        #expect(pool.core.waiterCount == 0)
        pool.expectInvariants()
    }
}
