@testable import MaculaMesh
import MaculaMemory
import MaculaTesting
import Testing

@Suite("RPCHandler under concurrency", .timeLimit(.minutes(3)))
struct RPCHandlerStressTests {
    @Test("thousands of callers with random replies, drops, failures, cancellations and timeouts end with nothing pending")
    func hammer() async throws {
        let callers = 3_000
        let discovery = InMemoryRPCDiscovery(defaultAnswer: .providers(RPCTest.nodes("a", "b", "c")))
        let transport = InMemoryRPCTransport(defaultBehavior: .hold, keepsHistory: false)
        let fixture = try await RPCFixture(
            configuration: RPCTest.configuration(strategy: .random, maximumPendingCalls: 2_000),
            transport: transport, discovery: discovery
        )
        try await fixture.cache(RPCTest.nodes("a", "b", "c"), for: "cached")
        let handler = fixture.handler
        let clock = fixture.clock
        let done = LockedState(false)

        // Moves time to every deadline the handler sleeps towards, so every timeout happens.
        let driver = Task {
            while true {
                let deadline = await clock.nextSleep()
                if done.withLock({ $0 }) { return }
                clock.advance(to: deadline)
            }
        }
        // Answers held requests at random: a result, a failure, nothing, or twice.
        let replier = Task {
            var random = SplitMix64(seed: 11)
            var answered = 0
            while true {
                let request = await transport.nextRequest()
                if request.procedure == "stop" { return answered }
                switch Int.random(in: 0..<10, using: &random) {
                case 0..<4:
                    await handler.handleReply(.success(request.callID, request.arguments))
                case 4..<5:
                    await handler.handleReply(.failure(request.callID, "no"))
                case 5..<6:
                    await handler.handleReply(.success(request.callID, request.arguments))
                    await handler.handleReply(.success(request.callID, request.arguments))  // a duplicate: late
                default:
                    continue  // dropped: the attempt times out
                }
                answered += 1
            }
        }
        var random = SplitMix64(seed: 5)
        let calls = (0..<callers).map { index -> RPCCallTask in
            let service = Bool.random(using: &random) ? "cached" : "d\(Int.random(in: 0..<40, using: &random))"
            let timeout = Duration.seconds(Int.random(in: 1...5, using: &random))
            return fixture.call(service, [UInt8(index % 256)], options: RPCCallOptions(timeout: timeout))
        }
        // Cancels a quarter of the callers, wherever each happens to be, once some calls are out (so
        // that cancellations find pending calls, not only tasks that have not started yet).
        let canceller = Task {
            await transport.waitForSends(callers / 10)
            var random = SplitMix64(seed: 9)
            for call in calls.shuffled(using: &random).prefix(callers / 4) { call.cancel() }
        }
        await canceller.value

        var outcomes: [String: Int] = [:]
        for (index, call) in calls.enumerated() {
            switch await call.result {
            case .success(let bytes):
                #expect(bytes == [UInt8(index % 256)])
                outcomes["success", default: 0] += 1
            case .failure(let error):
                let allowed: [RPCError] = [
                    .cancelled, .attemptsExhausted, .procedureFailed, .tooManyPendingCalls, .discoveryTimedOut,
                ]
                #expect(allowed.contains(error), "\(error)")
                let name = ["cancelled", "attemptsExhausted", "procedureFailed", "tooManyPendingCalls", "discoveryTimedOut"]
                outcomes[allowed.firstIndex(of: error).map { name[$0] } ?? "other", default: 0] += 1
            }
        }
        done.withLock { $0 = true }
        let wake = Task { try await clock.sleep(until: clock.now.advanced(by: .seconds(1_000_000))) }
        try await transport.send(RPCRequest(callID: RPCCallID(rawValue: 0), procedure: "stop", arguments: [], provider: RPCTest.node("x"), attempt: 1))
        _ = await replier.value
        await driver.value
        wake.cancel()

        #expect(await fixture.pending() == (0, 0, 0))
        #expect(await handler.memoryUsage().size == 0)
        let metrics = fixture.metrics
        let removed = [RemovalReason.replied, .timedOut, .callFailed, .callerCancelled].map { metrics.removed($0) }.reduce(0, +)
        #expect(removed == metrics.count(.callStarted))  // every call that started was removed exactly once
        #expect(metrics.removed(.callerCancelled) > 0)
        #expect(metrics.removed(.timedOut) > 0)
        #expect(metrics.count(.lateReply) > 0)
        #expect(metrics.count(.failover) > 0)
        #expect(outcomes["cancelled", default: 0] > 0)
        #expect(outcomes["attemptsExhausted", default: 0] > 0)
        await fixture.stop()
    }

    @Test("cancellations racing replies: each caller ends exactly once, nothing remains")
    func cancelRacesReply() async throws {
        let fixture = try await RPCFixture()
        try await fixture.cache(RPCTest.nodes("a"), for: "s")
        let handler = fixture.handler
        let count = 1_000
        let calls = (0..<count).map { _ in fixture.call("s") }
        await fixture.transport.waitForSends(count)
        let requests = fixture.transport.takeHeldRequests()
        #expect(requests.count == count)
        async let replies: Void = {
            for request in requests { await handler.handleReply(.success(request.callID, [1])) }
        }()
        for call in calls { call.cancel() }
        await replies
        var succeeded = 0
        for call in calls {
            switch await call.result {
            case .success(let bytes):
                #expect(bytes == [1])
                succeeded += 1
            case .failure(let error):
                #expect(error == .cancelled)
            }
        }
        #expect(await fixture.pending() == (0, 0, 0))
        let metrics = fixture.metrics
        #expect(metrics.removed(.replied) + metrics.removed(.callerCancelled) == count)
        #expect(metrics.removed(.replied) == succeeded)
        await fixture.stop()
    }

    @Test("replies that race each caller between its send and its park are never lost")
    func repliesRacingParks() async throws {
        let fixture = try await RPCFixture()
        try await fixture.cache(RPCTest.nodes("a"), for: "s")
        let handler = fixture.handler
        let transport = fixture.transport
        let count = 2_000
        // Answers every request the moment it is sent, from another task, while its caller is
        // still on its way from `send` to its park.
        let replier = Task {
            for _ in 0..<count {
                let request = await transport.nextRequest()
                await handler.handleReply(.success(request.callID, request.arguments))
            }
        }
        let calls = (0..<count).map { fixture.call("s", [UInt8($0 % 256)]) }
        for (index, call) in calls.enumerated() {
            #expect(try await call.value == [UInt8(index % 256)])
        }
        await replier.value
        #expect(await fixture.pending() == (0, 0, 0))
        #expect(fixture.metrics.count(.lateReply) == 0)
        #expect(fixture.metrics.removed(.replied) == count)
        await fixture.stop()
    }
}
