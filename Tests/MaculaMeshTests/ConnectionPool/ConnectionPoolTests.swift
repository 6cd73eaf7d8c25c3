@testable import MaculaMesh
import MaculaTesting
import Synchronization
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
        await fixture.expectQuiescent()
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
        #expect(fixture.metrics.removed(.evicted) == 3)
        await fixture.expectQuiescent()
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
        #expect(fixture.metrics.count(.connectFailed) == 1)
        await fixture.expectQuiescent()
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
        await fixture.expectQuiescent()
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
            try await fixture.metrics.waitFor(.connectShared, count: callers - 1)
            let made = try #require(pending.succeed())
            var received = 0
            for try await connection in group {
                #expect(connection === made)
                received += 1
            }
            #expect(received == callers)
        }
        #expect(fixture.factory.callCount(for: 7) == 1)
        await fixture.expectQuiescent()
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
            try await fixture.metrics.waitFor(.connectShared, count: 2)
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
        let fixture = try PoolFixture(limit: 3, honorsCancellation: true)
        let first = Task { try await fixture.pool.connection(to: 7) }
        let pending = await fixture.factory.nextConnect()
        let second = Task { try await fixture.pool.connection(to: 7) }
        try await fixture.metrics.waitFor(.connectShared, count: 1)
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
        await fixture.expectQuiescent()
    }

    @Test("a leasing starter cancelled while its connect closes the entry it evicted leaves no lease behind")
    func starterCancelledWhileItsConnectCloses() async throws {
        // Node 1's close and node 2's connect both suspend until the test opens their gates.
        let connectEntered = PoolGate()
        let connectRelease = PoolGate()
        let closeEntered = PoolGate()
        let closeRelease = PoolGate()
        let pool = try ConnectionPool<Int, GatedCloseConnection>(
            configuration: .init(maximumConnections: 1), clock: ManualClock()
        ) { node in
            if node == 2 {
                connectEntered.open()
                await connectRelease.wait()
            }
            return GatedCloseConnection(node: node, entered: closeEntered, release: closeRelease)
        }
        let one = try await pool.connection(to: 1)
        let starter = Task { try await pool.withConnection(to: 2) { $0.node } }
        // The connect suspended, so the starter registered a waiter and suspended too.
        await connectEntered.wait()
        connectRelease.open()
        // The connect finished: its step evicted 1 and now awaits 1's close before it resumes
        // the starter with a leased connection. The starter is cancelled in that gap.
        await closeEntered.wait()
        starter.cancel()
        await #expect(throws: ConnectionPoolError.cancelled) { try await starter.value }
        closeRelease.open()
        await pool.waitForConnectTasks()
        #expect(one.closeCount == 1)
        guard case .connected(let two, let leases) = await pool.info(for: 2) else {
            Issue.record("expected node 2's connection in the pool")
            return
        }
        // The lease meant for the cancelled starter was ended: 2 is idle, and evictable.
        #expect(two.node == 2 && leases == 0)
        #expect(await pool.core.invariantViolations() == [])
        #expect(await pool.callerStateLeftOver() == [])
        await pool.shutdown()
        #expect(two.closeCount == 1)
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

    @Test("withConnection leases the entry for the body: it is not evicted, and the lease ends on return")
    func withConnectionPins() async throws {
        let fixture = try PoolFixture(limit: 2) { _ in .succeed }
        let runner = fixture.startRunning()
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
        await fixture.expectQuiescent()
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
        await fixture.expectQuiescent()
    }

    @Test("a miss whose step closes a dead entry starts its connect first, so shutdown cancels and awaits it")
    func connectStartsBeforeTheStepCloses() async throws {
        let closeEntered = PoolGate()
        let closeRelease = PoolGate()
        let connectEntered = PoolGate()
        let (never, neverContinuation) = AsyncStream<Void>.makeStream()
        let calls = Atomic(0)
        let pool = try ConnectionPool<Int, GatedDeadConnection>(
            configuration: .init(maximumConnections: 2), clock: ManualClock()
        ) { _ in
            if calls.add(1, ordering: .relaxed).newValue == 1 {
                return GatedDeadConnection(entered: closeEntered, release: closeRelease)
            }
            connectEntered.open()
            for await _ in never {}  // until the connect's task is cancelled
            throw CancellationError()
        }
        let dead = try await pool.connection(to: 1)
        dead.markDead()
        let caller = Task { try await pool.connection(to: 1) }
        // The caller's step removed the dead entry and awaits its close; its connect runs already.
        await closeEntered.wait()
        await connectEntered.wait()
        await pool.shutdown()
        #expect(await pool.connectTasks.isEmpty)
        closeRelease.open()
        await #expect(throws: ConnectionPoolError.shutdown) { try await caller.value }
        #expect(dead.closeCount == 1)
        #expect(await pool.callerStateLeftOver() == [])
        neverContinuation.finish()
    }
}

/// A connection whose close suspends until the test opens a gate.
final class GatedCloseConnection: PooledConnection {
    let node: Int
    private let entered: PoolGate
    private let release: PoolGate
    private let closes = Atomic(0)

    init(node: Int, entered: PoolGate, release: PoolGate) {
        self.node = node
        self.entered = entered
        self.release = release
    }

    var isAlive: Bool { closes.load(ordering: .acquiring) == 0 }
    var closeCount: Int { closes.load(ordering: .acquiring) }

    nonisolated(nonsending) func close() async {
        closes.add(1, ordering: .acquiringAndReleasing)
        guard node == 1 else { return }
        entered.open()
        await release.wait()
    }
}

/// A connection that can be marked dead, and whose close suspends until the test opens a gate.
final class GatedDeadConnection: PooledConnection {
    private let entered: PoolGate
    private let release: PoolGate
    private let alive = Atomic(true)
    private let closes = Atomic(0)

    init(entered: PoolGate, release: PoolGate) {
        self.entered = entered
        self.release = release
    }

    var isAlive: Bool { alive.load(ordering: .acquiring) && closeCount == 0 }
    var closeCount: Int { closes.load(ordering: .acquiring) }
    func markDead() { alive.store(false, ordering: .releasing) }

    nonisolated(nonsending) func close() async {
        closes.add(1, ordering: .acquiringAndReleasing)
        entered.open()
        await release.wait()
    }
}
