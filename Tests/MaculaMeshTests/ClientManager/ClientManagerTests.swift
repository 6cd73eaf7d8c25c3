import MaculaMemory
@testable import MaculaMesh
import MaculaTesting
import Testing

@Suite("ClientManager actor", .timeLimit(.minutes(3)))
struct ClientManagerTests {
    // MARK: Waiting for a slot

    @Test("a waiting caller gets the slot a disconnect frees")
    func waitingForASlot() async throws {
        let (manager, clock) = try makeClientManager(maximumClients: 1)
        let run = startRunning(manager)
        try await manager.clientConnected("a", info: "a")
        let waiting = Task { try await manager.clientConnected("b", info: "b", admission: .wait(upTo: .seconds(10))) }
        // The run loop goes to sleep towards b's deadline: b is queued.
        #expect(await clock.nextSleep() == ManualClock.Instant(offset: .seconds(10)))
        #expect(await manager.waiterCount == 1)
        #expect(await manager.isConnected("b") == false)

        #expect(await manager.clientDisconnected("a")?.client == "a")
        try await waiting.value
        #expect(await manager.isConnected("b"))
        #expect(await manager.info(for: "b") == "b")
        #expect(await manager.waiterCount == 0)
        run.cancel()
        try await run.value
    }

    @Test("a waiter times out at its deadline with timedOut, and leaves nothing behind")
    func waitTimesOut() async throws {
        let metrics = RecordingMemoryMetrics()
        let (manager, clock) = try makeClientManager(maximumClients: 1, waitTimeout: .seconds(3), metrics: metrics)
        let run = startRunning(manager)
        try await manager.clientConnected("a", info: "a")
        let waiting = Task { try await manager.clientConnected("b", info: "b", admission: .wait) }
        let deadline = await clock.nextSleep()
        #expect(deadline == ManualClock.Instant(offset: .seconds(3)))  // the configured waitTimeout

        clock.advance(by: .seconds(2))
        #expect(await manager.waiterCount == 1)
        clock.advance(to: deadline)
        await #expect(throws: ClientManagerError.timedOut) { try await waiting.value }
        #expect(await manager.waiterCount == 0)
        #expect(await manager.isConnected("b") == false)
        #expect(metrics.rejected(.waitTimedOut, component: "client_manager") == 1)
        // The slot freed later goes to nobody.
        await manager.clientDisconnected("a")
        #expect(await manager.clientCount == 0)
        run.cancel()
        try await run.value
    }

    @Test("a cancelled waiter is removed before its call returns, and never registered")
    func cancelledWaiter() async throws {
        let (manager, clock) = try makeClientManager(maximumClients: 1)
        let run = startRunning(manager)
        try await manager.clientConnected("a", info: "a")
        let waiting = Task { try await manager.clientConnected("b", info: "b", admission: .wait(upTo: .seconds(10))) }
        _ = await clock.nextSleep()
        waiting.cancel()
        await #expect(throws: ClientManagerError.cancelled) { try await waiting.value }
        // Checked right after the cancelled call returned: its entry is gone already.
        #expect(await manager.waiterCount == 0)
        await manager.clientDisconnected("a")
        #expect(await manager.clientCount == 0)
        #expect(await manager.isConnected("b") == false)
        run.cancel()
        try await run.value
    }

