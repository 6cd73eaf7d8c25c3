import MaculaMesh
import MaculaTesting
import Testing

/// Start order never matters: a remote call made before `run()` has started goes as far as it can
/// (a cached provider is sent to at once; a discovery starts when `run()` does), and its deadlines,
/// counted from the call, are enforced once `run()` runs. Public API only.
@Suite("RPCHandler: start order", .timeLimit(.minutes(3)))
struct RPCHandlerStartOrderTests {
    struct Fixture {
        let clock = ManualClock()
        let registry: ServiceRegistry
        let transport = InMemoryRPCTransport(defaultBehavior: .hold)
        let discovery = InMemoryRPCDiscovery(defaultAnswer: .hold)
        let metrics = RecordingMemoryMetrics()
        let log = RecordingComponentLog()
        let rpc: RPCHandler

        init() async throws {
            registry = try ServiceRegistry(clock: clock)
            rpc = try RPCHandler(
                configuration: .init(callTimeout: .seconds(5), maximumAttempts: 1),
                metrics: metrics, log: log, registry: registry, transport: transport, discovery: discovery
            )
            transport.deliverReplies(to: rpc)
            try await registry.cacheProviders([ServiceProvider(nodeID: "b", address: "mem://b")], for: "cached", ttl: .seconds(3_600))
        }

        func call(_ procedure: String) -> Task<[UInt8], any Error> {
            Task { try await rpc.call(procedure, arguments: [1]) }
        }
    }

    @Test("a call before run() is sent at once; its reply is delivered; its attempt times out at call + timeout")
    func cachedProviderBeforeRun() async throws {
        let fixture = try await Fixture()
        let early = fixture.call("cached")                               // at 0 s: attempt deadline 5 s
        _ = await fixture.transport.nextRequest()                        // sent without run()
        #expect(fixture.metrics.count(.waitingForRun) == 1)
        fixture.clock.advance(by: .seconds(2))
        let later = fixture.call("cached")                               // at 2 s: attempt deadline 7 s
        let request = await fixture.transport.nextRequest()
        fixture.clock.advance(by: .seconds(1))                           // 3 s: nothing fires without run()
        #expect(await fixture.rpc.pendingCallCount == 2)

        let runner = Task { try await fixture.rpc.run() }
        #expect(await fixture.clock.nextSleep().offset == .seconds(5))  // from the call, not from run()
        fixture.clock.advance(to: ManualClock.Instant(offset: .seconds(5)))
        await #expect(throws: RPCError.attemptsExhausted) { try await early.value }

        try await fixture.rpc.waitUntilSuspended(request.callID)
        await fixture.rpc.handleReply(.success(request.callID, [7]))
        #expect(try await later.value == [7])
        #expect(await fixture.rpc.pendingCallCount == 0)
        #expect(fixture.log.events(of: .runNotStarted).isEmpty, "a normal start never warns")
        runner.cancel()
        try await runner.value
    }

    @Test("a call that needs a discovery before run() waits for it; the discovery starts when run() does")
    func discoveryBeforeRun() async throws {
        let fixture = try await Fixture()
        let call = fixture.call("uncached")
        try await fixture.metrics.waitFor(.waitingForRun)
        #expect(await fixture.rpc.pendingDiscoveryCount == 1)
        #expect(fixture.discovery.discoveryCount() == 0)                 // nothing runs it before run()

        let runner = Task { try await fixture.rpc.run() }
        let query = await fixture.discovery.nextQuery()
        #expect(query.service == "uncached")
        query.succeed([ServiceProvider(nodeID: "c", address: "mem://c")])
        let request = await fixture.transport.nextRequest()
        #expect(request.provider.nodeID == "c")
        try await fixture.rpc.waitUntilSuspended(request.callID)
        await fixture.rpc.handleReply(.success(request.callID, [9]))
        #expect(try await call.value == [9])
        runner.cancel()
        try await runner.value
    }

    @Test("calls already past their deadline when run() starts fail at once; the forgotten run() is logged once")
    func overdueBeforeRun() async throws {
        let fixture = try await Fixture()
        let first = fixture.call("cached")                               // attempt deadline 5 s
        _ = await fixture.transport.nextRequest()
        fixture.clock.advance(by: .seconds(1))
        let second = fixture.call("cached")                              // attempt deadline 6 s
        _ = await fixture.transport.nextRequest()
        fixture.clock.advance(by: .seconds(9))                           // 10 s: both overdue

        _ = await fixture.rpc.memoryUsage()                              // an API call finds them
        let warning = try #require(fixture.log.events(of: .runNotStarted).first)
        #expect(warning.component == "rpc_handler" && warning.metadata["overdue_by"] == "\(Duration.seconds(5))")

        let runner = Task { try await fixture.rpc.run() }
        await #expect(throws: RPCError.attemptsExhausted) { try await first.value }
        await #expect(throws: RPCError.attemptsExhausted) { try await second.value }
        #expect(fixture.metrics.count(.attemptTimedOut) == 2)
        #expect(fixture.log.events(of: .runNotStarted).count == 1, "warned once per component")
        runner.cancel()
        try await runner.value
    }

    @Test("1,000 times: start run() in a task and at once make a remote call; none fails for the order")
    func startRacesSubmission() async throws {
        for _ in 0..<1_000 {
            let registry = try ServiceRegistry(clock: ManualClock())
            try await registry.cacheProviders([ServiceProvider(nodeID: "b", address: "mem://b")], for: "echo")
            let transport = InMemoryRPCTransport(defaultBehavior: .respond { request in .success(request.arguments) }, keepsHistory: false)
            let rpc = try RPCHandler(registry: registry, transport: transport, discovery: InMemoryRPCDiscovery())
            transport.deliverReplies(to: rpc)
            let runner = Task { try await rpc.run() }
            #expect(try await rpc.call("echo", arguments: [3]) == [3])
            runner.cancel()
            try await runner.value
        }
    }
}
