/// A bounded pool of connections to other mesh nodes, keyed by node ID, with exact
/// least-recently-used eviction (the seed's `macula_gateway_mesh`).
///
/// ```swift
/// let pool = try ConnectionPool(configuration: .init(maximumConnections: 1_000)) { (node: NodeID) in
///     try await MeshConnection.open(to: node)
/// }
///
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { try await pool.run() }          // drives the waiting deadlines
///     try await pool.withConnection(to: peer) { connection in
///         try await connection.send(message)          // never evicted while leased
///     }
///     …
/// }
/// await pool.shutdown()
/// ```
///
/// - **Hits** (``connection(to:)`` for a node with a live entry) mark the entry most recently used,
///   read no clock and take no lock besides the actor. A dead entry found on a hit is closed,
///   removed and replaced by a new connection.
/// - **Misses** call the factory. Concurrent misses for one node share one connect: one factory
///   call, and every caller gets the same connection or the same error. When the connect
///   succeeds the connection is inserted; if the pool is then over its limit, the least recently
///   used idle entry is evicted and closed in the same step. Nothing is evicted before a connect
///   succeeds: a failed connect leaves the pool exactly as it was.
/// - **Slots.** At most ``ConnectionPoolConfiguration/maximumConnections`` connections are established, and
///   in-flight connects plus leased entries never exceed it either (so a completing connect always
///   finds room). A miss, or a lease on an idle entry, that finds no free slot waits in FIFO order
///   with a deadline (``ConnectionPoolConfiguration/waitTimeout``), in a bounded queue
///   (``ConnectionPoolConfiguration/maximumWaiters``). ``run()`` enforces the deadlines: a caller
///   that must wait before `run()` has started is accepted and its deadline, counted from its
///   arrival, is enforced as soon as `run()` runs; once a `run()` has returned, such a caller gets
///   ``ConnectionPoolError/notRunning`` at once.
/// - **Closing.** Every connection that leaves the pool (evicted, removed, found dead, shed under
///   pressure, shut down, or produced by a connect nobody wants any more) is closed exactly once,
///   after the pool's state has changed.
///
/// ## The shared connect and cancellation
/// A connect runs in a task of its own, owned by the pool, never in a caller's task: the factory
/// never sees a caller's cancellation, so a caller cancelled while it waits returns at once with
/// ``ConnectionPoolError/cancelled`` and the connect goes on for everyone else waiting for it (and
/// if nobody is left, its connection still enters the pool as an idle entry). The task starts
/// synchronously on the pool's executor (`Task.immediate` where available), so a factory that
/// does not suspend costs no extra scheduling. The pool keeps each task's handle:
/// ``remove(_:)`` and ``shutdown()`` cancel the connects they abandon, and ``shutdown()`` waits
/// for every connect task to finish, closing whatever they produce.
///
/// - Important: ``connection(to:)`` hands out a connection without a lease: a later eviction may
///   close it under its holder. Use ``withConnection(to:isolation:_:)`` to keep it open for a
///   piece of work.
public final actor ConnectionPool<NodeID: Hashable & Sendable, Connection: PooledConnection>: MemoryManaged {
    /// Opens a connection to a node. It runs in a task the pool owns (never in a caller's task),
    /// so no caller's cancellation reaches it; ``remove(_:)`` and ``shutdown()`` cancel it when
    /// they abandon its result. The pool calls it once per miss, however many callers share that
    /// miss. It throws to fail the connect; every caller waiting for it gets
    /// ``ConnectionPoolError/connectFailed`` carrying the error.
    ///
    /// - Important: It is `nonisolated(nonsending)`: it starts on the pool's executor and stays
    ///   there until it first suspends (a network connect suspends at once), which spares a
    ///   thread hop per connect. Keep its synchronous part short, or write the closure as
    ///   `{ @concurrent node in … }` to run it on the global executor. The pool puts no deadline
    ///   on it: give it its own timeout.
    /// - Note: A closure literal is `nonisolated(nonsending)` here by itself; a method passed by
    ///   reference (`factory: dialer.connect`) keeps its own isolation, and a plain `async`
    ///   method is `@concurrent` unless its module enables `NonisolatedNonsendingByDefault`:
    ///   declare it `nonisolated(nonsending)` to spare the hop.
    public typealias Factory = nonisolated(nonsending) @Sendable (NodeID) async throws -> Connection

    /// What the pool knows about one node (the seed's `get_connection_info`).
    public enum EntryInfo: Sendable {
        /// An established connection, and how many ``withConnection(to:isolation:_:)`` leases it
        /// has now (a leased entry is never evicted).
        case connected(Connection, leases: Int)
        /// A connect is in flight; `waitingCallers` callers wait for it (0 when all of them were
        /// cancelled: the connection will enter the pool as an idle entry).
        case connecting(waitingCallers: Int)
    }

    @usableFromInline typealias Core = ConnectionPoolCore<NodeID, Connection, Waiter>
    @usableFromInline typealias Lease = ConnectionPoolLease

    /// The name used in metrics and logs: ``ConnectionPoolConfiguration/componentName``.
    public nonisolated let componentName: String
    /// The configuration the pool was created with (the limit may have changed since; see
    /// ``memoryUsage()``).
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
    /// How many connect starts are on the stack; nested starts are enqueued, not run at once.
    @usableFromInline var startDepth = 0

    /// Creates a pool.
    /// - Parameters:
    ///   - configuration: the limits, the waiting deadline and the component name.
    ///   - clock: the clock the waiting deadlines are measured on; the continuous clock by default.
    ///   - metrics: where removals, rejections and events go.
    ///   - log: receives the warning that callers wait for a `run()` that has not started.
    ///   - factory: opens a connection to a node; see ``Factory``.
    /// - Throws: ``ConfigurationError`` naming the field when the configuration breaks a rule.
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

    // MARK: Getting connections

    /// Returns the connection to `node`, connecting when the pool has none (the seed's
    /// `get_or_create_connection`).
    ///
    /// On a hit the entry becomes the most recently used; a dead entry is closed, removed and
    /// replaced. On a miss the caller waits for the connect (shared with every concurrent caller
    /// for the same node), first for a free slot if the pool has none.
    ///
    /// - Parameter node: the node to connect to.
    /// - Returns: the connection, not leased.
    /// - Throws: ``ConnectionPoolError``: ``ConnectionPoolError/connectFailed`` (with the
    ///   factory's error), ``ConnectionPoolError/timedOut``, ``ConnectionPoolError/waitersLimitReached``,
    ///   ``ConnectionPoolError/limitReached``, ``ConnectionPoolError/notRunning`` (it would have to
    ///   wait and a `run()` has returned), ``ConnectionPoolError/cancelled`` (the task was cancelled
    ///   while it waited), ``ConnectionPoolError/nodeRemoved``, ``ConnectionPoolError/shutdown``.
    /// - Complexity: O(1) for a hit and for the bookkeeping of a miss; O(log w) to queue among w
    ///   waiters.
    /// - Important: Without a lease, the connection may be evicted and closed under its holder
    ///   when other nodes' connections push it out. Use ``withConnection(to:isolation:_:)`` to
    ///   hold it.
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
    /// - Throws: Before `body` runs, a ``ConnectionPoolError`` when no connection could be had (as
    ///   ``connection(to:)``); ``ConnectionPoolError/cancelled`` when the task is cancelled before
    ///   the connection is had, including when it is already cancelled on entry (`body` does not
    ///   run then). Once `body` runs, exactly what `body` throws, unchanged: a body that throws
    ///   `CancellationError` rethrows it. ``ClientManager/withClient(_:info:admission:_:)`` reports
    ///   errors the same way.
    /// - Complexity: as ``connection(to:)``, plus O(1) to end the lease.
    /// - Important: A lease protects the entry from eviction (least recently used, limit lowered,
    ///   memory pressure), not from ``remove(_:)``, from being found dead, or from ``shutdown()``:
    ///   those close the connection at once, and the lease's end is then a no-op.
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

    /// A request through the core: one step before the caller waits, one when it runs again.
    @inlinable
    func acquire(_ node: NodeID, pin: Bool) async throws(ConnectionPoolError) -> (Connection, Lease?) {
        let waiter = Waiter()
        let (requested, actions) = core.request(
            node, pin: pin, token: waiter, now: clock.now, isCancelled: Task.isCancelled)
        await perform(actions)
        let id: Core.RequestID
        switch requested {
        case .connected(let connection, let lease): return (connection, lease)
        case .failed(let error): throw error
        case .waits(let request, let connect):
            id = request
            if let connect { startConnect(connect, to: node) }
        }
        let delivered = await waiter.wait()
        let (outcome, cleanup) = core.callerResumed(id, node: node, delivered: delivered)
        await perform(cleanup)
        return try outcome.get()
    }

    // MARK: Managing entries

    /// Closes and removes `node`'s connection, even if it is leased (the lease's end is then a
    /// no-op). A connect in flight to `node` is abandoned: its callers get
    /// ``ConnectionPoolError/nodeRemoved``, its task is cancelled, and the connection it produces,
    /// if any, is closed. Callers still waiting for a slot are not affected.
    ///
    /// - Parameter node: the node to forget. An unknown node is a no-op.
    /// - Returns: whether there was an entry or a connect to remove.
    /// - Complexity: O(1), plus O(k) for k callers of an abandoned connect.
    @discardableResult
    public func remove(_ node: NodeID) async -> Bool {
        let (removed, actions) = core.remove(node)
        await perform(actions)
        return removed
    }

    /// Every established connection, leased ones first, each group most recently used first (a
    /// leased entry counts as in use now; the seed's `list_connections`).
    /// - Returns: the nodes and their connections.
    /// - Complexity: O(n).
    public func connections() -> [(node: NodeID, connection: Connection)] {
        core.connections()
    }

    /// How many callers wait for a free slot now. - Complexity: O(1).
    public var waiterCount: Int { core.waiterCount }

    /// What the pool knows about `node` (the seed's `get_connection_info`).
    /// - Returns: nil when the pool has neither a connection to `node` nor a connect in flight.
    /// - Complexity: O(1).
    public func info(for node: NodeID) -> EntryInfo? {
        switch core.state(of: node) {
        case .established(let connection, let leases): .connected(connection, leases: leases)
        case .connecting(let waitingCallers): .connecting(waitingCallers: waitingCallers)
        case nil: nil
        }
    }

    // MARK: MemoryManaged

    /// Established connections, effective and base limit, pressure scale and high-water mark.
    /// While callers wait for a `run()` that has not started, it also checks their deadlines for
    /// the one-time ``ComponentLogEvent/Kind/runNotStarted`` warning.
    /// - Complexity: O(1).
    public func memoryUsage() -> MemoryUsage {
        let (usage, overdue) = core.usage(now: clock.now)
        if let overdue { logHandler.warnRunNotStarted(component: componentName, overdueBy: overdue) }
        return usage
    }

    /// Sets the base limit (``ConnectionPoolConfiguration/maximumConnections``). Lowering the effective limit
    /// below the number of connections closes least recently used idle entries down to it at
    /// once (reason `evicted`); leased entries above it are closed as their leases end, and no
    /// connect starts until there is room. Raising it lets waiting callers through.
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
    /// - Returns: how many were removed.
    /// - Complexity: O(n): each entry is examined once, in O(1).
    public func prune() async -> Int {
        let (count, actions) = core.prune()
        await perform(actions)
        return count
    }

    // MARK: Lifecycle

    /// Drives the waiting deadlines with one sleeper on the clock until the calling task is
    /// cancelled; then fails every caller still waiting for a slot with
    /// ``ConnectionPoolError/notRunning`` and returns. May be called again after it returns.
    ///
    /// Start order does not matter: callers that had to wait before it started are waiting still,
    /// and those already past their deadline fail at once with ``ConnectionPoolError/timedOut``,
    /// in deadline order (and the one-time ``ComponentLogEvent/Kind/runNotStarted`` warning is
    /// logged). Without it the pool serves hits and misses that find a free slot; only the
    /// deadlines of waiting callers need it.
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
    /// ``ConnectionPoolError/shutdown``, cancels every connect in flight and waits for their
    /// tasks, closing whatever they produce: when it returns, every connection the pool made is
    /// closed. Later calls fail with ``ConnectionPoolError/shutdown``; calling it again is a
    /// no-op that waits for the same tasks.
    /// - Complexity: O(n + w), plus the time the factories take to return once cancelled.
    /// - Important: A factory that ignores cancellation delays the return until it finishes.
    public func shutdown() async {
        await perform(core.shutdown())
        await waitForConnectTasks()
    }

    /// Wakes `run()`: an earlier deadline appeared.
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

    /// What is left for callers, for tests: empty when no call is in progress and every
    /// outcome was taken.
    func callerStateLeftOver() -> [String] {
        var problems: [String] = []
        if core.callerCount > 0 { problems.append("\(core.callerCount) callers never came back") }
        if let endedEarly { problems.append("connect \(endedEarly) ended but its start never returned") }
        return problems
    }
}

extension ConnectionPool.EntryInfo: Equatable where Connection: Equatable {}
extension ConnectionPool.EntryInfo: Hashable where Connection: Hashable {}
