import MaculaMemory
@testable import MaculaMesh
import MaculaTesting
import Testing

private struct BodyFailed: Error, Equatable {}

/// `withClient`: the client is registered for the body and removed however the body ends, before
/// `withClient` returns. Cancellation is tested at each point of the scope's life.
@Suite("ClientManager withClient", .timeLimit(.minutes(3)))
struct ClientManagerScopeTests {
    @Test("the body's value is returned and the client leaves with its streams")
    func returns() async throws {
        let metrics = RecordingMemoryMetrics()
        let (manager, _) = try makeClientManager(metrics: metrics)
        let value = try await manager.withClient("a", info: "a") {
            #expect(await manager.isConnected("a"))
            try await manager.openStream(1, for: "a")
            try await manager.openStream(2, for: "a")
            return 42
        }
        #expect(value == 42)
        #expect(await manager.clientCount == 0)
        #expect(await manager.streamCount == 0)
        #expect(metrics.removed(.disconnected) == 1)
        #expect(metrics.count(.streamsRemoved) == 2)
    }

    @Test("a throwing body's error is rethrown after the client left")
    func throwsFromBody() async throws {
        let (manager, _) = try makeClientManager()
        await #expect(throws: BodyFailed()) {
            try await manager.withClient("a", info: "a") {
                try await manager.openStream(1, for: "a")
                throw BodyFailed()
            }
        }
        #expect(await manager.clientCount == 0)
        #expect(await manager.streamCount == 0)
    }

    @Test("refused at the limit: maxClientsReached, and the body does not run")
    func refused() async throws {
        let (manager, _) = try makeClientManager(maximumClients: 1)
        try await manager.clientConnected("x", info: "x")
        let ran = LockedState(false)
        await #expect(throws: ClientManagerError.maxClientsReached) {
            try await manager.withClient("a", info: "a") { ran.withLock { $0 = true } }
        }
        #expect(ran.value == false)
        #expect(await manager.clientCount == 1)
    }

    @Test("cancelled before registration: cancelled, nothing registered, the body does not run")
    func cancelledBeforeRegistration() async throws {
        let (manager, _) = try makeClientManager()
        let ran = LockedState(false)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await manager.withClient("a", info: "a") { ran.withLock { $0 = true } }
        }
        await #expect(throws: ClientManagerError.cancelled) { try await task.value }
        #expect(ran.value == false)
        #expect(await manager.clientCount == 0)
    }

    @Test("cancelled while waiting for a slot: cancelled, the queue entry is gone, the body does not run")
    func cancelledWhileWaiting() async throws {
        let (manager, clock) = try makeClientManager(maximumClients: 1)
        let run = startRunning(manager)
        try await manager.clientConnected("x", info: "x")
        let ran = LockedState(false)
        let task = Task {
            try await manager.withClient("a", info: "a", admission: .wait(upTo: .seconds(10))) {
                ran.withLock { $0 = true }
            }
        }
        _ = await clock.nextSleep()
        #expect(await manager.waiterCount == 1)
        task.cancel()
        await #expect(throws: ClientManagerError.cancelled) { try await task.value }
        #expect(await manager.waiterCount == 0)
        await manager.clientDisconnected("x")
        #expect(await manager.clientCount == 0)
        #expect(ran.value == false)
        run.cancel()
        try await run.value
    }

    @Test("a waiting scope that gets a slot runs its body and then leaves")
    func waitsThenRuns() async throws {
        let (manager, clock) = try makeClientManager(maximumClients: 1)
        let run = startRunning(manager)
        try await manager.clientConnected("x", info: "x")
        let task = Task {
            try await manager.withClient("a", info: "a", admission: .wait(upTo: .seconds(10))) {
                try await manager.openStream(1, for: "a")
                return await manager.client(for: 1)
            }
        }
        _ = await clock.nextSleep()
        await manager.clientDisconnected("x")
        #expect(try await task.value == "a")
        #expect(await manager.clientCount == 0)
        #expect(await manager.streamCount == 0)
        run.cancel()
        try await run.value
    }

    @Test("cancelled during the body: the client and its streams are gone when withClient returns")
    func cancelledDuringBody() async throws {
        let (manager, _) = try makeClientManager()
        let started = ClientsGate()
        let task = Task {
            try await manager.withClient("a", info: "a") {
                try await manager.openStream(1, for: "a")
                try await manager.openStream(2, for: "a")
                started.open()
                await ClientsGate().wait()  // blocks until the task is cancelled
                try Task.checkCancellation()
            }
        }
        await started.wait()
        #expect(await manager.streamCount == 2)
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(await manager.clientCount == 0)
        #expect(await manager.streamCount == 0)
    }

    @Test("cancelled after the body: the removal still happens before withClient returns")
    func cancelledAfterBody() async throws {
        let (manager, _) = try makeClientManager()
        let task = Task {
            try await manager.withClient("a", info: "a") {
                try await manager.openStream(1, for: "a")
                withUnsafeCurrentTask { $0?.cancel() }  // cancelled between the body's end and the removal
                return "done"
            }
        }
        #expect(try await task.value == "done")
        #expect(await manager.clientCount == 0)
        #expect(await manager.streamCount == 0)
    }

    @Test("a client disconnected during the body is not removed twice")
    func disconnectedDuringBody() async throws {
        let metrics = RecordingMemoryMetrics()
        let (manager, _) = try makeClientManager(metrics: metrics)
        try await manager.withClient("a", info: "a") {
            try await manager.openStream(1, for: "a")
            #expect(await manager.clientDisconnected("a")?.streams == [1])
        }
        #expect(metrics.removed(.disconnected) == 1)
        #expect(metrics.count(.streamsRemoved) == 1)
    }

    @Test("a reconnect during the body is left alone when the old scope ends")
    func reconnectDuringBody() async throws {
        let metrics = RecordingMemoryMetrics()
        let (manager, _) = try makeClientManager(metrics: metrics)
        let (oldRegistered, oldMayEnd) = (ClientsGate(), ClientsGate())
        let (newRegistered, newMayEnd) = (ClientsGate(), ClientsGate())
        let old = Task {
            try await manager.withClient("a", info: "old connection") {
                try await manager.openStream(1, for: "a")
                oldRegistered.open()
                await oldMayEnd.wait()
            }
        }
        await oldRegistered.wait()
        // The same client connects again while the old connection's handler is still running.
        let new = Task {
            try await manager.withClient("a", info: "new connection") {
                newRegistered.open()
                await newMayEnd.wait()
            }
        }
        await newRegistered.wait()
        #expect(await manager.info(for: "a") == "new connection")
        #expect(await manager.clientCount == 1)
        #expect(await manager.streams(for: "a") == [1])  // the client's streams go with the client

        oldMayEnd.open()
        try await old.value
        // The old handler's exit left the new registration, and the client's streams, in place.
        #expect(await manager.info(for: "a") == "new connection")
        #expect(await manager.streamCount == 1)
        #expect(metrics.removed(.disconnected) == 0)

        newMayEnd.open()
        try await new.value
        #expect(await manager.clientCount == 0)
        #expect(await manager.streamCount == 0)
        #expect(metrics.removed(.disconnected) == 1)
    }

    @Test("the body runs in the caller's isolation")
    @MainActor
    func bodyRunsInCallersIsolation() async throws {
        let (manager, _) = try makeClientManager()
        var touched = 0  // main-actor state, mutated without a hop
        try await manager.withClient("a", info: "a") {
            MainActor.assertIsolated()
            touched += 1
        }
        #expect(touched == 1)
    }
}
