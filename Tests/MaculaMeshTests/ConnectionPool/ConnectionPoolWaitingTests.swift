@testable import MaculaMesh
import MaculaTesting
import Testing

/// The actor's waiting callers and its run() loop, on the manual clock.
@Suite("ConnectionPool: waiting", .timeLimit(.minutes(1)))
struct ConnectionPoolWaitingTests {
    @Test("a caller waits for a slot until its deadline on the manual clock, then times out")
    func waitingDeadline() async throws {
        let fixture = try PoolFixture(limit: 1, waitTimeout: .seconds(5))
        let runner = fixture.startRunning()
        async let holder = fixture.pool.connection(to: 1) // holds the only slot while connecting
        let pending = await fixture.factory.nextConnect()
        let waiter = Task { try await fixture.pool.connection(to: 2) }
        let deadline = await fixture.clock.nextSleep()
        #expect(deadline.offset == .seconds(5))
        fixture.clock.advance(by: .seconds(4))
        #expect(await fixture.pool.core.waiterCount == 1)
        fixture.clock.advance(to: deadline)
        await #expect(throws: ConnectionPoolError.timedOut) { try await waiter.value }
        #expect(fixture.metrics.rejected(.waitTimedOut) == 1)
        #expect(await fixture.pool.core.waiterCount == 0)
        pending.succeed()
        _ = try await holder
        runner.cancel()
        try await runner.value
        await fixture.expectQuiescent()
    }

    @Test("a waiting caller gets the slot a completed connect frees, in FIFO order")
    func waitingCallerGetsSlot() async throws {
        let fixture = try PoolFixture(limit: 1)
        let runner = fixture.startRunning()
        async let holder = fixture.pool.connection(to: 1)
        let first = await fixture.factory.nextConnect()
        let second = Task { try await fixture.pool.connection(to: 2) }
        try await fixture.metrics.waitFor(.callerQueued, count: 1)
        let third = Task { try await fixture.pool.connection(to: 3) }
        try await fixture.metrics.waitFor(.callerQueued, count: 2)
        let one = try #require(first.succeed())
        #expect(try await holder === one)
        let forTwo = await fixture.factory.nextConnect()
        #expect(forTwo.node == 2)
        let two = try #require(forTwo.succeed())
        #expect(try await second.value === two)
        #expect(one.closeCount == 1)
        let forThree = await fixture.factory.nextConnect()
        #expect(forThree.node == 3)
        forThree.succeed()
        _ = try await third.value
        #expect(two.closeCount == 1)
        #expect(await fixture.nodes() == [3])
        runner.cancel()
        try await runner.value
    }

    @Test("cancelling a caller that waits for a slot removes it before the call returns")
    func cancelQueuedCaller() async throws {
        let fixture = try PoolFixture(limit: 1)
        let runner = fixture.startRunning()
        async let holder = fixture.pool.connection(to: 1)
        let pending = await fixture.factory.nextConnect()
        let waiter = Task { try await fixture.pool.connection(to: 2) }
        try await fixture.metrics.waitFor(.callerQueued, count: 1)
        waiter.cancel()
        await #expect(throws: ConnectionPoolError.cancelled) { try await waiter.value }
        #expect(await fixture.pool.core.waiterCount == 0)
        pending.succeed()
        _ = try await holder
        #expect(fixture.factory.callCount == 1)
        runner.cancel()
        try await runner.value
        await fixture.expectQuiescent()
    }

    @Test("once a run() has returned, a caller that would wait fails at once with notRunning")
    func notRunning() async throws {
        let fixture = try PoolFixture(limit: 1)
        let runner = fixture.startRunning()
        runner.cancel()
        try await runner.value
        async let holder = fixture.pool.connection(to: 1)
        let pending = await fixture.factory.nextConnect()
        await #expect(throws: ConnectionPoolError.notRunning) { try await fixture.pool.connection(to: 2) }
        #expect(fixture.metrics.rejected(.notRunning) == 1)
        pending.succeed()
        _ = try await holder
    }

