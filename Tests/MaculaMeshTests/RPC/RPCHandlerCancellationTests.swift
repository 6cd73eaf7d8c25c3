@testable import MaculaMesh
import MaculaMemory
import MaculaTesting
import Testing

/// A transport whose `send` waits until its caller's task is cancelled (or the test opens it),
/// and says when a send has begun.
private final class GatedTransport: RPCTransport {
    private struct State {
        var entered: [CheckedContinuation<Void, Never>] = []
        var enteredCount = 0
        var gates: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextGate: UInt64 = 0
    }

    private let state = LockedState(State())

    func send(_ request: RPCRequest) async throws {
        let gate = state.withLock { state -> UInt64 in
            state.nextGate += 1
            return state.nextGate
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let (cancelled, observers) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
                    state.enteredCount += 1
                    let observers = state.entered
                    state.entered = []
                    if Task.isCancelled { return (true, observers) }
                    state.gates[gate] = continuation
                    return (false, observers)
                }
                for observer in observers { observer.resume() }
                if cancelled { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.gates.removeValue(forKey: gate) }?.resume()
        }
        try Task.checkCancellation()
    }

    /// Returns once a send has begun.
    func waitForSend() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.enteredCount > 0 { return true }
                state.entered.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }
}

@Suite("RPCHandler cancellation", .timeLimit(.minutes(3)))
struct RPCHandlerCancellationTests {
    @Test("a caller cancelled before the call starts leaves nothing and sends nothing")
    func cancelledBeforeStart() async throws {
        let fixture = try await RPCFixture()
        try await fixture.cache(RPCTest.nodes("a"), for: "s")
        let handler = fixture.handler
        let task = Task { () -> RPCError? in
            withUnsafeCurrentTask { $0?.cancel() }
            do throws(RPCError) {
                _ = try await handler.call("s")
                return nil
            } catch {
                return error
            }
        }
        #expect(await task.value == .cancelled)
        #expect(fixture.transport.sendCount == 0)
        #expect(await fixture.pending() == (0, 0, 0))
        #expect(fixture.metrics.count(.callStarted) == 0)
        await fixture.stop()
    }

    @Test("a caller cancelled during its discovery is gone before call returns; the discovery is cancelled")
    func cancelledDuringDiscovery() async throws {
        let discovery = InMemoryRPCDiscovery()
        discovery.setAnswer(.hold, for: "s")
        let fixture = try await RPCFixture(discovery: discovery)
        let call = fixture.call("s")
        let query = await discovery.nextQuery()
        #expect(await fixture.pending() == (1, 1, 1))
        call.cancel()
        #expect(await call.error == .cancelled)
        // Removed before `call` returned: no hop, no task left to do it later.
        #expect(await fixture.pending() == (0, 0, 0))
        #expect(fixture.metrics.removed(.callerCancelled) == 1)
        await discovery.waitForCancellations(1)
        #expect(!query.succeed(RPCTest.nodes("a")))
        #expect(fixture.transport.sendCount == 0)
        await fixture.stop()
    }

    @Test("a caller cancelled while awaiting its reply is gone before call returns; the reply is late")
    func cancelledAwaitingReply() async throws {
        let fixture = try await RPCFixture()
        try await fixture.cache(RPCTest.nodes("a"), for: "s")
        let call = fixture.call("s")
        let request = await fixture.transport.nextRequest()
        try await fixture.handler.waitUntilSuspended(request.callID)
        call.cancel()
        #expect(await call.error == .cancelled)
        #expect(await fixture.pending() == (0, 0, 0))
        #expect(!(await fixture.handler.handleReply(.success(request.callID, [1]))))
        #expect(fixture.metrics.count(.lateReply) == 1)
        #expect(fixture.metrics.removed(.callerCancelled) == 1)
        // Its deadline went with it: the clock is no longer slept on for it.
        await fixture.stop()
        #expect(fixture.metrics.removed(.stopped) == 0)
    }

    @Test("a caller cancelled while its send runs is gone before call returns")
    func cancelledWhileSending() async throws {
        let transport = GatedTransport()
        let clock = ManualClock()
        let registry = try ServiceRegistry(clock: clock)
        try await registry.cacheProviders(RPCTest.nodes("a"), for: "s")
        let handler = try RPCHandler(registry: registry, transport: transport, discovery: InMemoryRPCDiscovery())
        let loop = Task { try await handler.run() }
        let call = Task { () -> RPCError? in
            do throws(RPCError) {
                _ = try await handler.call("s")
                return nil
            } catch {
                return error
            }
        }
        await transport.waitForSend()
        #expect(await handler.pendingCallCount == 1)
        call.cancel()
        #expect(await call.value == .cancelled)
        #expect(await handler.pendingCallCount == 0)
        #expect(await handler.deadlineCount == 0)
        loop.cancel()
        _ = await loop.result
    }

    @Test("two callers share a discovery; cancelling the first leaves the second untouched")
    func sharedDiscoveryFirstCancelled() async throws {
        let discovery = InMemoryRPCDiscovery()
        discovery.setAnswer(.hold, for: "s")
        let transport = InMemoryRPCTransport(defaultBehavior: .respond { _ in .success([42]) })
        let fixture = try await RPCFixture(transport: transport, discovery: discovery)
        let first = fixture.call("s")
        let query = await discovery.nextQuery()
        #expect(await fixture.clock.nextSleep().offset == .seconds(5))
        let second = fixture.call("s", options: RPCCallOptions(discoveryTimeout: .seconds(4)))
        #expect(await fixture.clock.nextSleep().offset == .seconds(4))  // it has joined
        first.cancel()
        #expect(await first.error == .cancelled)
        #expect(await fixture.pending() == (1, 1, 1))  // the second caller and its discovery
        #expect(discovery.cancelledCount == 0)
        #expect(query.succeed(RPCTest.nodes("a")))
        #expect(try await second.value == [42])
        #expect(discovery.discoveryCount() == 1)
        #expect(await fixture.pending() == (0, 0, 0))
        #expect(fixture.metrics.removed(.callerCancelled) == 1)
        #expect(fixture.metrics.removed(.replied) == 1)
        await fixture.stop()
    }

    @Test("cancelling one of many callers waiting for replies affects no other")
    func cancelOneOfMany() async throws {
        let fixture = try await RPCFixture()
        try await fixture.cache(RPCTest.nodes("a"), for: "s")
        let calls = (0..<10).map { fixture.call("s", [UInt8($0)]) }
        var requests: [UInt8: RPCRequest] = [:]
        for _ in calls {
            let request = await fixture.transport.nextRequest()
            requests[request.arguments[0]] = request
            try await fixture.handler.waitUntilSuspended(request.callID)
        }
        calls[3].cancel()
        #expect(await calls[3].error == .cancelled)
        #expect(await fixture.pending().calls == 9)
        for (argument, request) in requests {
            let taken = await fixture.handler.handleReply(.success(request.callID, [argument]))
            #expect(taken == (argument != 3))
        }
        for (index, call) in calls.enumerated() where index != 3 {
            #expect(try await call.value == [UInt8(index)])
        }
        #expect(await fixture.pending() == (0, 0, 0))
        await fixture.stop()
    }
}
