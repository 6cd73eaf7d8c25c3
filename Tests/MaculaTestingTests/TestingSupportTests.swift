import MaculaMemory
import MaculaMesh
import MaculaTesting
import Testing

/// The hand-offs MaculaTesting gives a test: awaitable metrics and outstanding-call counts.
@Suite("Testing support", .timeLimit(.minutes(3)))
struct TestingSupportTests {
    @Test("RecordingMemoryMetrics.waitFor returns once the total is reached, counting what came before")
    func waitForCounts() async throws {
        let metrics = RecordingMemoryMetrics()
        metrics.eventRecorded(.callerQueued, count: 2, component: "a")
        try await metrics.waitFor(.callerQueued, count: 2)               // already there: at once
        let waiting = Task { try await metrics.waitFor(.callerQueued, count: 3, component: "a") }
        metrics.eventRecorded(.callerQueued, count: 5, component: "b")   // another component: not counted
        metrics.eventRecorded(.connectShared, count: 1, component: "a")  // another event: not counted
        metrics.eventRecorded(.callerQueued, count: 1, component: "a")
        try await waiting.value

        let removals = Task { try await metrics.waitFor(removed: .evicted, count: 4) }
        metrics.entriesRemoved(3, reason: .evicted, component: "a")
        metrics.entriesRemoved(1, reason: .evicted, component: "b")
        try await removals.value
        let rejections = Task { try await metrics.waitFor(rejected: .limitReached, count: 2) }
        metrics.requestRejected(reason: .limitReached, component: "a")
        metrics.requestRejected(reason: .limitReached, component: "a")
        try await rejections.value
        #expect(metrics.count(.callerQueued) == 8 && metrics.removed(.evicted) == 4 && metrics.rejected(.limitReached) == 2)
    }

    @Test("RecordingMemoryMetrics.waitFor throws CancellationError when its task is cancelled")
    func waitForCancellation() async throws {
        let metrics = RecordingMemoryMetrics()
        let never = Task { try await metrics.waitFor(.lateReply) }
        never.cancel()
        await #expect(throws: CancellationError.self) { try await never.value }
        let cancelledFirst = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await metrics.waitFor(.lateReply)
        }
        await #expect(throws: CancellationError.self) { try await cancelledFirst.value }
        metrics.eventRecorded(.lateReply, count: 1, component: "a")   // nobody is left waiting
    }

    @Test("ScriptedConnectionFactory counts the calls in progress and the most at once")
    func factoryOutstanding() async throws {
        let factory = ScriptedConnectionFactory<Int> { node in node < 0 ? .succeed : .wait }
        _ = try await factory.connect(to: -1)
        #expect(factory.outstandingCount == 0 && factory.maximumOutstandingCount == 1)
        let first = Task { try await factory.connect(to: 1) }
        let second = Task { try await factory.connect(to: 2) }
        let pending = [await factory.nextConnect(), await factory.nextConnect()]
        #expect(factory.outstandingCount == 2 && factory.maximumOutstandingCount == 2)
        for call in pending { call.succeed() }
        _ = try await (first.value, second.value)
        #expect(factory.outstandingCount == 0 && factory.maximumOutstandingCount == 2)
        #expect(factory.callCount == 3)
    }

    @Test("InMemoryRPCTransport counts the sends in progress and the most at once")
    func transportOutstanding() async throws {
        let gate = AsyncGate()
        let transport = InMemoryRPCTransport(defaultBehavior: .respond { _ in
            await gate.wait()
            return .success([])
        })
        let provider = ServiceProvider(nodeID: "p", address: "mem://p")
        let sends = (1...3).map { id in
            Task { try await transport.send(RPCRequest(callID: RPCCallID(rawValue: id), procedure: "x", arguments: [], provider: provider, attempt: 1)) }
        }
        await transport.waitForSends(3)
        #expect(transport.outstandingCount == 3 && transport.maximumOutstandingCount == 3)
        gate.open()
        for send in sends { try await send.value }
        #expect(transport.outstandingCount == 0 && transport.maximumOutstandingCount == 3)
        transport.setDefaultBehavior(.hold)
        try await transport.send(RPCRequest(callID: RPCCallID(rawValue: 9), procedure: "x", arguments: [], provider: provider, attempt: 1))
        #expect(transport.outstandingCount == 0, "a held request's send returns at once")
    }
}

/// A gate the respond closures wait at until the test opens it.
private final class AsyncGate: Sendable {
    private let state = LockedState<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let open = state.withLock { state -> Bool in
                if !state.open { state.waiters.append(continuation) }
                return state.open
            }
            if open { continuation.resume() }
        }
    }
}
