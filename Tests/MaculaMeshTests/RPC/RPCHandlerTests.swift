@testable import MaculaMesh
import MaculaTesting
import Testing

@Suite("RPCHandler on the manual clock", .timeLimit(.minutes(3)))
struct RPCHandlerTests {
    @Test("a reply reaches its caller, matched by call ID")
    func reply() async throws {
        let fixture = try await RPCFixture()
        try await fixture.cache(RPCTest.nodes("a"), for: "calc.add")
        let call = fixture.call("calc.add", [1, 2])
        let request = await fixture.transport.nextRequest()
        #expect(request.procedure == "calc.add")
        #expect(request.arguments == [1, 2])
        #expect(request.provider == RPCTest.node("a"))
        #expect(request.attempt == 1)
        #expect(await fixture.handler.handleReply(.success(request.callID, [3])))
        #expect(try await call.value == [3])
        #expect(await fixture.pending() == (0, 0, 0))
        #expect(fixture.metrics.count(.callStarted) == 1)
        #expect(fixture.metrics.removed(.replied) == 1)
        await fixture.stop()
    }

    @Test("a provider that answers at once, through the in-memory transport")
    func respondingProvider() async throws {
        let transport = InMemoryRPCTransport(defaultBehavior: .respond { request in .success(request.arguments.reversed()) })
        let fixture = try await RPCFixture(transport: transport)
        try await fixture.cache(RPCTest.nodes("a"), for: "echo")
        #expect(try await fixture.handler.call("echo", arguments: [1, 2, 3]) == [3, 2, 1])
        transport.setBehavior(.respond { _ in .failure("no such key") }, for: "a")
        await #expect(throws: RPCError.procedureFailed) { try await fixture.handler.call("echo") }
        #expect(await fixture.pending() == (0, 0, 0))
        await fixture.stop()
    }

    @Test("a timeout fails over across three providers; the excluded provider's late reply is counted")
    func timeoutFailover() async throws {
        let fixture = try await RPCFixture()
        try await fixture.cache(RPCTest.nodes("a", "b", "c"), for: "s")
        let call = fixture.call("s")
        let first = await fixture.transport.nextRequest()
        #expect(first.provider.nodeID == "a")
        let firstDeadline = await fixture.clock.nextSleep()
        #expect(firstDeadline.offset == .seconds(5))
        fixture.clock.advance(to: firstDeadline)
        let second = await fixture.transport.nextRequest()
        #expect(second.provider.nodeID == "b")
        #expect(second.attempt == 2)
        #expect(second.callID == first.callID)
        #expect(await fixture.clock.nextSleep().offset == .seconds(10))
        fixture.clock.advance(by: .seconds(5))
        let third = await fixture.transport.nextRequest()
        #expect(third.provider.nodeID == "c")
        #expect(third.attempt == 3)
        #expect(await fixture.handler.handleReply(.success(third.callID, [7])))
        #expect(try await call.value == [7])
        #expect(fixture.metrics.count(.attemptTimedOut) == 2)
        #expect(fixture.metrics.count(.failover) == 2)
        #expect(!(await fixture.handler.handleReply(.success(first.callID, [1]))))
        #expect(fixture.metrics.count(.lateReply) == 1)
        #expect(await fixture.pending() == (0, 0, 0))
        await fixture.stop()
    }

    @Test("every provider timing out: attemptsExhausted says three were tried, nothing stays")
    func everyProviderTimesOut() async throws {
        let transport = InMemoryRPCTransport(defaultBehavior: .drop)
        let fixture = try await RPCFixture(transport: transport)
        try await fixture.cache(RPCTest.nodes("a", "b", "c"), for: "s")
        let call = fixture.call("s")
        for expected in [5, 10, 15] {
            let deadline = await fixture.clock.nextSleep()
            #expect(deadline.offset == .seconds(expected))
            fixture.clock.advance(to: deadline)
        }
        let error = await call.error
        #expect(error == .attemptsExhausted)
        #expect(error?.providersTried == 3)
        #expect(error?.procedure == "s")
        #expect(transport.sentRequests.map(\.provider.nodeID) == ["a", "b", "c"])
        #expect(await fixture.pending() == (0, 0, 0))
        #expect(fixture.metrics.removed(.timedOut) == 1)
        await fixture.stop()
    }

