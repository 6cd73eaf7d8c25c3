@testable import MaculaMesh
import MaculaTesting
import Testing

/// The core's removals: dead entries, prune, limits, remove, shutdown.
@Suite("ConnectionPool core: maintenance", .timeLimit(.minutes(1)))
struct ConnectionPoolCoreMaintenanceTests {
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

    @Test("prune(node) removes that node's entry only when it is dead, leased or not, and ignores others")
    func pruneOne() throws {
        var pool = try PoolCoreDriver(limit: 3)
        let one = pool.insert(1).0
        let two = pool.insert(2).0
        _ = pool.hit(2, pin: true)
        #expect(pool.core.prune(1).0 == false)              // alive: stays
        one.markDead()
        two.markDead()
        let (removed, actions) = pool.core.prune(1)
        #expect(removed)
        #expect(poolCloses(actions).map(\.node) == [1])
        #expect(poolCloses(actions).map(\.reason) == [.dead])
        #expect(pool.core.prune(2).0)                        // leased: removed too
        #expect(pool.core.prune(7).0 == false)               // unknown: no-op
        #expect(pool.order.isEmpty)
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
        #expect(pool.resumes(actions).map(\.request) == [Int(waiter)])
        #expect(pool.resumes(actions).first?.outcome.error == .limitReached)
        #expect(pool.order == [1])
        _ = pool.core.leaseReleased(lease)
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
        #expect(pool.resumes(abandonActions).map(\.request) == [Int(waiter)])
        #expect(pool.resumes(abandonActions).first?.outcome.error == .nodeRemoved)
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
        let failed = Dictionary(uniqueKeysWithValues: pool.resumes(actions).map { ($0.request, $0.outcome.error) })
        #expect(failed == [Int(connecting): .shutdown, Int(queued): .shutdown])
        #expect(pool.request(1).action.rejection == .shutdown)
        #expect(pool.core.runStarted(now: .zero) == .rejected(.shutdown))
        let (late, lateActions) = pool.succeed(connectID, node: 2)
        #expect(poolCloses(lateActions).map(\.serial) == [late.serial])
        #expect(pool.core.shutdown().isEmpty)
        #expect(pool.core.usage().size == 0)
        pool.expectInvariants()
    }

}
