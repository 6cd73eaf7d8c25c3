import MaculaMesh
import MaculaTesting
import Testing

/// Start order never matters: a client that must wait for a slot before `run()` has started is
/// accepted, and its deadline, counted from its arrival, is enforced once `run()` runs. Public API
/// only.
@Suite("ClientManager: start order", .timeLimit(.minutes(3)))
struct ClientManagerStartOrderTests {
    struct Fixture {
        let clock = ManualClock()
        let metrics = RecordingMemoryMetrics()
        let log = RecordingComponentLog()
        let clients: ClientManager<String, String, Int>

        init() throws {
            clients = try ClientManager(
                configuration: .init(maximumClients: 1, waitTimeout: .seconds(5)),
                clock: clock, metrics: metrics, log: log
            )
        }

        /// Registers `client`, waiting for a slot if it must, in a task of its own.
        func connect(_ client: String) -> Task<Void, any Error> {
            Task { try await clients.clientConnected(client, info: client, admission: .wait) }
        }
    }

    @Test("waiters before run() are accepted, get a freed slot, and time out at arrival + waitTimeout")
    func waitingBeforeRun() async throws {
        let fixture = try Fixture()
        try await fixture.clients.clientConnected("a", info: "a")       // the only slot
        let early = fixture.connect("b")                                 // arrives at 0 s: deadline 5 s
        try await fixture.metrics.waitFor(.waitingForRun, count: 1)
        fixture.clock.advance(by: .seconds(2))
        let later = fixture.connect("c")                                 // arrives at 2 s: deadline 7 s
        try await fixture.metrics.waitFor(.waitingForRun, count: 2)
        #expect(await fixture.clients.waiterCount == 2)
        fixture.clock.advance(by: .seconds(1))                           // 3 s: nothing fires without run()

        let runner = Task { try await fixture.clients.run() }
        #expect(await fixture.clock.nextSleep().offset == .seconds(5))  // from arrival, not from run()
        fixture.clock.advance(to: ManualClock.Instant(offset: .seconds(5)))
        await #expect(throws: ClientManagerError.timedOut) { try await early.value }

        await fixture.clients.clientDisconnected("a")                    // the slot goes to `c` at once
        try await later.value
        #expect(await fixture.clients.isConnected("c"))
        #expect(fixture.log.events(of: .runNotStarted).isEmpty, "a normal start never warns")
        runner.cancel()
        try await runner.value
    }

    @Test("waiters already past their deadline when run() starts fail at once; the forgotten run() is logged once")
    func overdueBeforeRun() async throws {
        let fixture = try Fixture()
        try await fixture.clients.clientConnected("a", info: "a")
        let first = fixture.connect("b")                                 // deadline 5 s
        try await fixture.metrics.waitFor(.waitingForRun, count: 1)
        fixture.clock.advance(by: .seconds(8))
        // A new waiter finds the first one overdue: one warning.
        let second = fixture.connect("c")                                // deadline 13 s
        try await fixture.metrics.waitFor(.waitingForRun, count: 2)
        let warning = try #require(fixture.log.events(of: .runNotStarted).first)
        #expect(warning.component == "client_manager" && warning.metadata["overdue_by"] == "\(Duration.seconds(3))")
        fixture.clock.advance(by: .seconds(10))                          // 18 s: both overdue

        let runner = Task { try await fixture.clients.run() }
        await #expect(throws: ClientManagerError.timedOut) { try await first.value }
        await #expect(throws: ClientManagerError.timedOut) { try await second.value }
        #expect(fixture.log.events(of: .runNotStarted).count == 1, "warned once per component")
        runner.cancel()
        try await runner.value
    }

    @Test("1,000 times: start run() in a task and at once submit a client that must wait; none fails for the order")
    func startRacesSubmission() async throws {
        for _ in 0..<1_000 {
            let clock = ManualClock()
            let clients = try ClientManager<String, String, Int>(
                configuration: .init(maximumClients: 1, waitTimeout: .seconds(3_600)), clock: clock
            )
            try await clients.clientConnected("a", info: "a")
            let freer = Task {
                _ = await clock.nextSleep()        // run() runs and sleeps towards the waiter's deadline
                await clients.clientDisconnected("a")
            }
            let runner = Task { try await clients.run() }
            try await clients.clientConnected("b", info: "b", admission: .wait)  // at once, from this task
            await freer.value
            #expect(await clients.isConnected("b"))
            runner.cancel()
            try await runner.value
        }
    }
}
