/// Tracks a gateway's connected clients and the streams each one has open, bounded by
/// ``ClientManagerConfiguration``: at the limit a newcomer is refused, or waits first come first
/// served up to a deadline that ``run()`` enforces; a client's streams go with it. Behavior and
/// metrics: `architecture/memory_management_client_limits.md`.
public final actor ClientManager<
    ClientID: Hashable & Sendable,
    ClientInfo: Sendable,
    StreamID: Hashable & Sendable
>: MemoryManaged {
    /// What ``clientDisconnected(_:)`` removed.
    public typealias Disconnection = ClientDisconnection<ClientID, ClientInfo, StreamID>
    /// Tells whether a client is still alive; ``prune()`` removes those for which it returns false.
    public typealias LivenessCheck = @Sendable (ClientID, ClientInfo) -> Bool

    @usableFromInline
    typealias Core = ClientManagerCore<ClientID, ClientInfo, StreamID>

    /// The name used in metrics: ``ClientManagerConfiguration/componentName``.
    public nonisolated let componentName: String
    /// The configuration the manager was created with; the limit may have changed since.
    public nonisolated let configuration: ClientManagerConfiguration

    @usableFromInline var core: Core
    private let clock: ComponentClock
    @usableFromInline let report: Reporter
    private let isAlive: LivenessCheck?
    private let signal = DeadlineSignal()

    /// Creates a manager.
    /// - Parameters:
    ///   - configuration: limits, waiting and the metrics name.
    ///   - clock: the clock ``run()`` enforces waiting deadlines on.
    ///   - metrics: receives rejections, removals and removed streams.
    ///   - log: receives the warning that callers wait for a `run()` that has not started.
    ///   - isAlive: the liveness check ``prune()`` uses (none: it removes nothing); it runs inside
    ///     the actor and must not block.
    /// - Throws: ``ConfigurationError`` naming the field that breaks its rule.
    public init(
        configuration: ClientManagerConfiguration = .init(),
        clock: some Clock<Duration> = ContinuousClock(),
        metrics: any MemoryMetrics = NoMemoryMetrics(),
        log: any ComponentLogHandler = NoComponentLog(),
        isAlive: LivenessCheck? = nil
    ) throws(ConfigurationError) {
        self.core = try Core(configuration: configuration)
        self.componentName = configuration.componentName
        self.configuration = configuration
        self.clock = ComponentClock(clock)
        self.report = Reporter(component: configuration.componentName, metrics: metrics, log: log)
        self.isAlive = isAlive
    }

    /// How many clients are connected. - Complexity: O(1).
    @inlinable public var clientCount: Int { core.clientCount }

    /// How many streams are open, over all clients. - Complexity: O(1).
    @inlinable public var streamCount: Int { core.streamCount }

    /// How many callers are waiting for a slot. - Complexity: O(1).
    public var waiterCount: Int { core.waiterCount }

    /// Whether `client` is connected. - Complexity: O(1).
    @inlinable public func isConnected(_ client: ClientID) -> Bool { core.info(for: client) != nil }

    /// The info `client` was last registered with, or nil. - Complexity: O(1).
    @inlinable public func info(for client: ClientID) -> ClientInfo? { core.info(for: client) }

    /// The streams `client` has open, in no particular order. - Complexity: O(1), copy on write.
    @inlinable public func streams(for client: ClientID) -> [StreamID] { core.streams(for: client) }

    /// The client `stream` belongs to, or nil when it is not open. - Complexity: O(1).
    @inlinable public func client(for stream: StreamID) -> ClientID? { core.client(for: stream) }

    /// Registers `client`, refusing it when the manager is full; a connected client gets its info
    /// updated and is never refused.
    /// - Parameters:
    ///   - client: the client's identity.
    ///   - info: what the gateway keeps about it.
    /// - Throws: ``ClientManagerError/maxClientsReached``, ``ClientManagerError/shutdown``.
    /// - Complexity: O(1).
    @inlinable
    public func clientConnected(_ client: ClientID, info: ClientInfo) throws(ClientManagerError) {
        do {
            _ = try core.clientConnected(client, info: info)
        } catch {
            recordRejection(error)
            throw error
        }
    }

    /// Registers `client`, waiting first come first served for a free slot when `admission` says
    /// so and the manager is full.
    /// - Parameters:
    ///   - client: the client's identity.
    ///   - info: what the gateway keeps about it.
    ///   - admission: whether and how long to wait.
    /// - Throws: ``ClientManagerError``: `maxClientsReached` (it may not wait), `waitersLimitReached`,
    ///   `timedOut`, `notRunning`, `cancelled` (nothing was registered or queued), `shutdown`.
    /// - Complexity: O(log w) for w waiters (the deadline heap); O(1) without waiting.
    public func clientConnected(
        _ client: ClientID, info: ClientInfo, admission: ClientAdmission
    ) async throws(ClientManagerError) {
        _ = try await register(client, info: info, admission: admission)
    }

    /// Removes `client` and exactly its streams, in one step; the freed slot goes to the oldest
    /// waiter. An unknown client is a no-op.
    /// - Parameter client: the client that disconnected.
    /// - Returns: what was removed, or nil when `client` was not connected.
    /// - Complexity: O(s) for the client's s streams (plus O(log w) when a waiter gets its slot).
    @inlinable @discardableResult
    public func clientDisconnected(_ client: ClientID) -> Disconnection? {
        let (removed, actions) = core.clientDisconnected(client)
        if let removed { recordDisconnection(removed) }
        if !actions.isEmpty { perform(actions) }
        return removed
    }

    /// Registers `client` for the duration of `body` and removes it, with all its streams, however
    /// `body` ends; the removal is awaited before this returns. Only the latest registration of a
    /// client owns it: if the client was disconnected, or registered again elsewhere, during `body`,
    /// the end of `body` leaves it alone.
    /// - Parameters:
    ///   - client: the client's identity.
    ///   - info: what the gateway keeps about it.
    ///   - admission: what to do when the manager is full; refuse by default.
    ///   - body: the client's work; it runs in the caller's isolation.
    /// - Returns: what `body` returns.
    /// - Throws: before `body` runs, what ``clientConnected(_:info:admission:)`` throws; then
    ///   exactly what `body` throws.
    /// - Complexity: as ``clientConnected(_:info:admission:)``, plus O(s) for s streams at the end.
    public nonisolated(nonsending) func withClient<Value>(
        _ client: ClientID,
        info: ClientInfo,
        admission: ClientAdmission = .reject,
        _ body: () async throws -> Value
    ) async throws -> Value {
        if Task.isCancelled { throw ClientManagerError.cancelled }
        let registration = try await register(client, info: info, admission: admission)
        let outcome: Result<Value, any Error>
        do {
            outcome = .success(try await body())
        } catch {
            outcome = .failure(error)
        }
        await registrationEnded(client, registration: registration)
        return try outcome.get()
    }

    /// Opens `stream` for `client`. Opening a stream the client already has is a no-op.
    /// - Parameters:
    ///   - stream: the stream's identity; unique across clients.
    ///   - client: the connected client that owns it.
    /// - Throws: ``ClientManagerError``: `unknownClient`, `streamOwnedByAnotherClient`,
    ///   `maxStreamsReached`, `shutdown`; nothing changes then.
    /// - Complexity: O(1).
    @inlinable
    public func openStream(_ stream: StreamID, for client: ClientID) throws(ClientManagerError) {
        do {
            try core.openStream(stream, for: client)
        } catch {
            recordRejection(error)
            throw error
        }
    }

    /// Closes `stream`.
    /// - Parameter stream: the stream to close.
    /// - Returns: false, a no-op, when it is not open.
    /// - Complexity: O(1).
    @inlinable @discardableResult
    public func closeStream(_ stream: StreamID) -> Bool {
        core.closeStream(stream)
    }

    /// Enforces the waiters' deadlines until its task is cancelled, then fails the callers still
    /// waiting with ``ClientManagerError/notRunning``. May be called again after it returns.
    /// - Throws: ``ClientManagerError/alreadyRunning`` when another `run()` is active;
    ///   ``ClientManagerError/shutdown`` after ``shutdown()``. Cancellation is not an error.
    public func run() async throws(ClientManagerError) {
        perform(try core.runStarted(now: clock.now))
        await runDeadlineLoop(clock: clock, signal: signal) { now in
            let (actions, next) = core.deadlinePassed(now: now)
            perform(actions)
            return next
        }
        perform(core.runStopped())
    }

    /// Removes every client with its streams (reason `shutdown`) and fails every waiter; later
    /// registrations throw ``ClientManagerError/shutdown``. A second call does nothing.
    /// - Complexity: O(n + s + w) for n clients, s streams and w waiters.
    public func shutdown() {
        perform(core.shutdown())
    }

    /// - Returns: the client's registration.
    private func register(
        _ client: ClientID, info: ClientInfo, admission: ClientAdmission
    ) async throws(ClientManagerError) -> UInt64 {
        guard let timeout = admission.timeout(in: configuration) else {
            do {
                return try core.clientConnected(client, info: info)
            } catch {
                recordRejection(error)
                throw error
            }
        }
        if Task.isCancelled { throw .cancelled }
        let waiter = Waiter<Core.Outcome>()
        let admitted: Core.Admission
        do {
            admitted = try core.clientConnected(client, info: info, waiter: waiter, timeout: timeout, now: clock.now)
        } catch {
            recordRejection(error)
            throw error
        }
        switch admitted {
        case .registered(let registration):
            return registration
        case .queued(let id, let actions):
            perform(actions)
            guard let outcome = await waiter.wait() else {
                // Cancelled: its entry is still in the core.
                core.waiterCancelled(id)
                throw .cancelled
            }
            return try outcome.get()
        }
    }

    private func registrationEnded(_ client: ClientID, registration: UInt64) {
        let (removed, actions) = core.registrationEnded(client, registration: registration)
        if let removed { recordDisconnection(removed) }
        perform(actions)
    }

    @usableFromInline
    func perform(_ actions: [Core.Action]) {
        var actions = actions
        var index = 0
        while index < actions.count {
            switch actions[index] {
            case .offer(let waiter):
                actions += core.answerOffer(claimed: waiter.claim())
            case .resume(let waiter, let outcome, let rejection):
                if waiter.finish(outcome), let rejection { report(.rejected(rejection)) }
            case .report(let item):
                report(item)
            case .wakeDeadlineLoop:
                signal.signal()
            }
            index += 1
        }
    }

    @usableFromInline
    func recordRejection(_ error: ClientManagerError) {
        if let reason = error.rejectionReason { report(.rejected(reason)) }
    }

    @usableFromInline
    func recordDisconnection(_ removed: Disconnection) {
        report(.removed(1, .disconnected))
        report(.event(.streamsRemoved, removed.streams.count))
    }
}

