/// A bounded pool of connections to other mesh nodes, keyed by node ID, with exact
/// least-recently-used eviction (the seed's `macula_gateway_mesh`). Run ``run()`` beside it.
///
/// - A **hit** marks the entry most recently used; a dead entry found on a hit is closed and
///   replaced.
/// - A **miss** calls the factory in a task the pool owns, shared by every concurrent caller for
///   the node (one call; the same connection or the same error for all). On success the
///   connection is inserted, evicting and closing the least recently used idle entry when the pool
///   is full; a failed connect changes nothing. A caller cancelled while it waits returns at once
///   with ``ConnectionPoolError/cancelled``; the connect goes on for the others.
/// - **Slots.** In-flight connects plus leased entries never exceed the limit. A miss, or a lease
///   on an idle entry, that finds no free slot waits in FIFO order, at most
///   ``ConnectionPoolConfiguration/maximumWaiters`` callers, until
///   ``ConnectionPoolConfiguration/waitTimeout`` after its arrival; ``run()`` enforces that
///   deadline (see ``run()`` for start order).
/// - **Closing.** Every connection that leaves the pool is closed exactly once, after the state
///   changed; ``remove(_:)`` and ``shutdown()`` cancel the connects they abandon.
///
/// - Important: ``connection(to:)`` hands out a connection without a lease: a later eviction may
///   close it under its holder. Use ``withConnection(to:isolation:_:)`` to keep it open.
public final actor ConnectionPool<NodeID: Hashable & Sendable, Connection: PooledConnection>: MemoryManaged {
    /// Opens a connection to a node, in a task the pool owns: no caller's cancellation reaches
    /// it; ``remove(_:)`` and ``shutdown()`` cancel it when they abandon its result. Called once
    /// per miss however many callers share it. What it throws reaches every waiting caller as
    /// ``ConnectionPoolError/connectFailed``.
    ///
    /// - Important: It starts on the pool's executor and stays there until it first suspends:
    ///   keep its synchronous part short, or write `{ @concurrent node in … }`. A method passed by
    ///   reference keeps its own isolation; declare it `nonisolated(nonsending)` to spare a hop.
    ///   The pool puts no deadline on it: give it its own timeout.
    public typealias Factory = nonisolated(nonsending) @Sendable (NodeID) async throws -> Connection

    /// What the pool knows about one node (the seed's `get_connection_info`).
    public enum EntryInfo: Sendable {
        /// An established connection and its ``withConnection(to:isolation:_:)`` leases.
        case connected(Connection, leases: Int)
        /// A connect in flight and the callers waiting for it (0 when all were cancelled).
        case connecting(waitingCallers: Int)
    }

    @usableFromInline typealias Core = ConnectionPoolCore<NodeID, Connection, Waiter<Void>>
    @usableFromInline typealias Lease = ConnectionPoolLease

    /// The name used in metrics and logs: ``ConnectionPoolConfiguration/componentName``.
    public nonisolated let componentName: String
    /// The configuration the pool was created with.
    public nonisolated let configuration: ConnectionPoolConfiguration

    @usableFromInline let clock: ComponentClock
    @usableFromInline let metrics: any MemoryMetrics
    @usableFromInline let logHandler: any ComponentLogHandler
    @usableFromInline let factory: Factory
    @usableFromInline var core: Core
    let signal = DeadlineSignal()
    /// The tasks of connects in flight. Invariant: a task is here from its start until it ends,
    /// unless it ended before its start returned; then its ID is in `endedEarly` until the start
    /// returns. Only an outermost start runs its task at once, so at most one ID is there.
    @usableFromInline var connectTasks: [Core.ConnectID: Task<Void, Never>] = [:]
    @usableFromInline var endedEarly: Core.ConnectID?
    /// Connect starts on the stack; a nested one is enqueued, not run at once.
    @usableFromInline var startDepth = 0

    /// Creates a pool.
    /// - Parameters:
    ///   - configuration: the limits, the waiting deadline and the component name.
    ///   - clock: the clock of the waiting deadlines.
    ///   - metrics: where removals, rejections and events go.
    ///   - log: receives the warning that callers wait for a `run()` that has not started.
    ///   - factory: opens a connection to a node; see ``Factory``.
    /// - Throws: ``ConfigurationError`` naming the field that breaks its rule.
    public init(
        configuration: ConnectionPoolConfiguration = .init(),
        clock: some Clock<Duration> = ContinuousClock(),
        metrics: any MemoryMetrics = NoMemoryMetrics(),
        log: any ComponentLogHandler = NoComponentLog(),
        factory: @escaping Factory
    ) throws(ConfigurationError) {
        try configuration.validate()
        self.core = try Core(
            maximumConnections: configuration.maximumConnections,
            maximumWaiters: configuration.maximumWaiters,
            waitTimeout: configuration.waitTimeout
        )
        self.componentName = configuration.componentName
        self.configuration = configuration
        self.clock = ComponentClock(clock)
        self.metrics = metrics
        self.logHandler = log
        self.factory = factory
    }

    /// Returns the connection to `node`, connecting when the pool has none (the seed's
    /// `get_or_create_connection`).
    ///
    /// - Parameter node: the node to connect to.
    /// - Returns: the connection, not leased.
    /// - Throws: ``ConnectionPoolError``: `connectFailed` (with the factory's error), `timedOut`,
    ///   `waitersLimitReached`, `limitReached`, `notRunning`, `cancelled`, `nodeRemoved`, `shutdown`.
    /// - Complexity: O(1); O(log w) to queue among w waiters.
    /// - Important: Without a lease the connection may be evicted and closed under its holder.
    @inlinable
    public func connection(to node: NodeID) async throws(ConnectionPoolError) -> Connection {
        if let connection = core.hit(node) { return connection }
        return try await acquire(node, pin: false).0
    }

    /// Runs `body` with the connection to `node`, leased: the entry is never evicted while `body`
    /// runs. The lease ends on every exit path (return, throw, cancellation) before this returns.
    ///
    /// - Parameters:
    ///   - node: the node to connect to.
    ///   - isolation: where `body` runs; the caller's actor by default.
    ///   - body: the work to do with the connection.
    /// - Returns: what `body` returns.
    /// - Throws: Before `body` runs, a ``ConnectionPoolError`` as ``connection(to:)``, and
    ///   ``ConnectionPoolError/cancelled`` when the task is cancelled first (also on entry; `body`
    ///   does not run then). Once `body` runs, exactly what `body` throws.
    /// - Complexity: as ``connection(to:)``, plus O(1) to end the lease.
    /// - Important: A lease protects from eviction, not from ``remove(_:)``, from being found
    ///   dead, or from ``shutdown()``; the lease's end is then a no-op.
    @inlinable
    public func withConnection<Value>(
        to node: NodeID,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (Connection) async throws -> Value
    ) async throws -> Value {
        if Task.isCancelled { throw ConnectionPoolError.cancelled }
        let (connection, lease) = try await acquire(node, pin: true)
        let value: Value
        do {
            value = try await body(connection)
        } catch {
            if let lease { await release(lease) }
            throw error
        }
        if let lease { await release(lease) }
        return value
    }

    @inlinable
    func release(_ lease: Lease) async {
        await perform(core.leaseReleased(lease))
    }

    @inlinable
    func acquire(_ node: NodeID, pin: Bool) async throws(ConnectionPoolError) -> (Connection, Lease?) {
        let waiter = Waiter<Void>()
        let (requested, actions) = core.request(
            node, pin: pin, token: waiter, now: clock.now, isCancelled: Task.isCancelled)
        let id: Core.RequestID
        switch requested {
        case .connected(let connection, let lease):
            await perform(actions)
            return (connection, lease)
        case .failed(let error):
            await perform(actions)
            throw error
        case .waits(let request, let connect):
            // Started before anything here can suspend, so that remove and shutdown find its task.
            if let connect { startConnect(connect, to: node) }
            await perform(actions)
            id = request
        }
        let delivered = await waiter.wait() != nil
        let (outcome, cleanup) = core.callerResumed(id, node: node, delivered: delivered)
        await perform(cleanup)
        return try outcome.get()
    }

    /// Closes and removes `node`'s connection, even if leased, or abandons the connect in flight
    /// to it (its callers get ``ConnectionPoolError/nodeRemoved``, its task is cancelled, what it
    /// produces is closed). Callers waiting for a slot stay.
    /// - Parameter node: the node to forget. An unknown node is a no-op.
    /// - Returns: whether there was an entry or a connect to remove.
    /// - Complexity: O(1), plus O(k) for k callers of an abandoned connect.
    @discardableResult
    public func remove(_ node: NodeID) async -> Bool {
        let (removed, actions) = core.remove(node)
        await perform(actions)
        return removed
    }

    /// Every established connection, leased ones first, each group most recently used first (the
    /// seed's `list_connections`). - Complexity: O(n).
    public func connections() -> [(node: NodeID, connection: Connection)] {
        core.connections()
    }

    /// How many callers wait for a free slot now. - Complexity: O(1).
    public var waiterCount: Int { core.waiterCount }

    /// What the pool knows about `node`, nil when nothing (the seed's `get_connection_info`).
    /// - Complexity: O(1).
    public func info(for node: NodeID) -> EntryInfo? {
        switch core.state(of: node) {
        case .established(let connection, let leases): .connected(connection, leases: leases)
        case .connecting(let waitingCallers): .connecting(waitingCallers: waitingCallers)
        case nil: nil
        }
    }

    /// Established connections, limits, pressure scale and high-water mark. Logs the one-time
    /// ``ComponentLogEvent/Kind/runNotStarted`` warning when callers waiting for a `run()` that
    /// never started are overdue.
    /// - Complexity: O(1).
    public func memoryUsage() -> MemoryUsage {
        let (usage, overdue) = core.usage(now: clock.now)
        if let overdue { logHandler.warnRunNotStarted(component: componentName, overdueBy: overdue) }
        return usage
    }

    /// Sets the base limit (``ConnectionPoolConfiguration/maximumConnections``). Below the number
    /// of connections, least recently used idle entries are closed at once (reason `evicted`),
    /// leased ones as their leases end, and no connect starts until there is room. Raising it
    /// lets waiting callers through.
    /// - Parameter limit: the new base limit, 1…2,147,483,647.
    /// - Throws: ``ConfigurationError`` naming `maximumConnections`; nothing changes then.
    /// - Complexity: O(k) for k entries closed.
    public func setLimit(_ limit: Int) async throws(ConfigurationError) {
        await perform(try core.setBaseLimit(limit))
    }

    /// Sets the pressure scale; as ``setLimit(_:)``, with reason `pressure` for what it closes.
    /// - Parameter scale: in (0, 1]; clamped (see ``MemoryBudget/setPressureScale(_:)``).
    /// - Complexity: O(k) for k entries closed.
    public func setPressureScale(_ scale: Double) async {
        await perform(core.setPressureScale(scale))
    }

    /// Closes and removes every connection that is no longer alive (leased ones too).
    /// - Returns: how many were removed. - Complexity: O(n).
    public func prune() async -> Int {
        let (count, actions) = core.prune()
        await perform(actions)
        return count
    }

    /// Closes and removes `node`'s connection if it is no longer alive (leased or not), as
    /// ``prune()`` does for every entry: call it when a connection reports its own death (a
    /// channel's close future), so its slot frees at once, not on the next hit.
    /// - Parameter node: the node whose connection to check; unknown or connecting is a no-op.
    /// - Returns: whether it was removed. - Complexity: O(1).
    public func prune(_ node: NodeID) async -> Bool {
        let (removed, actions) = core.prune(node)
        await perform(actions)
        return removed
    }

    /// Enforces the waiting deadlines until the calling task is cancelled; then fails every
    /// caller still waiting for a slot with ``ConnectionPoolError/notRunning`` and returns. May be
    /// called again after it returns; until then a caller that would wait gets `notRunning`.
    ///
    /// Start order does not matter: callers that waited before it started still wait, and those
    /// already past their deadline fail at once with ``ConnectionPoolError/timedOut``, in
    /// deadline order, with the one-time ``ComponentLogEvent/Kind/runNotStarted`` warning. Hits
    /// and misses that find a free slot never need it.
    /// - Throws: ``ConnectionPoolError/alreadyRunning`` when another `run()` is running,
    ///   ``ConnectionPoolError/shutdown`` after ``shutdown()``. Cancellation is not an error.
    public func run() async throws(ConnectionPoolError) {
        switch core.runStarted(now: clock.now) {
        case .rejected(let error):
            throw error
        case .started(let overdue):
            if let overdue { logHandler.warnRunNotStarted(component: componentName, overdueBy: overdue) }
        }
        await runDeadlineLoop(clock: clock, signal: signal) { now in
            let (actions, next) = core.deadlinePassed(now: now)
            await perform(actions)
            return next
        }
        await perform(core.runStopped())
    }

    /// Closes every connection (leased ones too), fails every waiting caller with
    /// ``ConnectionPoolError/shutdown``, cancels every connect in flight and waits for its task:
    /// when it returns, every connection the pool made is closed. Later calls fail with
    /// `shutdown`; calling it again waits for the same tasks.
    /// - Complexity: O(n + w), plus the time the factories take to return once cancelled.
    /// - Important: A factory that ignores cancellation delays the return until it finishes.
    public func shutdown() async {
        await perform(core.shutdown())
        await waitForConnectTasks()
    }

    @usableFromInline
    func wakeDeadlineLoop() {
        signal.signal()
    }

    /// Returns once every connect task has finished, including the closes it carried out.
    func waitForConnectTasks() async {
        while let (_, task) = connectTasks.first {
            await task.value
        }
    }

    /// What is left for callers, for tests: empty when no call is in progress.
    func callerStateLeftOver() -> [String] {
        var problems: [String] = []
        if core.callerCount > 0 { problems.append("\(core.callerCount) callers never came back") }
        if let endedEarly { problems.append("connect \(endedEarly) ended but its start never returned") }
        return problems
    }
}

extension ConnectionPool.EntryInfo: Equatable where Connection: Equatable {}
extension ConnectionPool.EntryInfo: Hashable where Connection: Hashable {}
