import MaculaMesh
import MaculaTesting
import Testing

/// Start order never matters: callers that must wait before `run()` has started are accepted,
/// and their deadlines, counted from their arrival, are enforced once `run()` runs. Public API only.
@Suite("ConnectionPool: start order", .timeLimit(.minutes(3)))
struct ConnectionPoolStartOrderTests {
    /// A pool with one slot on a manual clock, its factory answered by the test.
    struct Fixture {
        let clock = ManualClock()
        let factory = ScriptedConnectionFactory<Int>()
        let metrics = RecordingMemoryMetrics()
        let log = RecordingComponentLog()
        let pool: ConnectionPool<Int, FakeConnection<Int>>

        init() throws {
            pool = try ConnectionPool(
                configuration: .init(maximumConnections: 1, maximumWaiters: 4, waitTimeout: .seconds(5)),
                clock: clock, metrics: metrics, log: log, factory: factory.connect
            )
        }
    }

    @Test("callers that wait before run() are accepted, served once a slot frees, and time out at arrival + waitTimeout")
    func waitingBeforeRun() async throws {
        let fixture = try Fixture()
        let holder = Task { try await fixture.pool.connection(to: 1) }   // takes the only slot
        let connect = await fixture.factory.nextConnect()

        let early = Task { try await fixture.pool.connection(to: 2) }    // arrives at 0 s: deadline 5 s
        try await fixture.metrics.waitFor(.waitingForRun, count: 1)
        fixture.clock.advance(by: .seconds(2))
        let later = Task { try await fixture.pool.connection(to: 3) }    // arrives at 2 s: deadline 7 s
        try await fixture.metrics.waitFor(.waitingForRun, count: 2)
        #expect(await fixture.pool.waiterCount == 2)
        fixture.clock.advance(by: .seconds(1))                           // 3 s: nothing fires without run()
        #expect(await fixture.pool.waiterCount == 2)

        let runner = Task { try await fixture.pool.run() }
        #expect(await fixture.clock.nextSleep().offset == .seconds(5))  // from arrival, not from run()
        fixture.clock.advance(to: ManualClock.Instant(offset: .seconds(5)))
        await #expect(throws: ConnectionPoolError.timedOut) { try await early.value }

        connect.succeed()                                                // the slot frees: `later` is served
        _ = try await holder.value
        await fixture.factory.nextConnect().succeed()
        #expect(try await later.value.node == 3)
        #expect(await fixture.pool.waiterCount == 0)
        #expect(fixture.log.events(of: .runNotStarted).isEmpty, "a normal start never warns")
        runner.cancel()
        try await runner.value
    }

    @Test("callers already past their deadline when run() starts fail at once, and the forgotten run() is logged once")
    func overdueBeforeRun() async throws {
        let fixture = try Fixture()
        let holder = Task { try await fixture.pool.connection(to: 1) }
        let connect = await fixture.factory.nextConnect()
        let first = Task { try await fixture.pool.connection(to: 2) }    // deadline 5 s
        try await fixture.metrics.waitFor(.waitingForRun, count: 1)
        fixture.clock.advance(by: .seconds(1))
        let second = Task { try await fixture.pool.connection(to: 3) }   // deadline 6 s
        try await fixture.metrics.waitFor(.waitingForRun, count: 2)
        fixture.clock.advance(by: .seconds(9))                           // 10 s: both overdue, run() forgotten

        // An API call finds the overdue callers: one warning, naming how late the oldest is.
        _ = await fixture.pool.memoryUsage()
        let warning = try #require(fixture.log.events(of: .runNotStarted).first)
        #expect(warning.level == .warning && warning.component == "gateway_mesh")
        #expect(warning.metadata["overdue_by"] == "\(Duration.seconds(5))")

        let runner = Task { try await fixture.pool.run() }
        await #expect(throws: ConnectionPoolError.timedOut) { try await first.value }
        await #expect(throws: ConnectionPoolError.timedOut) { try await second.value }
        #expect(fixture.metrics.rejected(.waitTimedOut) == 2)
        #expect(fixture.log.events(of: .runNotStarted).count == 1, "warned once per component")
        connect.succeed()
        _ = try await holder.value
        runner.cancel()
        try await runner.value
    }

    @Test("1,000 times: start run() in a task and at once submit a caller that must wait; none fails for the order")
    func startRacesSubmission() async throws {
        for _ in 0..<1_000 {
            let factory = ScriptedConnectionFactory<Int> { node in node == 1 ? .wait : .succeed }
            let pool = try ConnectionPool(
                configuration: .init(maximumConnections: 1, waitTimeout: .seconds(3_600)),
                clock: ManualClock(), factory: factory.connect
            )
            let holder = Task { try await pool.connection(to: 1) }         // its connect holds the slot
            let connect = await factory.nextConnect()
            let runner = Task { try await pool.run() }
            let waiter = Task { try await pool.connection(to: 2) }        // must wait for the slot
            connect.succeed()
            _ = try await holder.value
            #expect(try await waiter.value.node == 2)
            runner.cancel()
            try await runner.value
        }
    }
}
