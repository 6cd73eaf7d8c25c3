@testable import MaculaMesh
import MaculaTesting
import Testing

/// The actor, on the manual clock, with a factory whose calls the tests resolve by hand.
@Suite("ConnectionPool", .timeLimit(.minutes(1)))
struct ConnectionPoolTests {
    @Test("a miss connects through the factory; the next call is a hit")
    func success() async throws {
        let fixture = try PoolFixture()
        let made = try await fixture.connect(1)
        #expect(try await fixture.pool.connection(to: 1) === made)
        #expect(fixture.factory.callCount == 1)
        #expect(await fixture.pool.memoryUsage().size == 1)
        if case .connected(let connection, let leases) = await fixture.pool.info(for: 1) {
            #expect(connection === made && leases == 0)
        } else {
            Issue.record("expected an entry")
        }
        #expect(await fixture.pool.info(for: 2) == nil)
        await fixture.expectInvariants()
    }

    @Test("a factory that does not suspend connects within the caller's call")
    func immediateFactory() async throws {
        let fixture = try PoolFixture(limit: 2) { _ in .succeed }
        for node in 1...5 {
            let connection = try await fixture.pool.connection(to: node)
            #expect(connection.node == node)
        }
        #expect(await fixture.nodes() == [5, 4])
        let closed = fixture.factory.connections.filter { $0.closeCount == 1 }.map(\.node)
        #expect(closed == [1, 2, 3])
        #expect(fixture.metrics.removals(.evicted) == 3)
        await fixture.expectInvariants()
    }

    @Test("a @concurrent factory works as well as a nonsending one")
    func concurrentFactory() async throws {
        let pool = try PoolUnderTest(clock: ManualClock()) { @concurrent node in
            FakeConnection(node: node, serial: node)
        }
        let connection = try await pool.connection(to: 4)
        #expect(connection.serial == 4)
        #expect(try await pool.connection(to: 4) === connection)
    }

    @Test("a failed connect throws the factory's error, typed, and leaves the pool exactly as it was")
    func failure() async throws {
        let fixture = try PoolFixture(limit: 2)
        try await fixture.connect(1)
        try await fixture.connect(2)
        let before = await fixture.pool.connections().map { ObjectIdentifier($0.connection) }
        async let attempt = fixture.pool.connection(to: 3)
        await fixture.factory.nextConnect().fail(PoolTestError(message: "unreachable"))
        do {
            _ = try await attempt
            Issue.record("expected the connect to fail")
        } catch let error as ConnectionPoolError {
            #expect(error == .connectFailed)
            #expect((error.underlyingError as? PoolTestError)?.message == "unreachable")
            #expect(error.description.contains("unreachable"))
        }
        #expect(await fixture.pool.connections().map { ObjectIdentifier($0.connection) } == before)
        #expect(fixture.factory.connections.allSatisfy { $0.closeCount == 0 })
        #expect(fixture.metrics.events(.connectFailed) == 1)
        await fixture.expectInvariants()
    }

    @Test("a slow connect held open by the test blocks nobody else")
    func slowConnect() async throws {
        let fixture = try PoolFixture(limit: 3)
        let one = try await fixture.connect(1)
        async let slow = fixture.pool.connection(to: 2)
        let pending = await fixture.factory.nextConnect()
        if case .connecting(let waiting) = await fixture.pool.info(for: 2) {
            #expect(waiting == 1)
        } else {
            Issue.record("expected a connect in flight")
        }
        // While node 2's connect is in flight, hits and other connects go on.
        #expect(try await fixture.pool.connection(to: 1) === one)
        let three = try await fixture.connect(3)
        #expect(await fixture.nodes() == [3, 1])
        let two = try #require(pending.succeed())
        #expect(try await slow === two)
        #expect(await fixture.nodes() == [2, 3, 1])
        _ = three
        await fixture.expectInvariants()
    }