extension ClientManager {
    /// The number of connected clients, the limits and the high-water mark.
    /// - Complexity: O(1).
    public func memoryUsage() -> MemoryUsage {
        let (usage, warning) = core.usage(now: clock.now)
        if let warning { report(warning) }
        return usage
    }

    /// Sets the operator's client limit; raising it hands new slots to waiters, lowering it removes
    /// no client.
    /// - Parameter limit: the new base limit; at least 1.
    /// - Throws: ``ConfigurationError`` when `limit < 1`; nothing changes.
    /// - Complexity: O(1), plus O(log w) per waiter served.
    public func setLimit(_ limit: Int) throws(ConfigurationError) {
        perform(try core.setBaseLimit(limit))
    }

    /// Sets the pressure scale; the effective limit is `max(1, ⌊limit × scale⌋)`.
    /// - Complexity: O(1), plus O(log w) per waiter served.
    public func setPressureScale(_ scale: Double) {
        perform(core.setPressureScale(scale))
    }

    /// Removes every client whose liveness check fails, with its streams (reason `dead`).
    /// - Returns: how many clients were removed.
    /// - Complexity: O(n) checks for n clients, plus O(s) for the s streams removed.
    public func prune() -> Int {
        guard let isAlive else { return 0 }
        let (removed, actions) = core.removeDead(core.connected.filter { !isAlive($0.0, $0.1) }.map(\.0))
        perform(actions)
        return removed
    }
}