    @Test("an already cancelled caller that asks to wait is refused at once, even with a free slot")
    func cancelledBeforeWaiting() async throws {
        let (manager, _) = try makeClientManager(maximumClients: 1)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await manager.clientConnected("a", info: "a", admission: .wait)
        }
        await #expect(throws: ClientManagerError.cancelled) { try await task.value }
        #expect(await manager.clientCount == 0)
    }

    @Test("waiters are served first come first served")
    func fifoOrder() async throws {
        let (manager, clock) = try makeClientManager(maximumClients: 1)
        let run = startRunning(manager)
        try await manager.clientConnected("a", info: "a")
        // Decreasing timeouts: each new deadline is the earliest, so the loop re-sleeps for each
        // and `nextSleep()` confirms each caller is queued before the next one comes.
        var tasks: [String: Task<Void, any Error>] = [:]
        for (client, seconds) in [("b", 30), ("c", 20), ("d", 10)] {
            tasks[client] = Task { try await manager.clientConnected(client, info: client, admission: .wait(upTo: .seconds(seconds))) }
            #expect(await clock.nextSleep() == ManualClock.Instant(offset: .seconds(seconds)))
        }
        #expect(await manager.waiterCount == 3)
        var previous = "a"
        for client in ["b", "c", "d"] {
            await manager.clientDisconnected(previous)
            try await tasks[client]!.value
            #expect(await manager.isConnected(client))
            #expect(await manager.clientCount == 1)
            previous = client
        }
        #expect(await manager.waiterCount == 0)
        run.cancel()
        try await run.value
    }

    @Test("a newcomer cannot pass the waiters; a raised limit serves them first")
    func noQueueJumping() async throws {
        let metrics = RecordingMemoryMetrics()
        let (manager, clock) = try makeClientManager(maximumClients: 1, metrics: metrics)
        let run = startRunning(manager)
        try await manager.clientConnected("a", info: "a")
        let waiting = Task { try await manager.clientConnected("b", info: "b", admission: .wait(upTo: .seconds(10))) }
        _ = await clock.nextSleep()
        await #expect(throws: ClientManagerError.maxClientsReached) { try await manager.clientConnected("z", info: "z") }
        #expect(metrics.rejected(.limitReached) == 1)
        try await manager.setLimit(2)
        try await waiting.value
        #expect(await manager.isConnected("b"))
        await #expect(throws: ClientManagerError.maxClientsReached) { try await manager.clientConnected("z", info: "z") }
        run.cancel()
        try await run.value
    }

    @Test("the queue of waiters is bounded")
    func waitersLimit() async throws {
        let metrics = RecordingMemoryMetrics()
        let (manager, clock) = try makeClientManager(maximumClients: 1, maximumWaiters: 1, metrics: metrics)
        let run = startRunning(manager)
        try await manager.clientConnected("a", info: "a")
        let waiting = Task { try await manager.clientConnected("b", info: "b", admission: .wait(upTo: .seconds(10))) }
        _ = await clock.nextSleep()
        await #expect(throws: ClientManagerError.waitersLimitReached) {
            try await manager.clientConnected("c", info: "c", admission: .wait(upTo: .seconds(10)))
        }
        #expect(metrics.rejected(.waitersLimitReached) == 1)
        waiting.cancel()
        await #expect(throws: ClientManagerError.cancelled) { try await waiting.value }
        run.cancel()
        try await run.value
    }

    // MARK: run()

    @Test("once a run() has returned, a full manager refuses a waiting caller with notRunning")
    func notRunning() async throws {
        let metrics = RecordingMemoryMetrics()
        let (manager, _) = try makeClientManager(maximumClients: 1, metrics: metrics)
        try await manager.clientConnected("a", info: "a", admission: .wait)  // a free slot needs no run()
        let run = startRunning(manager)
        run.cancel()
        try await run.value
        await #expect(throws: ClientManagerError.notRunning) {
            try await manager.clientConnected("b", info: "b", admission: .wait)
        }
        #expect(await manager.waiterCount == 0)
        #expect(metrics.rejected(.notRunning) == 1)
    }

    @Test("when run() stops, waiters fail with notRunning; run() starts only once at a time")
    func runStops() async throws {
        let (manager, clock) = try makeClientManager(maximumClients: 1)
        let run = startRunning(manager)
        try await manager.clientConnected("a", info: "a")
        let waiting = Task { try await manager.clientConnected("b", info: "b", admission: .wait(upTo: .seconds(10))) }
        _ = await clock.nextSleep()  // run() is running: it sleeps towards the waiter's deadline
        await #expect(throws: ClientManagerError.alreadyRunning) { try await manager.run() }
        run.cancel()
        try await run.value
        await #expect(throws: ClientManagerError.notRunning) { try await waiting.value }
        #expect(await manager.waiterCount == 0)
        // It can run again.
        let again = startRunning(manager)
        again.cancel()
        try await again.value
    }

    @Test("shutdown removes every client and stream, fails waiters, refuses later calls")
    func shutdown() async throws {
        let metrics = RecordingMemoryMetrics()
        let (manager, clock) = try makeClientManager(maximumClients: 2, metrics: metrics)
        let run = startRunning(manager)
        try await manager.clientConnected("a", info: "a")
        try await manager.clientConnected("b", info: "b")
        try await manager.openStream(1, for: "a")
        try await manager.openStream(2, for: "b")
        try await manager.openStream(3, for: "b")
        let waiting = Task { try await manager.clientConnected("c", info: "c", admission: .wait(upTo: .seconds(10))) }
        _ = await clock.nextSleep()

        await manager.shutdown()
        await #expect(throws: ClientManagerError.shutdown) { try await waiting.value }
        #expect(await manager.clientCount == 0)
        #expect(await manager.streamCount == 0)
        #expect(metrics.removed(.shutdown) == 2)
        #expect(metrics.count(.streamsRemoved) == 3)
        await #expect(throws: ClientManagerError.shutdown) { try await manager.clientConnected("d", info: "d") }
        await #expect(throws: ClientManagerError.shutdown) { try await manager.openStream(4, for: "a") }
        #expect(await manager.clientDisconnected("a") == nil)
        await manager.shutdown()
        #expect(metrics.removed(.shutdown) == 2)
        run.cancel()
        try await run.value
        await #expect(throws: ClientManagerError.shutdown) { try await manager.run() }
    }

    // MARK: Clients and streams

    @Test("clients and streams through the actor, with metrics for rejections and removals")
    func clientsAndStreams() async throws {
        let metrics = RecordingMemoryMetrics()
        let (manager, _) = try makeClientManager(maximumClients: 2, maximumStreamsPerClient: 2, metrics: metrics)
        try await manager.clientConnected("a", info: "a1")
        try await manager.clientConnected("a", info: "a2")
        #expect(await manager.clientCount == 1)
        try await manager.clientConnected("b", info: "b")
        await #expect(throws: ClientManagerError.maxClientsReached) { try await manager.clientConnected("c", info: "c") }

        try await manager.openStream(1, for: "a")
        try await manager.openStream(2, for: "a")
        await #expect(throws: ClientManagerError.maxStreamsReached) { try await manager.openStream(3, for: "a") }
        await #expect(throws: ClientManagerError.streamOwnedByAnotherClient) { try await manager.openStream(1, for: "b") }
        await #expect(throws: ClientManagerError.unknownClient) { try await manager.openStream(9, for: "c") }
        #expect(await manager.client(for: 1) == "a")
        #expect(Set(await manager.streams(for: "a")) == [1, 2])
        #expect(await manager.closeStream(1))
        #expect(await manager.closeStream(1) == false)
        try await manager.openStream(3, for: "a")

        let removed = await manager.clientDisconnected("a")
        #expect(removed?.info == "a2")
        #expect(Set(removed?.streams ?? []) == [2, 3])
        #expect(await manager.clientDisconnected("a") == nil)
        #expect(await manager.streamCount == 0)

        #expect(metrics.rejected(.limitReached) == 1)
        #expect(metrics.rejected(.streamLimitReached) == 1)
        #expect(metrics.removed(.disconnected, component: "client_manager") == 1)
        #expect(metrics.count(.streamsRemoved) == 2)
        #expect(metrics.events.count == 4)
    }

    @Test("lowering the limit keeps every client and refuses newcomers; memoryUsage reports it")
    func limits() async throws {
        let (manager, _) = try makeClientManager(maximumClients: 10)
        for client in ["a", "b", "c", "d"] { try await manager.clientConnected(client, info: client) }
        try await manager.setLimit(3)
        await manager.setPressureScale(0.5)  // effective limit 1
        var usage = await manager.memoryUsage()
        #expect(usage == MemoryUsage(size: 4, effectiveLimit: 1, baseLimit: 3, pressureScale: 0.5, highWaterMark: 4))
        #expect(await manager.prune() == 0)  // no liveness check: a lower limit removes nobody
        await #expect(throws: ClientManagerError.maxClientsReached) { try await manager.clientConnected("e", info: "e") }
        for client in ["a", "b", "c", "d"] { await manager.clientDisconnected(client) }
        try await manager.clientConnected("e", info: "e")
        await #expect(throws: ClientManagerError.maxClientsReached) { try await manager.clientConnected("f", info: "f") }
        await manager.setPressureScale(1)
        try await manager.clientConnected("f", info: "f")
        usage = await manager.memoryUsage()
        #expect(usage.size == 2 && usage.effectiveLimit == 3)
        await #expect(throws: ConfigurationError.self) { try await manager.setLimit(0) }
        #expect(await manager.memoryUsage().baseLimit == 3)
    }

    @Test("prune removes the clients the liveness check declares dead, with their streams")
    func prune() async throws {
        let metrics = RecordingMemoryMetrics()
        let dead = LockedState<Set<String>>([])
        let (manager, _) = try makeClientManager(metrics: metrics, isAlive: { client, _ in !dead.value.contains(client) })
        for client in ["a", "b", "c"] { try await manager.clientConnected(client, info: client) }
        try await manager.openStream(1, for: "b")
        try await manager.openStream(2, for: "b")
        #expect(await manager.prune() == 0)
        dead.withLock { $0 = ["b", "c"] }
        #expect(await manager.prune() == 2)
        #expect(await manager.clientCount == 1)
        #expect(await manager.streamCount == 0)
        #expect(metrics.removed(.dead) == 2)
        #expect(metrics.count(.streamsRemoved) == 2)
    }

    @Test("the component name is configurable and used in metrics")
    func componentName() async throws {
        let metrics = RecordingMemoryMetrics()
        let manager = try ClientManager<Int, String, Int>(
            configuration: ClientManagerConfiguration(maximumClients: 1, componentName: "edge_clients"),
            metrics: metrics
        )
        #expect(manager.componentName == "edge_clients")
        try await manager.clientConnected(1, info: "one")
        await #expect(throws: ClientManagerError.maxClientsReached) { try await manager.clientConnected(2, info: "two") }
        #expect(metrics.rejected(.limitReached, component: "edge_clients") == 1)
        #expect(try ClientManager<Int, String, Int>().componentName == "client_manager")
    }
}