    @Test("concurrent misses for one node share one factory call and one connection")
    func sameNodeConcurrency() async throws {
        let fixture = try PoolFixture(limit: 3)
        let callers = 6
        try await withThrowingTaskGroup(of: FakeConnection<Int>.self) { group in
            for _ in 0..<callers {
                group.addTask { try await fixture.pool.connection(to: 7) }
            }
            let pending = await fixture.factory.nextConnect()
            await fixture.metrics.waitFor(.connectShared, count: callers - 1)
            let made = try #require(pending.succeed())
            var received = 0
            for try await connection in group {
                #expect(connection === made)
                received += 1
            }
            #expect(received == callers)
        }
        #expect(fixture.factory.callCount(for: 7) == 1)
        await fixture.expectInvariants()
    }

    @Test("concurrent misses for one node all get the same error when the shared connect fails")
    func sameNodeFailure() async throws {
        let fixture = try PoolFixture(limit: 3)
        try await withThrowingTaskGroup(of: ConnectionPoolError?.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    do throws(ConnectionPoolError) {
                        _ = try await fixture.pool.connection(to: 7)
                        return nil
                    } catch {
                        return error
                    }
                }
            }
            let pending = await fixture.factory.nextConnect()
            await fixture.metrics.waitFor(.connectShared, count: 2)
            pending.fail(PoolTestError(message: "down"))
            for try await error in group {
                #expect(error == .connectFailed)
                #expect((error?.underlyingError as? PoolTestError)?.message == "down")
            }
        }
        #expect(fixture.factory.callCount(for: 7) == 1)
        #expect(await fixture.pool.info(for: 7) == nil)
    }

    @Test("cancelling the first caller returns it at once and leaves the shared connect to the others")
    func cancelFirstCaller() async throws {
        let fixture = try PoolFixture(limit: 3, honoursCancellation: true)
        let first = Task { try await fixture.pool.connection(to: 7) }
        let pending = await fixture.factory.nextConnect()
        let second = Task { try await fixture.pool.connection(to: 7) }
        await fixture.metrics.waitFor(.connectShared, count: 1)
        first.cancel()
        // The cancelled caller returns before the connect completes…
        await #expect(throws: ConnectionPoolError.cancelled) { try await first.value }
        // …and the connect, which runs in the pool's own task, was not cancelled.
        #expect(!pending.isCancelled)
        if case .connecting(let waiting) = await fixture.pool.info(for: 7) {
            #expect(waiting == 1)
        } else {
            Issue.record("expected the connect still in flight")
        }
        let made = try #require(pending.succeed())
        #expect(try await second.value === made)
        #expect(fixture.factory.callCount(for: 7) == 1)
        await fixture.expectInvariants()
    }

    @Test("when every caller of a connect is cancelled, its connection still enters the pool")
    func cancelEveryCaller() async throws {
        let fixture = try PoolFixture(limit: 3)
        let only = Task { try await fixture.pool.connection(to: 7) }
        let pending = await fixture.factory.nextConnect()
        only.cancel()
        await #expect(throws: ConnectionPoolError.cancelled) { try await only.value }
        if case .connecting(let waiting) = await fixture.pool.info(for: 7) {
            #expect(waiting == 0)
        } else {
            Issue.record("expected the connect still in flight")
        }
        let made = try #require(pending.succeed())
        // The pool's connect task inserts it; the next call is a hit once it has.
        await fixture.pool.waitForConnectTasks()
        #expect(try await fixture.pool.connection(to: 7) === made)
        #expect(fixture.factory.callCount == 1)
    }

    @Test("a caller waits for a slot until its deadline on the manual clock, then times out")
    func waitingDeadline() async throws {
        let fixture = try PoolFixture(limit: 1, waitTimeout: .seconds(5))
        let runner = await fixture.startRunning()
        async let holder = fixture.pool.connection(to: 1) // holds the only slot while connecting
        let pending = await fixture.factory.nextConnect()
        let waiter = Task { try await fixture.pool.connection(to: 2) }
        let deadline = await fixture.clock.nextSleep()
        #expect(deadline == poolInstant(5))
        fixture.clock.advance(by: .seconds(4))
        #expect(await fixture.pool.core.waiterCount == 1)
        fixture.clock.advance(to: deadline)
        await #expect(throws: ConnectionPoolError.timedOut) { try await waiter.value }
        #expect(fixture.metrics.rejections(.waitTimedOut) == 1)
        #expect(await fixture.pool.core.waiterCount == 0)
        pending.succeed()
        _ = try await holder
        runner.cancel()
        try await runner.value
        await fixture.expectInvariants()
    }

    @Test("a waiting caller gets the slot a completed connect frees, in FIFO order")
    func waitingCallerGetsSlot() async throws {
        let fixture = try PoolFixture(limit: 1)
        let runner = await fixture.startRunning()
        async let holder = fixture.pool.connection(to: 1)
        let first = await fixture.factory.nextConnect()
        let second = Task { try await fixture.pool.connection(to: 2) }
        await fixture.metrics.waitFor(.callerQueued, count: 1)
        let third = Task { try await fixture.pool.connection(to: 3) }
        await fixture.metrics.waitFor(.callerQueued, count: 2)
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
        let runner = await fixture.startRunning()
        async let holder = fixture.pool.connection(to: 1)
        let pending = await fixture.factory.nextConnect()
        let waiter = Task { try await fixture.pool.connection(to: 2) }
        await fixture.metrics.waitFor(.callerQueued, count: 1)
        waiter.cancel()
        await #expect(throws: ConnectionPoolError.cancelled) { try await waiter.value }
        #expect(await fixture.pool.core.waiterCount == 0)
        pending.succeed()
        _ = try await holder
        #expect(fixture.factory.callCount == 1)
        runner.cancel()
        try await runner.value
        await fixture.expectInvariants()
    }

    @Test("waiting needs run(): without it a caller fails at once with notRunning")
    func notRunning() async throws {
        let fixture = try PoolFixture(limit: 1)
        async let holder = fixture.pool.connection(to: 1)
        let pending = await fixture.factory.nextConnect()
        await #expect(throws: ConnectionPoolError.notRunning) { try await fixture.pool.connection(to: 2) }
        #expect(fixture.metrics.rejections(.notRunning) == 1)
        pending.succeed()
        _ = try await holder
    }

    @Test("the waiting queue is bounded; maximumWaiters 0 fails at once with limitReached")
    func waitersLimit() async throws {
        let fixture = try PoolFixture(limit: 1, maximumWaiters: 1)
        let runner = await fixture.startRunning()
        async let holder = fixture.pool.connection(to: 1)
        let pending = await fixture.factory.nextConnect()
        let queued = Task { try await fixture.pool.connection(to: 2) }
        await fixture.metrics.waitFor(.callerQueued, count: 1)
        await #expect(throws: ConnectionPoolError.waitersLimitReached) { try await fixture.pool.connection(to: 3) }
        #expect(fixture.metrics.rejections(.waitersLimitReached) == 1)
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

    @Test("run() may run once at a time, and not after shutdown")
    func runLifecycle() async throws {
        let fixture = try PoolFixture()
        let runner = await fixture.startRunning()
        await #expect(throws: ConnectionPoolError.alreadyRunning) { try await fixture.pool.run() }
        runner.cancel()
        try await runner.value
        let again = await fixture.startRunning()
        again.cancel()
        try await again.value
        await fixture.pool.shutdown()
        await #expect(throws: ConnectionPoolError.shutdown) { try await fixture.pool.run() }
    }

    @Test("withConnection leases the entry for the body: it is not evicted, and the lease ends on return")
    func withConnectionPins() async throws {
        let fixture = try PoolFixture(limit: 2) { _ in .succeed }
        let runner = await fixture.startRunning()
        let one = try await fixture.pool.connection(to: 1)
        let entered = PoolGate()
        let release = PoolGate()
        let lease = Task {
            try await fixture.pool.withConnection(to: 1) { connection -> Int in
                entered.open()
                await release.wait()
                return connection.serial
            }
        }
        await entered.wait()
        if case .connected(_, let leases) = await fixture.pool.info(for: 1) { #expect(leases == 1) }
        // 1 is the oldest entry but leased: the connects evict 2 and then 3 instead.
        for node in 2...4 { _ = try await fixture.pool.connection(to: node) }
        #expect(one.closeCount == 0)
        #expect(await fixture.nodes() == [1, 4])
        release.open()
        #expect(try await lease.value == one.serial)
        if case .connected(_, let leases) = await fixture.pool.info(for: 1) { #expect(leases == 0) }
        #expect(await fixture.nodes() == [1, 4])
        runner.cancel()
        try await runner.value
        await fixture.expectInvariants()
    }

    @Test("the lease ends when the body throws or its task is cancelled")
    func withConnectionReleasesOnEveryPath() async throws {
        let fixture = try PoolFixture(limit: 2) { _ in .succeed }
        await #expect(throws: PoolTestError.self) {
            try await fixture.pool.withConnection(to: 1) { _ in throw PoolTestError() }
        }
        if case .connected(_, let leases) = await fixture.pool.info(for: 1) { #expect(leases == 0) }

        let entered = PoolGate()
        let never = PoolGate()
        let task = Task {
            try await fixture.pool.withConnection(to: 1) { _ in
                entered.open()
                await never.wait()
                try Task.checkCancellation()
            }
        }
        await entered.wait()
        task.cancel()
        never.open()
        await #expect(throws: CancellationError.self) { try await task.value }
        if case .connected(_, let leases) = await fixture.pool.info(for: 1) { #expect(leases == 0) }
        await fixture.expectInvariants()
    }

    @Test("a lease on the only slot makes a miss wait until the lease ends")
    func leaseBlocksMissAtLimit() async throws {
        let fixture = try PoolFixture(limit: 1) { _ in .succeed }
        let runner = await fixture.startRunning()
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
        await fixture.metrics.waitFor(.callerQueued, count: 1)
        release.open()
        let one = try await lease.value
        let two = try await waiter.value
        #expect(two.node == 2)
        #expect(one.closeCount == 1)
        #expect(await fixture.nodes() == [2])
        runner.cancel()
        try await runner.value
    }

    @Test("a dead connection is closed and replaced on a hit, and prune removes the dead")
    func deadConnections() async throws {
        let fixture = try PoolFixture(limit: 3) { _ in .succeed }
        let one = try await fixture.pool.connection(to: 1)
        let two = try await fixture.pool.connection(to: 2)
        one.markDead()
        let replacement = try await fixture.pool.connection(to: 1)
        #expect(replacement !== one)
        #expect(one.closeCount == 1)
        #expect(fixture.metrics.removals(.dead) == 1)
        two.markDead()
        #expect(await fixture.pool.prune() == 1)
        #expect(two.closeCount == 1)
        #expect(await fixture.nodes() == [1])
        #expect(await fixture.pool.prune() == 0)
    }

    @Test("remove closes the entry, abandons a connect in flight, and ignores unknown nodes")
    func remove() async throws {
        let fixture = try PoolFixture(limit: 3)
        let one = try await fixture.connect(1)
        #expect(await fixture.pool.remove(1))
        #expect(one.closeCount == 1)
        #expect(await fixture.pool.remove(1) == false)
        #expect(await fixture.pool.remove(42) == false)
        #expect(fixture.metrics.removals(.removed) == 1)

        let caller = Task { try await fixture.pool.connection(to: 2) }
        let pending = await fixture.factory.nextConnect()
        #expect(await fixture.pool.remove(2))
        await #expect(throws: ConnectionPoolError.nodeRemoved) { try await caller.value }
        #expect(pending.isCancelled)
        // The connect completes anyway: its connection is closed, never inserted.
        let late = try #require(pending.succeed())
        await fixture.pool.waitForConnectTasks()
        #expect(late.closeCount == 1)
        #expect(await fixture.pool.info(for: 2) == nil)
        #expect(fixture.metrics.events(.connectDiscarded) == 1)
    }

    @Test("lowering the limit closes the least recently used connections at once, with the right reason")
    func limits() async throws {
        let fixture = try PoolFixture(limit: 4) { _ in .succeed }
        for node in 1...4 { _ = try await fixture.pool.connection(to: node) }
        try await fixture.pool.setLimit(3)
        #expect(await fixture.nodes() == [4, 3, 2])
        #expect(fixture.metrics.removals(.evicted) == 1)
        await fixture.pool.setPressureScale(0.5)
        #expect(await fixture.nodes() == [4])
        #expect(fixture.metrics.removals(.pressure) == 2)
        let usage = await fixture.pool.memoryUsage()
        #expect(usage.effectiveLimit == 1 && usage.baseLimit == 3 && usage.highWaterMark == 4)
        await fixture.pool.setPressureScale(1)
        #expect(await fixture.pool.memoryUsage().effectiveLimit == 3)
        await #expect(throws: ConfigurationError.self) { try await fixture.pool.setLimit(0) }
        let closed = fixture.factory.connections.filter { $0.closeCount == 1 }.map(\.node)
        #expect(closed.sorted() == [1, 2, 3])
    }

    @Test("shutdown closes everything, fails every waiter, closes late connects; later calls throw")
    func shutdown() async throws {
        let fixture = try PoolFixture(limit: 2)
        let runner = await fixture.startRunning()
        let one = try await fixture.connect(1)
        let entered = PoolGate()
        let release = PoolGate()
        let lease = Task {
            try await fixture.pool.withConnection(to: 1) { connection in
                entered.open()
                await release.wait()
                return connection.closeCount
            }
        }
        await entered.wait()
        let connecting = Task { try await fixture.pool.connection(to: 2) }
        let pending = await fixture.factory.nextConnect()
        let queued = Task { try await fixture.pool.connection(to: 3) }
        await fixture.metrics.waitFor(.callerQueued, count: 1)
        let shutdown = Task { await fixture.pool.shutdown() }
        await #expect(throws: ConnectionPoolError.shutdown) { try await connecting.value }
        await #expect(throws: ConnectionPoolError.shutdown) { try await queued.value }
        #expect(pending.isCancelled)
        let late = try #require(pending.succeed())
        await shutdown.value
        // Leased connections are closed too; the lease's end is then a no-op.
        #expect(one.closeCount == 1)
        release.open()
        #expect(try await lease.value == 1)
        #expect(late.closeCount == 1)
        #expect(fixture.metrics.removals(.shutdown) == 1)
        #expect(fixture.metrics.events(.connectDiscarded) == 1)
        await #expect(throws: ConnectionPoolError.shutdown) { try await fixture.pool.connection(to: 1) }
        await fixture.pool.shutdown()
        #expect(one.closeCount == 1)
        runner.cancel()
        try await runner.value
    }

    @Test("configuration is validated and names the field")
    func configuration() throws {
        func field(_ configuration: PoolUnderTest.Configuration) -> String? {
            do {
                _ = try PoolUnderTest(configuration: configuration, clock: ManualClock()) { _ in throw PoolTestError() }
                return nil
            } catch {
                return error.field
            }
        }
        #expect(field(.init(maximumConnections: 0)) == "maximumConnections")
        #expect(field(.init(maximumConnections: Int(Int32.max) + 1)) == "maximumConnections")
        #expect(field(.init(maximumWaiters: -1)) == "maximumWaiters")
        #expect(field(.init(waitTimeout: .zero)) == "waitTimeout")
        #expect(field(.init()) == nil)
        let defaults = PoolUnderTest.Configuration()
        #expect(defaults.maximumConnections == 1_000)
        #expect(defaults.componentName == "gateway_mesh")
        let pool = try ConnectionPool<Int, FakeConnection<Int>, ContinuousClock>(
            configuration: .init(componentName: "edge_mesh")
        ) { node in FakeConnection(node: node, serial: 0) }
        #expect(pool.componentName == "edge_mesh")
    }

    @Test("errors compare by kind and say what to do")
    func errors() {
        let all: [ConnectionPoolError] = [
            .shutdown, .notRunning, .alreadyRunning, .limitReached, .waitersLimitReached, .timedOut,
            .cancelled, .connectFailed, .nodeRemoved,
        ]
        #expect(Set(all).count == all.count)
        #expect(all.allSatisfy { !$0.description.isEmpty })
        #expect(ConnectionPoolError.connectFailed(PoolTestError()) == .connectFailed)
        #expect(ConnectionPoolError.connectFailed.underlyingError == nil)
        #expect(ConnectionPoolError.notRunning.description.contains("run()"))
    }
}