    @Test("every send failing: fails over at once, then attemptsExhausted")
    func everySendFails() async throws {
        let transport = InMemoryRPCTransport(defaultBehavior: .failSend("connection refused"))
        let fixture = try await RPCFixture(transport: transport)
        try await fixture.cache(RPCTest.nodes("a", "b", "c", "d"), for: "s")
        let error = await fixture.call("s").error
        #expect(error == .attemptsExhausted)
        #expect(error?.providersTried == 3)  // the default maximum, of four providers
        #expect(fixture.clock.now.offset == .zero)  // no timeout was needed
        #expect(fixture.metrics.count(.failover) == 2)
        #expect(fixture.metrics.removed(.callFailed) == 1)
        #expect(await fixture.pending() == (0, 0, 0))
        await fixture.stop()
    }

    @Test("the overall deadline ends the call across attempts")
    func overallDeadline() async throws {
        let transport = InMemoryRPCTransport(defaultBehavior: .drop)
        let fixture = try await RPCFixture(transport: transport)
        try await fixture.cache(RPCTest.nodes("a", "b", "c"), for: "s")
        let call = fixture.call("s", options: RPCCallOptions(timeout: .seconds(4), overallTimeout: .seconds(6)))
        let first = await fixture.clock.nextSleep()
        #expect(first.offset == .seconds(4))
        fixture.clock.advance(to: first)
        let second = await fixture.clock.nextSleep()
        #expect(second.offset == .seconds(6))
        fixture.clock.advance(to: second)
        let error = await call.error
        #expect(error == .deadlineExceeded)
        #expect(error?.providersTried == 2)
        await fixture.stop()
    }

    @Test("a miss discovers once, caches the providers, and the next call uses the cache")
    func discoveryEndToEnd() async throws {
        let discovery = InMemoryRPCDiscovery()
        discovery.setAnswer(.providers(RPCTest.nodes("a", "b")), for: "s")
        let transport = InMemoryRPCTransport(defaultBehavior: .respond { _ in .success([1]) })
        let fixture = try await RPCFixture(transport: transport, discovery: discovery)
        #expect(try await fixture.handler.call("s") == [1])
        #expect(try await fixture.handler.call("s") == [1])
        #expect(discovery.discoveryCount(for: "s") == 1)
        #expect(await fixture.registry.cachedProviders(for: "s") == RPCTest.nodes("a", "b"))
        #expect(fixture.metrics.count(.discoveryStarted) == 1)
        #expect(await fixture.pending() == (0, 0, 0))
        await fixture.stop()
    }

