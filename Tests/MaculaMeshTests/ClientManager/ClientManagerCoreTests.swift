@testable import MaculaMesh
import Testing

private func makeCore(
    maximumClients: Int = 3, maximumStreamsPerClient: Int = 4, maximumWaiters: Int = 3, running: Bool = true
) throws -> TestClientCore {
    var core = try TestClientCore(configuration: ClientManagerConfiguration(
        maximumClients: maximumClients,
        maximumStreamsPerClient: maximumStreamsPerClient,
        maximumWaiters: maximumWaiters
    ))
    if running { _ = try core.runStarted(now: .zero) }
    return core
}

/// Queues `waiter` for `client` and returns its queue ID.
private func queue(
    _ core: inout TestClientCore, _ client: String, _ waiter: ClientsWaiter, deadline: Int,
    sourceLocation: SourceLocation = #_sourceLocation
) throws -> UInt64 {
    let admission = try core.clientConnected(client, info: client, waiter: waiter, timeout: .seconds(deadline), now: .zero)
    guard case .queued(let id, _) = admission else {
        Issue.record("expected \(client) to be queued, got \(admission)", sourceLocation: sourceLocation)
        return 0
    }
    return id
}

@Suite("ClientManager core", .timeLimit(.minutes(3)))
struct ClientManagerCoreTests {
    // MARK: Clients

    @Test("a client is registered once; reconnecting updates its info under a new registration")
    func reconnectUpdatesInfo() throws {
        var core = try makeCore()
        let first = try core.clientConnected("a", info: "v1")
        let second = try core.clientConnected("a", info: "v2")
        #expect(core.clientCount == 1)
        #expect(core.info(for: "a") == "v2")
        #expect(second != first)
        #expect(core.registration(of: "a") == second)
        core.expectConsistent()
    }

    @Test("at the limit a newcomer is refused with maxClientsReached; a reconnect is not")
    func limitRefusesNewcomers() throws {
        var core = try makeCore(maximumClients: 2)
        _ = try core.clientConnected("a", info: "a")
        _ = try core.clientConnected("b", info: "b")
        #expect(throws: ClientManagerError.maxClientsReached) { try core.clientConnected("c", info: "c") }
        #expect(core.clientCount == 2)
        #expect(core.info(for: "c") == nil)
        _ = try core.clientConnected("a", info: "a2")
        #expect(core.info(for: "a") == "a2")
        #expect(core.clientCount == 2)
        core.expectConsistent()
    }

