@testable import MaculaMesh
import MaculaTesting
import Testing

/// What the transport hears about attempts that end: abandoned ones, and failures it reports.
@Suite("RPCHandler attempts: abandoned and transport-reported failures", .timeLimit(.minutes(3)))
struct RPCHandlerAttemptTests {
    typealias Abandoned = InMemoryRPCTransport.Abandoned

    @Test("every attempt that will never be answered is abandoned exactly once; an answered one is not")
    func abandonedOnce() async throws {
        let fixture = try await RPCFixture()
        try await fixture.cache(RPCTest.nodes("a", "b", "c"), for: "s")
        // a times out (failover), b is answered.
        let answered = fixture.call("s")
        let first = await fixture.transport.nextRequest()
        fixture.clock.advance(to: await fixture.clock.nextSleep())
        let second = await fixture.transport.nextRequest()
        #expect(await fixture.handler.handleReply(.success(second.callID, [1])))
        #expect(try await answered.value == [1])
        #expect(fixture.transport.abandonedAttempts == [Abandoned(callID: first.callID, attempt: 1)])

        // A caller cancelled while its attempt awaits the reply.
        let cancelled = fixture.call("s")
        let request = await fixture.transport.nextRequest()
        try await fixture.handler.waitUntilParked(request.callID)
        cancelled.cancel()
        #expect(await cancelled.error == .cancelled)
        #expect(fixture.transport.abandonedAttempts.last == Abandoned(callID: request.callID, attempt: 1))

        // Every attempt sent is answered or abandoned, never both, never twice.
        let abandoned = fixture.transport.abandonedAttempts
        #expect(Set(abandoned).count == abandoned.count)
        #expect(abandoned.count == fixture.transport.sendCount - 1)  // b's attempt was answered
        #expect(!abandoned.contains(Abandoned(callID: second.callID, attempt: second.attempt)))
        #expect(await fixture.pending() == (0, 0, 0))
        await fixture.stop()
    }

    @Test("every attempt timing out: each is abandoned once, the last when the call fails")
    func exhaustedAbandons() async throws {
        let transport = InMemoryRPCTransport(defaultBehavior: .drop)
        let fixture = try await RPCFixture(transport: transport)
        try await fixture.cache(RPCTest.nodes("a", "b", "c"), for: "s")
        let call = fixture.call("s")
        for _ in 0..<3 { fixture.clock.advance(to: await fixture.clock.nextSleep()) }
        #expect(await call.error == .attemptsExhausted)
        let id = try #require(transport.sentRequests.last?.callID)
        #expect(transport.abandonedAttempts == [1, 2, 3].map { Abandoned(callID: id, attempt: $0) })
        await fixture.stop()
    }

    @Test("shutdown abandons the attempts awaiting replies")
    func shutdownAbandons() async throws {
        let fixture = try await RPCFixture()
        try await fixture.cache(RPCTest.nodes("a"), for: "s")
        let call = fixture.call("s")
        let request = await fixture.transport.nextRequest()
        try await fixture.handler.waitUntilParked(request.callID)
        await fixture.handler.shutdown()
        #expect(await call.error == .shutdown)
        #expect(fixture.transport.abandonedAttempts == [Abandoned(callID: request.callID, attempt: 1)])
        await fixture.stop()
    }

    @Test("a transport-reported failure fails over at once like a timeout, counted as attempt_failed; a stale report is a no-op")
    func reportedFailureFailsOver() async throws {
        let fixture = try await RPCFixture()
        try await fixture.cache(RPCTest.nodes("a", "b"), for: "s")
        let call = fixture.call("s")
        let first = await fixture.transport.nextRequest()
        try await fixture.handler.waitUntilParked(first.callID)
        #expect(await fixture.handler.attemptFailed(first.callID, attempt: 1))
        let second = await fixture.transport.nextRequest()
        #expect(second.provider.nodeID == "b" && second.attempt == 2)
        #expect(fixture.clock.now.offset == .zero)  // no timeout was needed
        // A second report of attempt 1 is stale: attempt 2 is the current one.
        #expect(!(await fixture.handler.attemptFailed(first.callID, attempt: 1)))
        #expect(await fixture.handler.handleReply(.success(second.callID, [2])))
        #expect(try await call.value == [2])
        #expect(!(await fixture.handler.attemptFailed(second.callID, attempt: 2)))  // the call ended
        #expect(fixture.metrics.count(.attemptFailed) == 1)
        #expect(fixture.metrics.count(.failover) == 1)
        #expect(fixture.metrics.count(.attemptTimedOut) == 0)
        #expect(fixture.transport.abandonedAttempts == [Abandoned(callID: first.callID, attempt: 1)])
        #expect(await fixture.pending() == (0, 0, 0))
        await fixture.stop()
    }

    @Test("a reported failure of the last attempt fails the call with attemptsExhausted")
    func reportedFailureExhausts() async throws {
        let fixture = try await RPCFixture()
        try await fixture.cache(RPCTest.nodes("a"), for: "s")
        let call = fixture.call("s")
        let request = await fixture.transport.nextRequest()
        try await fixture.handler.waitUntilParked(request.callID)
        #expect(await fixture.handler.attemptFailed(request.callID, attempt: 1))
        let error = await call.error
        #expect(error == .attemptsExhausted)
        #expect(error?.providersTried == 1)
        #expect(fixture.metrics.removed(.timedOut) == 1)
        #expect(await fixture.pending() == (0, 0, 0))
        await fixture.stop()
    }
}