    @Test("concurrent callers share one discovery and each gets its answer")
    func sharedDiscovery() async throws {
        let discovery = InMemoryRPCDiscovery()
        discovery.setAnswer(.hold, for: "s")
        let transport = InMemoryRPCTransport(defaultBehavior: .respond { _ in .success([2]) })
        let fixture = try await RPCFixture(transport: transport, discovery: discovery)
        let first = fixture.call("s")
        let query = await discovery.nextQuery()
        #expect(await fixture.clock.nextSleep().offset == .seconds(5))
        // Shorter discovery deadlines make the loop sleep again: proof each caller has joined.
        let second = fixture.call("s", options: RPCCallOptions(discoveryTimeout: .seconds(4)))
        #expect(await fixture.clock.nextSleep().offset == .seconds(4))
        let third = fixture.call("s", options: RPCCallOptions(discoveryTimeout: .seconds(3)))
        #expect(await fixture.clock.nextSleep().offset == .seconds(3))
        #expect(await fixture.handler.memoryUsage().size == 4)  // three calls, one discovery
        #expect(query.succeed(RPCTest.nodes("a")))
        for call in [first, second, third] { #expect(try await call.value == [2]) }
        #expect(discovery.discoveryCount() == 1)
        #expect(await fixture.pending() == (0, 0, 0))
        await fixture.stop()
    }

    @Test("one waiter's discovery deadline never answers another waiter early")
    func discoveryDeadlinesAreOwn() async throws {
        let discovery = InMemoryRPCDiscovery()
        discovery.setAnswer(.hold, for: "s")
        let transport = InMemoryRPCTransport(defaultBehavior: .respond { _ in .success([3]) })
        let fixture = try await RPCFixture(transport: transport, discovery: discovery)
        let patient = fixture.call("s", options: RPCCallOptions(discoveryTimeout: .seconds(10)))
        let query = await discovery.nextQuery()
        #expect(await fixture.clock.nextSleep().offset == .seconds(10))
        let hasty = fixture.call("s", options: RPCCallOptions(discoveryTimeout: .seconds(2)))
        let deadline = await fixture.clock.nextSleep()
        #expect(deadline.offset == .seconds(2))
        fixture.clock.advance(to: deadline)
        #expect(await hasty.error == .discoveryTimedOut)
        #expect(await fixture.pending() == (1, 1, 1))
        #expect(discovery.cancelledCount == 0)
        #expect(query.succeed(RPCTest.nodes("a")))
        #expect(try await patient.value == [3])
        await fixture.stop()
    }

    @Test("the last waiter's discovery timeout cancels the discovery")
    func discoveryTimeout() async throws {
        let discovery = InMemoryRPCDiscovery()
        discovery.setAnswer(.hold, for: "s")
        let fixture = try await RPCFixture(discovery: discovery)
        let call = fixture.call("s", options: RPCCallOptions(discoveryTimeout: .seconds(2)))
        let query = await discovery.nextQuery()
        fixture.clock.advance(to: await fixture.clock.nextSleep())
        #expect(await call.error == .discoveryTimedOut)
        await discovery.waitForCancellations(1)
        #expect(!query.succeed(RPCTest.nodes("a")))
        #expect(await fixture.pending() == (0, 0, 0))
        await fixture.stop()
    }

    @Test("a discovery that fails, or finds nobody, fails its callers and caches nothing")
    func discoveryFailures() async throws {
        let discovery = InMemoryRPCDiscovery()
        discovery.setAnswer(.failure("dht unreachable"), for: "broken")
        let fixture = try await RPCFixture(discovery: discovery)
        let failed = await fixture.call("broken").error
        #expect(failed == .discoveryFailed)
        #expect(failed?.detail?.contains("dht unreachable") == true)
        #expect(await fixture.call("nobody").error == .noProviders)
        #expect(await fixture.registry.cachedProviders(for: "nobody") == nil)
        // Nothing cached: the next call discovers again.
        #expect(await fixture.call("nobody").error == .noProviders)
        #expect(discovery.discoveryCount(for: "nobody") == 2)
        #expect(fixture.metrics.removed(.callFailed) == 3)
        await fixture.stop()
    }

    @Test("a late reply, after the call timed out, is discarded and counted")
    func lateReply() async throws {
        let fixture = try await RPCFixture()
        try await fixture.cache(RPCTest.nodes("a"), for: "s")
        let call = fixture.call("s")
        let request = await fixture.transport.nextRequest()
        fixture.clock.advance(to: await fixture.clock.nextSleep())
        #expect(await call.error?.providersTried == 1)
        #expect(!(await fixture.handler.handleReply(.success(request.callID, [1]))))
        #expect(!(await fixture.handler.handleReply(.success(RPCCallID(rawValue: 12_345), [1]))))
        #expect(fixture.metrics.count(.lateReply) == 2)
        #expect(await fixture.pending() == (0, 0, 0))
        await fixture.stop()
    }

    @Test("the pending limit refuses a call at once with a typed error")
    func pendingLimit() async throws {
        let fixture = try await RPCFixture(configuration: RPCTest.configuration(maximumPendingCalls: 2))
        try await fixture.cache(RPCTest.nodes("a"), for: "s")
        let first = fixture.call("s")
        let second = fixture.call("s")
        let requests = [await fixture.transport.nextRequest(), await fixture.transport.nextRequest()]
        #expect(await fixture.call("s").error == .tooManyPendingCalls)
        #expect(fixture.metrics.rejected(.limitReached) == 1)
        #expect(await fixture.handler.memoryUsage().size == 2)
        for request in requests { await fixture.handler.handleReply(.success(request.callID, [])) }
        _ = await (first.result, second.result)
        // Room again.
        let third = fixture.call("s")
        await fixture.handler.handleReply(.success(await fixture.transport.nextRequest().callID, [5]))
        #expect(try await third.value == [5])
        await fixture.stop()
    }

    @Test("once a run() has returned, a remote call fails at once with notRunning; a local one works")
    func notRunning() async throws {
        let fixture = try await RPCFixture()
        try await fixture.cache(RPCTest.nodes("a"), for: "s")
        await fixture.stop()
        #expect(await fixture.call("s").error == .notRunning)
        #expect(fixture.transport.sendCount == 0)
        #expect(fixture.metrics.rejected(.notRunning) == 1)
        try await fixture.handler.register("local") { arguments in arguments + [0] }
        #expect(try await fixture.handler.call("local", arguments: [9]) == [9, 0])
    }

    @Test("local handlers run directly; an error becomes procedureFailed; unregistered goes remote")
    func localHandlers() async throws {
        struct Oops: Error {}
        let fixture = try await RPCFixture()
        try await fixture.handler.register("twice") { $0 + $0 }
        try await fixture.handler.register("fails") { _ in throw Oops() }
        #expect(try await fixture.handler.call("twice", arguments: [1]) == [1, 1])
        await #expect(throws: RPCError.procedureFailed) { try await fixture.handler.call("fails") }
        #expect(await fixture.handler.unregister("twice"))
        #expect(!(await fixture.handler.unregister("twice")))
        #expect(await fixture.call("twice").error == .noProviders)
        #expect(fixture.transport.sendCount == 0)
        await fixture.stop()
    }

    @Test("shutdown fails every pending call and refuses new ones")
    func shutdown() async throws {
        let discovery = InMemoryRPCDiscovery()
        discovery.setAnswer(.hold, for: "slow")
        let fixture = try await RPCFixture(discovery: discovery)
        try await fixture.cache(RPCTest.nodes("a"), for: "s")
        let awaiting = fixture.call("s")
        let request = await fixture.transport.nextRequest()
        try await fixture.handler.waitUntilSuspended(request.callID)
        let discovering = fixture.call("slow")
        _ = await discovery.nextQuery()
        await fixture.handler.shutdown()
        #expect(await awaiting.error == .shutdown)
        #expect(await discovering.error == .shutdown)
        await discovery.waitForCancellations(1)
        #expect(await fixture.call("s").error == .shutdown)
        #expect(await fixture.pending() == (0, 0, 0))
        #expect(fixture.metrics.removed(.shutdown) == 2)
        await #expect(throws: RPCError.shutdown) { try await fixture.handler.register("x") { $0 } }
        await fixture.stop()
        await #expect(throws: RPCError.shutdown) { try await fixture.handler.run() }
    }

    @Test("run() twice is refused; when run() ends, pending calls fail with notRunning")
    func runEnds() async throws {
        let fixture = try await RPCFixture()
        try await fixture.cache(RPCTest.nodes("a"), for: "s")
        let call = fixture.call("s")
        _ = await fixture.clock.nextSleep()  // run() is up and asleep
        await #expect(throws: RPCError.alreadyRunning) { try await fixture.handler.run() }
        await fixture.stop()
        #expect(await call.error == .notRunning)
        #expect(await fixture.pending() == (0, 0, 0))
        #expect(fixture.metrics.removed(.stopped) == 1)
        #expect(fixture.clock.sleeperCount == 0)
    }

    @Test("the memory contract: name, size, limits, prune")
    func memoryContract() async throws {
        let fixture = try await RPCFixture(configuration: RPCTest.configuration(maximumPendingCalls: 4))
        #expect(fixture.handler.componentName == "rpc_handler")
        try await fixture.cache(RPCTest.nodes("a"), for: "s")
        let calls = [fixture.call("s"), fixture.call("s")]
        for _ in calls { _ = await fixture.transport.nextRequest() }
        var usage = await fixture.handler.memoryUsage()
        #expect(usage.size == 2)
        #expect(usage.effectiveLimit == 4)
        try await fixture.handler.setLimit(1)
        #expect(await fixture.handler.memoryUsage().size == 2)  // live callers' calls are kept
        #expect(await fixture.call("s").error == .tooManyPendingCalls)
        try await fixture.handler.setLimit(4)
        await fixture.handler.setPressureScale(0.5)
        usage = await fixture.handler.memoryUsage()
        #expect(usage.effectiveLimit == 2)
        #expect(usage.highWaterMark == 2)
        await #expect(throws: ConfigurationError.self) { try await fixture.handler.setLimit(0) }
        #expect(await fixture.handler.prune() == 0)  // nothing is past its deadline
        for call in calls { call.cancel() }
        for call in calls { #expect(await call.error == .cancelled) }
        #expect(await fixture.handler.memoryUsage().size == 0)
        await fixture.stop()
    }
}