    @Test("disconnect removes the client and exactly its streams, and reports them")
    func disconnectRemovesExactlyItsStreams() throws {
        var core = try makeCore()
        _ = try core.clientConnected("a", info: "ia")
        _ = try core.clientConnected("b", info: "ib")
        for stream in [1, 2, 3] { try core.openStream(stream, for: "a") }
        for stream in [10, 11] { try core.openStream(stream, for: "b") }
        let (removed, actions) = core.clientDisconnected("a")
        #expect(removed?.client == "a")
        #expect(removed?.info == "ia")
        #expect(Set(removed?.streams ?? []) == [1, 2, 3])
        #expect(actions.isEmpty)
        #expect(core.clientCount == 1)
        #expect(core.streamCount == 2)
        for stream in [1, 2, 3] { #expect(core.client(for: stream) == nil) }
        #expect(Set(core.streams(for: "b")) == [10, 11])
        #expect(core.client(for: 10) == "b")
        core.expectConsistent()
    }

    @Test("disconnecting an unknown client is a no-op that reports nothing removed")
    func unknownDisconnectIsNoOp() throws {
        var core = try makeCore()
        _ = try core.clientConnected("a", info: "a")
        let (removed, actions) = core.clientDisconnected("nobody")
        #expect(removed == nil)
        #expect(actions.isEmpty)
        #expect(core.clientCount == 1)
    }

    @Test("a scope's end removes the client only while its own registration owns it")
    func registrationEndedChecksOwnership() throws {
        var core = try makeCore()
        let first = try core.clientConnected("a", info: "first")
        try core.openStream(1, for: "a")

        // Re-registered by someone else: the first scope's end leaves it alone.
        let second = try core.clientConnected("a", info: "second")
        #expect(core.registrationEnded("a", registration: first).removed == nil)
        #expect(core.info(for: "a") == "second")
        #expect(core.client(for: 1) == "a")

        // The owning scope's end removes it with its streams.
        let removed = core.registrationEnded("a", registration: second).removed
        #expect(removed?.streams == [1])
        #expect(core.clientCount == 0)
        #expect(core.streamCount == 0)

        // Disconnected and connected again by another call: the old scope's end is a no-op.
        let third = try core.clientConnected("a", info: "third")
        _ = core.clientDisconnected("a")
        _ = try core.clientConnected("a", info: "fourth")
        #expect(core.registrationEnded("a", registration: third).removed == nil)
        #expect(core.info(for: "a") == "fourth")
        core.expectConsistent()
    }

    // MARK: Streams

    @Test("a stream for an unknown client is refused and nothing is stored")
    func streamForUnknownClient() throws {
        var core = try makeCore()
        #expect(throws: ClientManagerError.unknownClient) { try core.openStream(1, for: "ghost") }
        #expect(core.streamCount == 0)
        #expect(core.client(for: 1) == nil)
    }

    @Test("a stream open for one client is never taken over by another")
    func streamsAreNeverClobbered() throws {
        var core = try makeCore()
        _ = try core.clientConnected("a", info: "a")
        _ = try core.clientConnected("b", info: "b")
        try core.openStream(7, for: "a")
        #expect(throws: ClientManagerError.streamOwnedByAnotherClient) { try core.openStream(7, for: "b") }
        #expect(core.client(for: 7) == "a")
        #expect(core.streams(for: "b").isEmpty)
        // Disconnecting b must not touch a's stream, and disconnecting a removes it.
        _ = core.clientDisconnected("b")
        #expect(core.client(for: 7) == "a")
        #expect(core.clientDisconnected("a").removed?.streams == [7])
        core.expectConsistent()
    }

    @Test("reopening a stream the client already has is a no-op, even at its limit")
    func reopenIsNoOp() throws {
        var core = try makeCore(maximumStreamsPerClient: 2)
        _ = try core.clientConnected("a", info: "a")
        try core.openStream(1, for: "a")
        try core.openStream(2, for: "a")
        try core.openStream(1, for: "a")
        #expect(core.streams(for: "a") == [1, 2])
        #expect(core.streamCount == 2)
    }

    @Test("the per-client stream limit refuses the next stream and leaves the others alone")
    func streamLimit() throws {
        var core = try makeCore(maximumStreamsPerClient: 2)
        _ = try core.clientConnected("a", info: "a")
        _ = try core.clientConnected("b", info: "b")
        try core.openStream(1, for: "a")
        try core.openStream(2, for: "a")
        #expect(throws: ClientManagerError.maxStreamsReached) { try core.openStream(3, for: "a") }
        #expect(core.client(for: 3) == nil)
        try core.openStream(3, for: "b")
        #expect(core.closeStream(1) == true)
        try core.openStream(4, for: "a")
        #expect(Set(core.streams(for: "a")) == [2, 4])
        core.expectConsistent()
    }

    @Test("closing a stream in the middle keeps every other stream's position right")
    func closeInTheMiddle() throws {
        var core = try makeCore(maximumStreamsPerClient: 10)
        _ = try core.clientConnected("a", info: "a")
        for stream in 1...5 { try core.openStream(stream, for: "a") }
        #expect(core.closeStream(2) == true)
        core.expectConsistent()
        #expect(core.closeStream(5) == true)
        core.expectConsistent()
        #expect(core.closeStream(1) == true)
        core.expectConsistent()
        #expect(Set(core.streams(for: "a")) == [3, 4])
        #expect(core.closeStream(2) == false)
        #expect(core.closeStream(99) == false)
        #expect(core.clientDisconnected("a").removed.map { Set($0.streams) } == [3, 4])
        #expect(core.streamCount == 0)
    }

    // MARK: Waiting

    @Test("waiting is accepted before run() starts, refused once it stopped; nobody may wait when maximumWaiters is 0; the queue is bounded")
    func waitingRules() throws {
        var early = try makeCore(maximumClients: 1, running: false)
        _ = try early.clientConnected("a", info: "a")
        let admission = try early.clientConnected("b", info: "b", waiter: ClientsFakeWaiter(), timeout: .seconds(10), now: .zero)
        #expect(admission.summary == "queued 1 waiting_for_run wake")
        early.expectConsistent()

        var stopped = try makeCore(maximumClients: 1)
        _ = stopped.runStopped()
        _ = try stopped.clientConnected("a", info: "a")
        #expect(throws: ClientManagerError.notRunning) {
            try stopped.clientConnected("b", info: "b", waiter: ClientsFakeWaiter(), timeout: .seconds(10), now: .zero)
        }
        // With a free slot it does not need run().
        var free = try makeCore(maximumClients: 1, running: false)
        #expect(try free.clientConnected("a", info: "a", waiter: ClientsFakeWaiter(), timeout: .seconds(10), now: .zero).summary == "registered 1")

        var noWaiting = try makeCore(maximumClients: 1, maximumWaiters: 0)
        _ = try noWaiting.clientConnected("a", info: "a")
        #expect(throws: ClientManagerError.maxClientsReached) {
            try noWaiting.clientConnected("b", info: "b", waiter: ClientsFakeWaiter(), timeout: .seconds(10), now: .zero)
        }

