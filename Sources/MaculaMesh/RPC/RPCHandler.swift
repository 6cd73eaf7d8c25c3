/// Calls remote procedures on the mesh: a local handler runs directly; otherwise the providers come
/// from the ``ServiceRegistry`` (one shared discovery per service on a miss), and each attempt goes
/// out through the ``RPCTransport`` with its own timeout, failing over to the next provider. A
/// cancelled caller leaves nothing pending once its `call` returns. Remote calls need ``run()``.
/// Behavior and metrics: `architecture/memory_management_caller_monitoring.md`.
public actor RPCHandler: MemoryManaged {
    /// The name in metrics and logs: ``RPCHandlerConfiguration/componentName``.
    public nonisolated let componentName: String
    /// The registry the providers come from and discovery results go to; its clock is the handler's.
    public nonisolated let registry: ServiceRegistry
    /// The configuration the handler was created with.
    public nonisolated let configuration: RPCHandlerConfiguration

    let transport: any RPCTransport
    let discovery: any RPCDiscovery
    let report: Reporter
    let wakeUp = DeadlineSignal()
    var discoveryAborts = Aborts<UInt32>()
    /// Tests waiting until a call's caller suspends; empty otherwise.
    var parkObservers: [RPCCallID: [Waiter<Void>]] = [:]
    var core: RPCHandlerCore
    /// The last call's options and their validated resolution, reused for equal options.
    var lastOptions: (options: RPCCallOptions, resolved: ResolvedCallOptions)?

    /// The registry's executor, so a lookup and the decision to discover are one step.
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

    /// Registers `handler` to run calls of `procedure` on this node, replacing any earlier one.
    /// - Parameters:
    ///   - procedure: the procedure name.
    ///   - handler: runs in the caller's task with the encoded arguments.
    /// - Throws: ``RPCError/localLimitReached``, ``RPCError/shutdown``.
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

    /// Removes the local handler of `procedure`; a no-op for a procedure without one.
    /// - Returns: whether a handler was registered.
    /// - Complexity: O(1).
    @discardableResult
    public func unregister(_ procedure: String) -> Bool {
        core.unregister(procedure)
    }

    /// Delivers a provider's reply to its pending call. A reply for a call that ended or never
    /// existed is discarded and counted as ``MemoryEvent/lateReply``.
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

    /// Reports that attempt `attempt` of `callID` failed after its send (a connection reset before
    /// the reply, a provider's 5xx): the call fails over to its next provider exactly as when that
    /// attempt times out, or fails with ``RPCError/attemptsExhausted`` or
    /// ``RPCError/deadlineExceeded`` (removal ``RemovalReason/timedOut``). Counted as
    /// ``MemoryEvent/attemptFailed`` (not `attemptTimedOut`), and ``MemoryEvent/failover`` when
    /// the call fails over. Reported while the attempt's `send` still runs, it takes effect when the
    /// send returns. A no-op for a call that ended or never existed, for an attempt that is not the
    /// call's current one (a stale report), and for an attempt already timed out, failed or
    /// answered.
    /// - Parameters:
    ///   - callID: the ``RPCRequest/callID`` of the attempt's request.
    ///   - attempt: its ``RPCRequest/attempt``.
    /// - Returns: whether the report was taken.
    /// - Complexity: O(log n).
    @discardableResult
    public func attemptFailed(_ callID: RPCCallID, attempt: Int) -> Bool {
        guard let effects = core.attemptFailed(callID, attempt: attempt, now: now()) else { return false }
        perform(effects)
        return true
    }

    /// Fails every pending call with ``RPCError/shutdown``, cancels the discoveries, and refuses
    /// everything after. A second call does nothing.
    /// - Complexity: O(n) for n table slots.
    public func shutdown() {
        perform(core.shutdown())
        wakeUp.signal()
    }

    /// Calls pending now. - Complexity: O(1).
    public var pendingCallCount: Int { core.callCount }

    /// Discoveries in flight now. - Complexity: O(1).
    public var pendingDiscoveryCount: Int { core.discoveries.count }

    /// Deadlines held now, at most one per pending call. - Complexity: O(1).
    public var deadlineCount: Int { core.deadlines.count }

    /// Size (pending calls + pending discoveries), limits and high-water mark. - Complexity: O(1).
    public func memoryUsage() -> MemoryUsage {
        if core.awaitsRun, let overdue = core.checkOverdueBeforeRun(now: now()) {
            report(.runNotStarted(overdueBy: overdue))
        }
        return core.budget.usage(size: core.size)
    }

    /// Sets the base limit (`maximumPendingCalls`); no pending call is dropped.
    /// - Throws: ``ConfigurationError`` when `limit < 1`. - Complexity: O(1).
    public func setLimit(_ limit: Int) throws(ConfigurationError) {
        try core.setBaseLimit(limit)
    }

    /// Sets the pressure scale; no pending call is dropped. - Complexity: O(1).
    public func setPressureScale(_ scale: Double) {
        core.setPressureScale(scale)
    }

    /// Handles every deadline already past, as `run()` would when it wakes.
    /// - Returns: how many entries (calls and discoveries) were removed.
    /// - Complexity: O(k log n) for k deadlines due.
    public func prune() -> Int {
        let (effects, _) = core.deadlinesPassed(now: now(), takeStarts: false)
        perform(effects)
        return effects.removed
    }

    /// For tests: returns once the caller of `id` is suspended in the handler.
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