    @Test("the waiting queue is bounded; maximumWaiters 0 fails at once with limitReached")
    func waitersLimit() async throws {
        let fixture = try PoolFixture(limit: 1, maximumWaiters: 1)
        let runner = fixture.startRunning()
        async let holder = fixture.pool.connection(to: 1)
        let pending = await fixture.factory.nextConnect()
        let queued = Task { try await fixture.pool.connection(to: 2) }
        try await fixture.metrics.waitFor(.callerQueued, count: 1)
        await #expect(throws: ConnectionPoolError.waitersLimitReached) { try await fixture.pool.connection(to: 3) }
        #expect(fixture.metrics.rejected(.waitersLimitReached) == 1)
        runner.cancel()
        try await runner.value
        // run() stopped: the queued caller fails instead of waiting forever.
        await #expect(throws: ConnectionPoolError.notRunning) { try await queued.value }
        pending.succeed()
        _ = try await holder

        let never = try PoolFixture(limit: 1, maximumWaiters: 0)
        async let other = never.pool.connection(to: 1)
        let blocker = await never.factory.nextConnect()
        await #expect(throws: ConnectionPoolError.limitReached) { try await never.pool.connection(to: 2) }
        blocker.succeed()
        _ = try await other
    }

    @Test("run() may run once at a time, again after it returned, and not after shutdown")
    func runLifecycle() async throws {
        let fixture = try PoolFixture()
        // Two run()s at once: whichever comes second is refused; the other runs until cancelled.
        await withTaskGroup(of: ConnectionPoolError?.self) { group in
            for _ in 0..<2 {
                group.addTask {
                    do throws(ConnectionPoolError) {
                        try await fixture.pool.run()
                        return nil
                    } catch {
                        return error
                    }
                }
            }
            #expect(await group.next()! == .alreadyRunning)
            group.cancelAll()
            #expect(await group.next()! == nil)
        }
        let again = fixture.startRunning()
        again.cancel()
        try await again.value
        await fixture.pool.shutdown()
        await #expect(throws: ConnectionPoolError.shutdown) { try await fixture.pool.run() }
    }

    @Test("a lease on the only slot makes a miss wait until the lease ends")
    func leaseBlocksMissAtLimit() async throws {
        let fixture = try PoolFixture(limit: 1) { _ in .succeed }
        let runner = fixture.startRunning()
        let entered = PoolGate()
        let release = PoolGate()
        let lease = Task {
            try await fixture.pool.withConnection(to: 1) { connection in
                entered.open()
                await release.wait()
                return connection
            }
        }
        await entered.wait()
        let waiter = Task { try await fixture.pool.connection(to: 2) }
        try await fixture.metrics.waitFor(.callerQueued, count: 1)
        release.open()
        let one = try await lease.value
        let two = try await waiter.value
        #expect(two.node == 2)
        #expect(one.closeCount == 1)
        #expect(await fixture.nodes() == [2])
        runner.cancel()
        try await runner.value
    }

    @Test("queued callers let through one after another by connects that finish at once are all served")
    func chainOfImmediateConnects() async throws {
        let fixture = try PoolFixture(limit: 1, maximumWaiters: 32) { _ in .succeed }
        let entered = PoolGate()
        let release = PoolGate()
        let lease = Task {
            try await fixture.pool.withConnection(to: 0) { _ in
                entered.open()
                await release.wait()
            }
        }
        await entered.wait()
        let callers = (1...20).map { node in Task { try await fixture.pool.connection(to: node) } }
        try await fixture.metrics.waitFor(.callerQueued, count: 20)
        release.open()
        try await lease.value
        // Each connect finishes at once and lets the next queued caller start its own.
        for (node, caller) in zip(1..., callers) {
            #expect(try await caller.value.node == node)
        }
        await fixture.pool.waitForConnectTasks()
        #expect(await fixture.nodes().count == 1)
        #expect(fixture.factory.connections.filter { $0.closeCount == 1 }.count == 20)
        await fixture.expectQuiescent()
    }
}