        var bounded = try makeCore(maximumClients: 1, maximumWaiters: 2)
        _ = try bounded.clientConnected("a", info: "a")
        _ = try queue(&bounded, "b", ClientsFakeWaiter(), deadline: 10)
        _ = try queue(&bounded, "c", ClientsFakeWaiter(), deadline: 10)
        #expect(throws: ClientManagerError.waitersLimitReached) {
            try bounded.clientConnected("d", info: "d", waiter: ClientsFakeWaiter(), timeout: .seconds(10), now: .zero)
        }
        #expect(bounded.waiterCount == 2)
        bounded.expectConsistent()
    }

    @Test("a waiting call for a connected client updates it at once, without waiting")
    func waitingReconnect() throws {
        var core = try makeCore(maximumClients: 1)
        _ = try core.clientConnected("a", info: "old")
        let admission = try core.clientConnected("a", info: "new", waiter: ClientsFakeWaiter(), timeout: .seconds(10), now: .zero)
        guard case .registered = admission else { Issue.record("expected registered, got \(admission)"); return }
        #expect(core.info(for: "a") == "new")
        #expect(core.waiterCount == 0)
    }

    @Test("freed slots go to waiters oldest first, and a newcomer cannot pass the queue")
    func fifoGrants() throws {
        var core = try makeCore(maximumClients: 2)
        _ = try core.clientConnected("a", info: "a")
        _ = try core.clientConnected("b", info: "b")
        let (w1, w2, w3) = (ClientsFakeWaiter("w1"), ClientsFakeWaiter("w2"), ClientsFakeWaiter("w3"))
        _ = try queue(&core, "c", w1, deadline: 30)
        _ = try queue(&core, "d", w2, deadline: 10)
        _ = try queue(&core, "e", w3, deadline: 20)

        #expect(core.settle(core.clientDisconnected("a").actions) == ["grant w1"])
        #expect(core.isConnected("c"))
        // A newcomer may not take a slot while callers wait, even for an instant.
        #expect(throws: ClientManagerError.maxClientsReached) { try core.clientConnected("z", info: "z") }
        #expect(core.settle(core.clientDisconnected("b").actions) == ["grant w2"])
        #expect(core.settle(core.clientDisconnected("c").actions) == ["grant w3"])
        #expect(Set(["d", "e"]).allSatisfy(core.isConnected))
        #expect(core.waiterCount == 0)
        #expect(core.nextDeadline == nil)
        core.expectConsistent()
    }

    @Test("a waiter whose cancellation won is skipped and the slot goes to the next one")
    func cancelledWaiterIsSkipped() throws {
        var core = try makeCore(maximumClients: 1)
        _ = try core.clientConnected("a", info: "a")
        let (w1, w2) = (ClientsFakeWaiter("w1"), ClientsFakeWaiter("w2"))
        let id1 = try queue(&core, "b", w1, deadline: 10)
        _ = try queue(&core, "c", w2, deadline: 10)
        w1.cancel()  // the cancellation handler ran; the caller has not re-entered the actor yet
        #expect(core.settle(core.clientDisconnected("a").actions) == ["grant w2"])
        #expect(!core.isConnected("b"))
        #expect(core.isConnected("c"))
        // The cancelled caller's own clean-up finds nothing left.
        #expect(core.waiterCancelled(id1) == false)
        core.expectConsistent()
    }

    @Test("a cancelled waiter's clean-up removes its entry and its deadline")
    func waiterCancelledRemovesEntry() throws {
        var core = try makeCore(maximumClients: 1)
        _ = try core.clientConnected("a", info: "a")
        let id = try queue(&core, "b", ClientsFakeWaiter(), deadline: 10)
        #expect(core.nextDeadline == .seconds(10))
        #expect(core.waiterCancelled(id) == true)
        #expect(core.waiterCount == 0)
        #expect(core.nextDeadline == nil)
        #expect(core.waiterCancelled(id) == false)
        core.expectConsistent()
    }

    @Test("waiters time out at their deadline, not before, in deadline order")
    func deadlines() throws {
        var core = try makeCore(maximumClients: 1)
        _ = try core.clientConnected("a", info: "a")
        let admissions = try [("b", 20), ("c", 10), ("d", 30)].map { client, deadline in
            try core.clientConnected(client, info: client, waiter: ClientsFakeWaiter(client), timeout: .seconds(deadline), now: .zero)
        }
        // Only a deadline earlier than every other wakes the loop.
        #expect(admissions.map(\.wakesDeadlineLoop) == [true, true, false])
        #expect(core.nextDeadline == .seconds(10))
        var (actions, next) = core.deadlinePassed(now: .seconds(9))
        #expect(actions.isEmpty)
        #expect(next == .seconds(10))
        (actions, next) = core.deadlinePassed(now: .seconds(20))
        #expect(core.settle(actions) == ["fail c timedOut", "fail b timedOut"])
        #expect(next == .seconds(30))
        #expect(core.waiterCount == 1)
        core.expectConsistent()
    }

    @Test("a waiter for a client that got connected meanwhile takes no slot")
    func duplicateWaiter() throws {
        var core = try makeCore(maximumClients: 1)
        _ = try core.clientConnected("a", info: "a")
        let (w1, w2, w3) = (ClientsFakeWaiter("w1"), ClientsFakeWaiter("w2"), ClientsFakeWaiter("w3"))
        _ = try queue(&core, "b", w1, deadline: 10)
        _ = try queue(&core, "b", w2, deadline: 10)
        _ = try queue(&core, "c", w3, deadline: 10)
        // One slot: w1 registers b, w2 finds b connected and updates it, w3 keeps waiting.
        #expect(core.settle(core.clientDisconnected("a").actions) == ["grant w1", "grant w2"])
        #expect(core.clientCount == 1)
        #expect(core.waiterCount == 1)
        core.expectConsistent()
    }

    // MARK: Limits

    @Test("lowering the limit keeps every client and refuses newcomers until under it")
    func loweringKeepsClients() throws {
        var core = try makeCore(maximumClients: 4)
        for client in ["a", "b", "c", "d"] { _ = try core.clientConnected(client, info: client) }
        #expect(try core.setBaseLimit(2).isEmpty)
        #expect(core.clientCount == 4)
        #expect(core.usage.effectiveLimit == 2)
        _ = core.clientDisconnected("a")
        _ = core.clientDisconnected("b")
        #expect(throws: ClientManagerError.maxClientsReached) { try core.clientConnected("e", info: "e") }
        _ = core.clientDisconnected("c")
        _ = try core.clientConnected("e", info: "e")
        #expect(core.clientCount == 2)
        #expect(core.usage.highWaterMark == 4)
        #expect(throws: ConfigurationError.self) { try core.setBaseLimit(0) }
        #expect(core.usage.baseLimit == 2)
    }

    @Test("raising the limit or relieving pressure hands the new slots to waiters at once")
    func raisingGrants() throws {
        var core = try makeCore(maximumClients: 10)
        _ = core.setPressureScale(0.1)  // effective limit 1
        _ = try core.clientConnected("a", info: "a")
        let (w1, w2) = (ClientsFakeWaiter("w1"), ClientsFakeWaiter("w2"))
        _ = try queue(&core, "b", w1, deadline: 10)
        _ = try queue(&core, "c", w2, deadline: 10)
        #expect(core.settle(core.setPressureScale(0.2)) == ["grant w1"])
        #expect(core.settle(try core.setBaseLimit(30)) == ["grant w2"])
        #expect(core.clientCount == 3)
        core.expectConsistent()
    }

    @Test("prune removes exactly the clients whose liveness check fails, with their streams")
    func prune() throws {
        var core = try makeCore(maximumClients: 3)
        for client in ["a", "b", "c"] { _ = try core.clientConnected(client, info: client) }
        try core.openStream(1, for: "a")
        try core.openStream(2, for: "b")
        try core.openStream(3, for: "b")
        let waiter = ClientsFakeWaiter("w")
        _ = try queue(&core, "d", waiter, deadline: 10)
        let removal = core.prune { client, _ in client == "a" }
        #expect(removal.clients == 2)
        #expect(removal.streams == 2)
        #expect(removal.actions == ["grant w"])
        #expect(Set(["a", "d"]).allSatisfy(core.isConnected))
        #expect(core.streamCount == 1)
        core.expectConsistent()
    }

    // MARK: Lifecycle

    @Test("run() starts once; when it stops every waiter fails with notRunning")
    func runLifecycle() throws {
        var core = try makeCore(maximumClients: 1)
        #expect(throws: ClientManagerError.alreadyRunning) { try core.runStarted(now: .zero) }
        _ = try core.clientConnected("a", info: "a")
        _ = try queue(&core, "b", ClientsFakeWaiter("w"), deadline: 10)
        #expect(core.settle(core.runStopped()) == ["fail w notRunning"])
        #expect(core.waiterCount == 0)
        #expect(core.nextDeadline == nil)
        #expect(core.lifecycle == .stopped)
        _ = try core.runStarted(now: .zero)
        core.expectConsistent()
    }

    @Test("shutdown removes everything, fails waiters, and refuses later calls")
    func shutdown() throws {
        var core = try makeCore(maximumClients: 1)
        _ = try core.clientConnected("a", info: "a")
        try core.openStream(1, for: "a")
        _ = try queue(&core, "b", ClientsFakeWaiter("w"), deadline: 10)
        let removal = core.shutdownCounting()
        #expect(removal.clients == 1)
        #expect(removal.streams == 1)
        #expect(removal.actions == ["fail w shutdown"])
        core.expectConsistent()
        #expect(throws: ClientManagerError.shutdown) { try core.clientConnected("c", info: "c") }
        #expect(throws: ClientManagerError.shutdown) { try core.openStream(2, for: "a") }
        #expect(throws: ClientManagerError.shutdown) { try core.runStarted(now: .zero) }
        #expect(core.clientDisconnected("a").removed == nil)
        let again = core.shutdownCounting()
        #expect(again.clients == 0 && again.streams == 0 && again.actions.isEmpty)
        #expect(core.runStopped().isEmpty)
        #expect(core.lifecycle == .shutDown)
    }

    // MARK: Configuration

    @Test("bad configuration names the field and the rule")
    func configurationErrors() {
        func field(_ configuration: ClientManagerConfiguration) -> String? {
            do {
                try configuration.validate()
                return nil
            } catch {
                return error.field
            }
        }
        #expect(field(ClientManagerConfiguration()) == nil)
        #expect(field(ClientManagerConfiguration(maximumClients: 0)) == "maximumClients")
        #expect(field(ClientManagerConfiguration(maximumStreamsPerClient: 0)) == "maximumStreamsPerClient")
        #expect(field(ClientManagerConfiguration(maximumWaiters: -1)) == "maximumWaiters")
        #expect(field(ClientManagerConfiguration(waitTimeout: .zero)) == "waitTimeout")
        #expect(field(ClientManagerConfiguration(maximumWaiters: 0)) == nil)
        #expect(throws: ConfigurationError.self) {
            try TestClientCore(configuration: ClientManagerConfiguration(maximumClients: -5))
        }
    }

    @Test("the admission policy resolves its timeout; zero or less does not wait")
    func admissionTimeouts() {
        let configuration = ClientManagerConfiguration(waitTimeout: .seconds(7))
        #expect(ClientAdmission.reject.timeout(in: configuration) == nil)
        #expect(ClientAdmission.wait.timeout(in: configuration) == .seconds(7))
        #expect(ClientAdmission.wait(upTo: .seconds(2)).timeout(in: configuration) == .seconds(2))
        #expect(ClientAdmission.wait(upTo: .zero).timeout(in: configuration) == nil)
        #expect(ClientAdmission.wait(upTo: .seconds(-1)).timeout(in: configuration) == nil)
    }

    @Test("every error says what to do and maps to its rejection reason")
    func errors() {
        let all: [ClientManagerError] = [
            .maxClientsReached, .waitersLimitReached, .timedOut, .cancelled, .notRunning, .alreadyRunning,
            .shutdown, .unknownClient, .maxStreamsReached, .streamOwnedByAnotherClient,
        ]
        #expect(Set(all).count == all.count)
        #expect(Set(all.map(\.description)).count == all.count)
        #expect(ClientManagerError.maxClientsReached.rejectionReason == .limitReached)
        #expect(ClientManagerError.waitersLimitReached.rejectionReason == .waitersLimitReached)
        #expect(ClientManagerError.timedOut.rejectionReason == .waitTimedOut)
        #expect(ClientManagerError.maxStreamsReached.rejectionReason == .streamLimitReached)
        #expect(ClientManagerError.unknownClient.rejectionReason == nil)
    }
}

extension ClientManagerCore {
    func isConnected(_ client: ClientID) -> Bool { info(for: client) != nil }
}
