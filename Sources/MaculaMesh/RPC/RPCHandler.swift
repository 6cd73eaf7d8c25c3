/// Calls remote procedures on the mesh (the seed's `macula_rpc_handler`): local handlers run
/// directly; otherwise the providers come from the ``ServiceRegistry`` (one shared discovery on a
/// miss), each attempt goes out through the embedder's ``RPCTransport`` with its own timeout, a
/// timed-out or unreachable provider is excluded and the next one tried, and every caller's
/// departure cleans up at once.
///
/// ## Lifecycle of a remote call
/// 1. **Providers.** The registry's cached providers of the procedure (its name is the service
///    name). On a miss the caller joins the discovery of that service — one per service, shared
///    by every concurrent caller — and waits until its own discovery deadline (its
///    `discoveryTimeout`, default the call timeout; capped by its overall deadline). The
///    providers found are cached in the registry. Waiting for discovery does not use up an
///    attempt.
/// 2. **Attempts.** The caller's own task sends the request (``RPCTransport/send(_:)``), then
///    suspends until ``handleReply(_:)`` delivers the reply with its ``RPCCallID``. When the
///    attempt's timeout passes (default 5 s) or the send throws, the provider is excluded and
///    the next one is picked (``RPCProviderStrategy``), up to `maximumAttempts` (default 3, never
///    more than there are providers). After the last, the caller gets
///    ``RPCError/attemptsExhausted`` with ``RPCError/providersTried``; an overall deadline gives
///    ``RPCError/deadlineExceeded``. Nothing stays pending.
/// 3. **Departure.** A caller whose task is cancelled leaves nothing behind: its entry, its
///    deadline and its place in a shared discovery are removed **before** its `call` returns
///    ``RPCError/cancelled``; other callers are unaffected; a reply arriving later is discarded
///    and counted (``MemoryEvent/lateReply``).
///
/// ## No task per call
/// A call runs entirely in its caller's task: the caller sends, then suspends on a continuation.
/// Every deadline (discovery waits, attempt timeouts, overall deadlines) is one entry in one
/// `DeadlineHeap`, driven by ``run()`` with one sleeper on the clock. When a deadline passes,
/// `run()` resumes the caller with its next step (send to the next provider, or fail); the
/// caller's task does the sending. Discoveries, shared by many callers, cannot belong to any one
/// caller's task (the first caller may leave while others still wait), so each runs as a child
/// task of `run()`'s task group — one per service in flight, cancelled as soon as nobody waits.
///
/// ## Cancellation
/// A cancellation handler runs outside the actor. The suspended caller's continuation is parked
/// in a small lock-guarded table; the handler takes it and resumes the caller with "cancelled" at
/// once (no `Task`, no actor hop), and the resumed `call` — back on the actor — removes its own
/// entry before it returns. Whichever of the handler and the actor takes the continuation first
/// resumes it; the core reconciles the other. A caller cancelled while its `send` runs sees it
/// when `send` returns (the transport gets the cancellation through the caller's task).
///
/// ## Sharing the registry's executor
/// The handler runs on its registry's serial executor, so a lookup, the decision to discover,
/// and caching a discovery's result happen in one step with the handler's own state, with no
/// suspension in between and no actor hop per call.
///
/// ## Memory contract
/// Size = pending calls + pending discoveries; the base limit is `maximumPendingCalls` (default
/// 10,000). At the effective limit a new call fails at once with
/// ``RPCError/tooManyPendingCalls``. Pending calls belong to live callers: a lower limit never
/// drops them, it refuses new calls until the size is under it. ``prune()`` handles whatever is
/// past its deadline now (what `run()` would do when it wakes).
///
/// - Important: remote calls need ``run()`` to enforce their deadlines. Start order does not
///   matter: a call made before `run()` has ever started is accepted, goes as far as it can (it is
///   sent to a cached provider at once; its discovery starts when `run()` does), and its deadlines,
///   counted from the call, are enforced as soon as `run()` runs. Once a `run()` has returned, a
///   remote call fails at once with ``RPCError/notRunning``. Local handlers need no `run()`.
public actor RPCHandler: MemoryManaged {
    /// The name in metrics and logs: ``RPCHandlerConfiguration/componentName``.
    public nonisolated let componentName: String
    /// The registry the providers come from and discovery results go to; its clock drives every
    /// deadline.
    public nonisolated let registry: ServiceRegistry
    /// The configuration the handler was created with.
    public nonisolated let configuration: RPCHandlerConfiguration

    // Internal, not private: the call driver and run() live in RPCHandler+Calls.swift and
    // RPCHandler+Run.swift.
    let transport: any RPCTransport
    let discovery: any RPCDiscovery
    let report: Reporter
    let wakeUp = DeadlineSignal()
    /// The discoveries running in `run()`'s task group.
    var discoveryAborts = Aborts<UInt32>()
    /// Tests waiting until a call's caller suspends (``waitUntilParked(_:)``); empty otherwise.
    var parkObservers: [RPCCallID: [Waiter<Void>]] = [:]
    var core: RPCHandlerCore
    /// The options of the last call and their resolution (validated), reused when the next call
    /// passes the same ones.
    var lastOptions: (options: RPCCallOptions, resolved: ResolvedCallOptions)?

    /// The registry's executor: see "Sharing the registry's executor" above.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { registry.unownedExecutor }

    var clock: ComponentClock { registry.clock }

    /// Creates a handler over `registry`, using its clock.
    /// - Parameters:
    ///   - configuration: timeouts, attempts, strategy, limits and the component name.
    ///   - metrics: receives calls, timeouts, failovers, cancellations, late replies.
    ///   - log: receives the warning that calls wait for a `run()` that has not started.
    ///   - registry: where providers are looked up and discovery results cached.
    ///   - transport: sends the requests.
    ///   - discovery: finds providers on a cache miss.
    /// - Throws: ``ConfigurationError`` naming the first invalid field of `configuration`.
    public init(
        configuration: RPCHandlerConfiguration = .init(),
        metrics: any MemoryMetrics = NoMemoryMetrics(),
        log: any ComponentLogHandler = NoComponentLog(),
        registry: ServiceRegistry,
        transport: any RPCTransport,
        discovery: any RPCDiscovery
    ) throws(ConfigurationError) {
        self.core = try RPCHandlerCore(configuration: configuration)
        self.registry = registry
        self.transport = transport
        self.discovery = discovery
        self.configuration = configuration
        self.report = Reporter(component: configuration.componentName, metrics: metrics, log: log)
        self.componentName = configuration.componentName
    }

    // MARK: Local handlers

    /// Registers `handler` to run calls of `procedure` on this node directly (replacing any
    /// handler registered for it before).
    /// - Parameters:
    ///   - procedure: the procedure name.
    ///   - handler: runs in the caller's task with the encoded arguments.
    /// - Throws: ``RPCError/localLimitReached`` when `procedure` is new and `maximumLocalProcedures`
    ///   handlers are registered; ``RPCError/shutdown`` after ``shutdown()``.
    /// - Complexity: O(1).
    public func register(_ procedure: String, handler: @escaping RPCLocalHandler) throws(RPCError) {
        switch core.register(procedure, handler: handler) {
        case .registered, .replaced:
            return
        case .rejectedAtLimit(let limit):
            report(.rejected(.limitReached))
            throw .localLimitReached(procedure, limit: limit)
        case .shutDown:
            throw .shutdown(procedure)
        }
    }

    /// Removes the local handler of `procedure`; later calls go to remote providers. A no-op for
    /// a procedure without one.
    /// - Returns: whether a handler was registered.
    /// - Complexity: O(1).
    @discardableResult
    public func unregister(_ procedure: String) -> Bool {
        core.unregister(procedure)
    }

    /// Delivers a provider's reply to its pending call (the seed's `handle_incoming_reply`).
    /// A reply for a call that already ended (timed out, failed, cancelled) or that never existed
    /// is discarded and counted as ``MemoryEvent/lateReply``.
    /// - Parameter reply: the reply, carrying the request's ``RPCCallID``.
    /// - Returns: whether a pending call took the reply.
    /// - Complexity: O(log n).
    @discardableResult
    public func handleReply(_ reply: RPCReply) -> Bool {
        switch core.replyReceived(reply) {
        case .resume(let resume):
            guard resume.waiter?.finish(resume.step) == true else {
                // Its caller was cancelled first: the reply is late, the entry is the caller's.
                report(.removed(1, .callerCancelled))
                report(.event(.lateReply, 1))
                return false
            }
            report(.removed(1, .replied))
            return true
        case .stored:
            return true
        case .late:
            report(.event(.lateReply, 1))
            return false
        }
    }

    // MARK: Shutdown

    /// Fails every pending call with ``RPCError/shutdown`` (a caller busy sending gets it when its
    /// send returns), cancels the discoveries, and refuses everything from now on. Calling it
    /// again is a no-op.
    /// - Complexity: O(n) for n table slots.
    public func shutdown() {
        perform(core.shutdown())
        wakeUp.signal()
    }

    // MARK: Inspection

    /// Calls pending now (waiting for a discovery, sending, or awaiting a reply).
    /// - Complexity: O(1).
    public var pendingCallCount: Int { core.callCount }

    /// Discoveries in flight now.
    /// - Complexity: O(1).
    public var pendingDiscoveryCount: Int { core.discoveries.count }

    /// Deadlines held now (at most one per pending call).
    /// - Complexity: O(1).
    public var deadlineCount: Int { core.deadlines.count }

    // MARK: MemoryManaged

    /// Size (pending calls + pending discoveries), limits and high-water mark. While calls wait
    /// for a `run()` that has not started, it also checks their deadlines for the one-time
    /// ``ComponentLogEvent/Kind/runNotStarted`` warning.
    /// - Complexity: O(1).
    public func memoryUsage() -> MemoryUsage {
        if core.awaitsRun, let overdue = core.checkOverdueBeforeRun(now: now()) {
            report(.runNotStarted(overdueBy: overdue))
        }
        return core.budget.usage(size: core.size)
    }

    /// Sets the base limit (`maximumPendingCalls`). Pending calls belong to live callers: none is
    /// dropped; new calls are refused until the size is under the new limit.
    /// - Throws: ``ConfigurationError`` naming `maximumPendingCalls` when `limit < 1`.
    /// - Complexity: O(1).
    public func setLimit(_ limit: Int) throws(ConfigurationError) {
        try core.setBaseLimit(limit)
    }

    /// Sets the pressure scale; like ``setLimit(_:)``, it only refuses new calls.
    /// - Complexity: O(1).
    public func setPressureScale(_ scale: Double) {
        core.setPressureScale(scale)
    }

    /// Handles every deadline that has passed now, as `run()` would when it wakes: timed-out
    /// discovery waits and calls fail, timed-out attempts fail over.
    /// - Returns: how many entries (calls and discoveries) were removed.
    /// - Complexity: O(k log n) for k deadlines due.
    public func prune() -> Int {
        let (effects, _) = core.deadlinesPassed(now: now(), takeStarts: false)
        perform(effects)
        return effects.removed
    }

    /// For tests (MaculaTesting's `waitUntilSuspended(_:)` makes it public): returns once the
    /// caller of `id` is suspended in the handler (waiting for its discovery or its reply).
    /// - Throws: `CancellationError` when the waiting task is cancelled first.
    package func waitUntilParked(_ id: RPCCallID) async throws(CancellationError) {
        if core.isParked(id) { return }
        let observer = Waiter<Void>()
        parkObservers[id, default: []].append(observer)
        guard await observer.wait() != nil else {
            parkObservers[id]?.removeAll { $0 === observer }
            if parkObservers[id]?.isEmpty == true { parkObservers.removeValue(forKey: id) }
            throw CancellationError()
        }
    }
}

/// Removal counts per reason for one batch of effects, reported once per reason.
struct RemovalTally {
    private var counts = (0, 0, 0, 0, 0, 0)

    subscript(removal: RPCHandlerCore.Removal) -> Int {
        switch removal {
        case .replied: counts.0
        case .timedOut: counts.1
        case .callFailed: counts.2
        case .callerCancelled: counts.3
        case .shutdown: counts.4
        case .stopped: counts.5
        }
    }

    mutating func add(_ removal: RPCHandlerCore.Removal) {
        switch removal {
        case .replied: counts.0 += 1
        case .timedOut: counts.1 += 1
        case .callFailed: counts.2 += 1
        case .callerCancelled: counts.3 += 1
        case .shutdown: counts.4 += 1
        case .stopped: counts.5 += 1
        }
    }
}
