@testable import MaculaMesh
import MaculaTesting
import Testing

/// The actor's removals, limits, shutdown, configuration and errors.
@Suite("ConnectionPool: maintenance", .timeLimit(.minutes(1)))
struct ConnectionPoolMaintenanceTests {
    @Test("a dead connection is closed and replaced on a hit, and prune removes the dead")
    func deadConnections() async throws {
        let fixture = try PoolFixture(limit: 3) { _ in .succeed }
        let one = try await fixture.pool.connection(to: 1)
        let two = try await fixture.pool.connection(to: 2)
        one.markDead()
        let replacement = try await fixture.pool.connection(to: 1)
        #expect(replacement !== one)
        #expect(one.closeCount == 1)
        #expect(fixture.metrics.removed(.dead) == 1)
        two.markDead()
        #expect(await fixture.pool.prune() == 1)
        #expect(two.closeCount == 1)
        #expect(await fixture.nodes() == [1])
        #expect(await fixture.pool.prune() == 0)
        let three = try await fixture.pool.connection(to: 3)
        #expect(await fixture.pool.prune(3) == false)
        three.markDead()
        #expect(await fixture.pool.prune(3))
        #expect(three.closeCount == 1)
        #expect(fixture.metrics.removed(.dead) == 3)
        #expect(await fixture.nodes() == [1])
    }

    @Test("remove closes the entry, abandons a connect in flight, and ignores unknown nodes")
    func remove() async throws {
        let fixture = try PoolFixture(limit: 3)
        let one = try await fixture.connect(1)
        #expect(await fixture.pool.remove(1))
        #expect(one.closeCount == 1)
        #expect(await fixture.pool.remove(1) == false)
        #expect(await fixture.pool.remove(42) == false)
        #expect(fixture.metrics.removed(.removed) == 1)

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
        #expect(fixture.metrics.count(.connectDiscarded) == 1)
    }

    @Test("lowering the limit closes the least recently used connections at once, with the right reason")
    func limits() async throws {
        let fixture = try PoolFixture(limit: 4) { _ in .succeed }
        for node in 1...4 { _ = try await fixture.pool.connection(to: node) }
        try await fixture.pool.setLimit(3)
        #expect(await fixture.nodes() == [4, 3, 2])
        #expect(fixture.metrics.removed(.evicted) == 1)
        await fixture.pool.setPressureScale(0.5)
        #expect(await fixture.nodes() == [4])
        #expect(fixture.metrics.removed(.pressure) == 2)
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
        let runner = fixture.startRunning()
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
        try await fixture.metrics.waitFor(.callerQueued, count: 1)
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
        #expect(fixture.metrics.removed(.shutdown) == 1)
        #expect(fixture.metrics.count(.connectDiscarded) == 1)
        await #expect(throws: ConnectionPoolError.shutdown) { try await fixture.pool.connection(to: 1) }
        await fixture.pool.shutdown()
        #expect(one.closeCount == 1)
        runner.cancel()
        try await runner.value
    }

    @Test("configuration is validated and names the field")
    func configuration() throws {
        func field(_ configuration: ConnectionPoolConfiguration) -> String? {
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
        let defaults = ConnectionPoolConfiguration()
        #expect(defaults.maximumConnections == 1_000)
        #expect(defaults.componentName == "gateway_mesh")
        let pool = try ConnectionPool<Int, FakeConnection<Int>>(
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
