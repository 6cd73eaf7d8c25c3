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
/// - Important: remote calls need ``run()`` running (they fail at once with
///   ``RPCError/notRunning`` otherwise); local handlers do not.
public actor RPCHandler<C: Clock>: MemoryManaged where C.Duration == Duration {
    /// The name in metrics and logs; `rpc_handler` by default.
    public nonisolated let componentName: String
    /// The registry the providers come from and discovery results go to; its clock drives every
    /// deadline.
    public nonisolated let registry: ServiceRegistry<C>
    /// The configuration the handler was created with.
    public nonisolated let configuration: Configuration

    private let transport: any RPCTransport
    private let discovery: any RPCDiscovery
    private let metrics: any MemoryMetrics
    private let waiters = RPCWaiters()
    private let wakeUp = DeadlineSignal()
    private let origin: C.Instant
    private var core: RPCHandlerCore
    /// The options of the last call and their resolution (validated), reused when the next call
    /// passes the same ones.
    private var lastOptions: (options: RPCCallOptions, resolved: ResolvedCallOptions)?
    /// Tests waiting until `run()` has started (see `waitUntilRunning`); empty otherwise.
    private var runObservers: [CheckedContinuation<Void, Never>] = []

    /// The registry's executor: see "Sharing the registry's executor" above.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { registry.unownedExecutor }

    private var clock: C { registry.clock }

    /// Creates a handler over `registry`, using its clock.
    /// - Parameters:
    ///   - registry: where providers are looked up and discovery results cached.
    ///   - transport: sends the requests.
    ///   - discovery: finds providers on a cache miss.
    ///   - configuration: timeouts, attempts, strategy and limits.
    ///   - metrics: receives calls, timeouts, failovers, cancellations, late replies.
    ///   - name: the component name in metrics and logs.
    /// - Throws: ``ConfigurationError`` naming the first invalid field of `configuration`.
    public init(
        registry: ServiceRegistry<C>,
        transport: any RPCTransport,
        discovery: any RPCDiscovery,
        configuration: Configuration = .init(),
        metrics: any MemoryMetrics = NoMemoryMetrics(),
        name: String = "rpc_handler"
    ) throws(ConfigurationError) {
        self.core = try RPCHandlerCore(configuration: configuration)
        self.registry = registry
        self.transport = transport
        self.discovery = discovery
        self.configuration = configuration
        self.metrics = metrics
        self.componentName = name
        self.origin = registry.clock.now
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
            metrics.requestRejected(reason: .limitReached, component: componentName)
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

    // MARK: Calls

    /// Calls `procedure` with `arguments` and returns its result.
    ///
    /// A local handler runs directly (timeouts do not apply; cancellation reaches it through the
    /// caller's task). Otherwise the call follows the lifecycle in the type's documentation.
    /// - Parameters:
    ///   - procedure: the procedure (and service) name.
    ///   - arguments: the encoded arguments, passed through untouched.
    ///   - options: per-call overrides of the configuration.
    /// - Returns: the encoded result.
    /// - Throws: ``RPCError``: `cancelled`, `notRunning`, `shutdown`, `tooManyPendingCalls`,
    ///   `noProviders`, `discoveryTimedOut`, `discoveryFailed`, `attemptsExhausted`,
    ///   `deadlineExceeded`, `procedureFailed`, `invalidOptions`.
    /// - Complexity: O(log n) per step (start, each send, reply or deadline) for n pending calls.
    @_specialize(exported: true, where C == ContinuousClock)
    public func call(
        _ procedure: String,
        arguments: [UInt8] = [],
        options: RPCCallOptions = RPCCallOptions()
    ) async throws(RPCError) -> [UInt8] {
        // A thin async driver: everything that does not cross a suspension point happens in
        // synchronous helpers kept out of line (`@inline(never)`), so their locals live on the
        // thread's stack, not in this async frame. Measured: with them inlined the frame was
        // 1.7 KB, and every pending call paid for it with extra task-allocator slabs.
        var step = callStarted(procedure, options: options)
        while true {
            switch step {
            case .local(let handler):
                return try await Self.runLocal(handler, procedure: procedure, arguments: arguments)
            case .send(let id):
                let request = request(id, procedure: procedure, arguments: arguments)
                var failed = false
                do { try await transport.send(request) } catch { failed = true }
                step = sendReturned(id, failed: failed, procedure: procedure)
            case .wait(let id):
                step = resumed(id, with: await suspend(id), procedure: procedure)
            case .done(let result):
                return try Self.unwrap(result, procedure)
            }
        }
    }

    /// What the calling task does next.
    private enum CallStep {
        case local(RPCLocalHandler)
        case send(RPCCallID)
        case wait(RPCCallID)
        case done(Result<[UInt8], RPCError>)
    }

    @inline(never)
    private func callStarted(_ procedure: String, options: RPCCallOptions) -> CallStep {
        guard !Task.isCancelled else { return .done(.failure(.cancelled)) }
        let resolved: ResolvedCallOptions
        if let cached = lastOptions, cached.options == options {
            resolved = cached.resolved  // callers mostly repeat their options: skip the checks
        } else {
            do {
                resolved = try ResolvedCallOptions(options, configuration: configuration)
            } catch {
                return .done(.failure(.invalidOptions(procedure, error.description)))
            }
            lastOptions = (options, resolved)
        }
        switch core.localCallStarted(procedure) {
        case .shutDown:
            return .done(.failure(.shutdown))
        case .run(let handler):
            metrics.eventRecorded(.callStarted, count: 1, component: componentName)
            return .local(handler)
        case .remote:
            break
        }
        let providers = cachedProviders(for: procedure)
        switch core.callStarted(service: procedure, providers: providers, options: resolved, now: now()) {
        case .rejected(let error, let atLimit):
            if atLimit { metrics.requestRejected(reason: .limitReached, component: componentName) }
            return .done(.failure(error))
        case .send(let id, _, let wakeLoop):
            metrics.eventRecorded(.callStarted, count: 1, component: componentName)
            if wakeLoop { wakeUp.signal() }
            return .send(id)
        case .awaitDiscovery(let id, let wakeLoop, let discoveryCreated):
            metrics.eventRecorded(.callStarted, count: 1, component: componentName)
            if discoveryCreated { metrics.eventRecorded(.discoveryStarted, count: 1, component: componentName) }
            if wakeLoop { wakeUp.signal() }
            return .wait(id)
        }
    }

    /// The request for the attempt `id` is on.
    @inline(never)
    private func request(_ id: RPCCallID, procedure: String, arguments: [UInt8]) -> RPCRequest {
        // The call is live: only its own task removes a call that is sending.
        let attempt = core.attempt(of: id) ?? RPCAttempt(provider: ServiceProvider(nodeID: "", address: ""), number: 0)
        return RPCRequest(callID: id, procedure: procedure, arguments: arguments, provider: attempt.provider, attempt: attempt.number)
    }

    @inline(never)
    private func sendReturned(_ id: RPCCallID, failed: Bool, procedure: String) -> CallStep {
        if Task.isCancelled { return .done(.failure(leave(id, procedure))) }
        let now = core.sendCompletionNeedsTime(id, failed: failed) ? now() : 0
        switch core.sendCompleted(id, failed: failed, now: now) {
        case .awaitReply:
            return .wait(id)
        case .send(_, let wakeLoop):
            metrics.eventRecorded(.failover, count: 1, component: componentName)
            if wakeLoop { wakeUp.signal() }
            return .send(id)
        case .finished(let result, let removal):
            metrics.entriesRemoved(1, reason: removal.reason, component: componentName)
            releaseWaitersIfIdle()
            return .done(result)
        }
    }

    @inline(never)
    private func resumed(_ id: RPCCallID, with step: RPCStep, procedure: String) -> CallStep {
        switch step {
        case .send: .send(id)
        case .finished(let result): .done(result)
        case .cancelled: .done(.failure(leave(id, procedure)))
        }
    }

    /// Delivers a provider's reply to its pending call (the seed's `handle_incoming_reply`).
    /// A reply for a call that already ended (timed out, failed, cancelled) or that never existed
    /// is discarded and counted as ``MemoryEvent/lateReply``.
    /// - Parameter reply: the reply, carrying the request's ``RPCCallID``.
    /// - Returns: whether a pending call took the reply.
    /// - Complexity: O(log n).
    @discardableResult
    @_specialize(exported: true, where C == ContinuousClock)
    public func handleReply(_ reply: RPCReply) -> Bool {
        switch core.replyReceived(reply) {
        case .resume(let resume):
            guard let continuation = waiters.take(resume.id) else {
                // Its caller was cancelled first: the reply is late, the entry is the caller's.
                metrics.entriesRemoved(1, reason: .callerCancelled, component: componentName)
                metrics.eventRecorded(.lateReply, count: 1, component: componentName)
                releaseWaitersIfIdle()
                return false
            }
            continuation.resume(returning: resume.step)
            metrics.entriesRemoved(1, reason: .replied, component: componentName)
            releaseWaitersIfIdle()
            return true
        case .stored:
            return true
        case .late:
            metrics.eventRecorded(.lateReply, count: 1, component: componentName)
            return false
        }
    }

    // MARK: run() and shutdown()

    /// Drives every deadline of the handler with one sleeper on the registry's clock, and runs the
    /// discoveries, until the calling task is cancelled; then fails whatever is pending with
    /// ``RPCError/notRunning``, cancels and awaits the discoveries in flight, and returns. The
    /// shape of swift-service-lifecycle's `Service.run()`.
    ///
    /// After ``shutdown()`` a running `run()` has nothing left to do and idles (no sleeper) until
    /// its task is cancelled.
    /// - Throws: ``RPCError/alreadyRunning`` when another `run()` of this handler is running;
    ///   ``RPCError/shutdown`` after ``shutdown()``. Cancellation is not an error.
    public func run() async throws(RPCError) {
        switch core.runStarted() {
        case .alreadyRunning: throw .alreadyRunning
        case .shutDown: throw .shutdown
        case .started: break
        }
        for observer in runObservers { observer.resume() }
        runObservers.removeAll()
        await withDiscardingTaskGroup { group in
            await runDeadlineLoop(clock: clock, signal: wakeUp) { instant in
                deadlinesPassed(at: instant, group: &group)
            }
            // Before the group awaits its discoveries: they find themselves dropped.
            perform(core.runEnded())
            group.cancelAll()
        }
    }

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

    /// Size (pending calls + pending discoveries), limits and high-water mark.
    /// - Complexity: O(1).
    public func memoryUsage() -> MemoryUsage { core.budget.usage(size: core.size) }

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

    /// For tests: returns once the caller of `id` is suspended in the handler (waiting for its
    /// discovery or its reply).
    nonisolated func waitUntilSuspended(_ id: RPCCallID) async {
        await waiters.waitUntilParked(id)
    }

    /// For tests: returns once `run()` has started (at once when it runs now).
    func waitUntilRunning() async {
        guard core.state != .running else { return }
        await withCheckedContinuation { runObservers.append($0) }
    }

    // MARK: Private

    /// The registry's providers of `service` (nil on a miss), read synchronously on the executor
    /// the two actors share.
    @inline(never)
    private func cachedProviders(for service: String) -> [ServiceProvider]? {
        registry.assumeIsolated { $0.cachedProviders(for: service) }
    }

    private func now() -> RPCHandlerCore.Tick {
        RPCHandlerCore.ticks(origin.duration(to: clock.now))
    }

    private func deadlinesPassed(at instant: C.Instant, group: inout DiscardingTaskGroup) -> C.Instant? {
        let (effects, next) = core.deadlinesPassed(now: RPCHandlerCore.ticks(origin.duration(to: instant)), takeStarts: true)
        for start in effects.starts {
            let discovery = self.discovery
            group.addTask {
                let outcome = await Self.discover(start.service, with: discovery, abort: start.abort)
                await self.discoveryFinished(start.id, service: start.service, outcome: outcome)
            }
        }
        perform(effects, fromLoop: true)
        return next.map { origin.advanced(by: .nanoseconds($0)) }
    }

    private func discoveryFinished(_ id: UInt32, service: String, outcome: RPCHandlerCore.DiscoveryOutcome) {
        var outcome = outcome
        if case .found(let providers) = outcome, !providers.isEmpty {
            // Cache first, then hand the callers what the registry kept (it may cut the list).
            let kept = registry.assumeIsolated { registry -> [ServiceProvider]? in
                try? registry.cacheProviders(providers, for: service)
                return registry.cachedProviders(for: service)
            }
            if let kept, !kept.isEmpty { outcome = .found(kept) }
        }
        perform(core.discoveryFinished(id, outcome: outcome, now: now()))
    }

    /// Runs one discovery until it ends or `abort` is signalled (which also cancels it).
    private nonisolated static func discover(
        _ service: String,
        with discovery: any RPCDiscovery,
        abort: DeadlineSignal
    ) async -> RPCHandlerCore.DiscoveryOutcome {
        await withTaskGroup(of: RPCHandlerCore.DiscoveryOutcome.self) { race in
            race.addTask {
                do {
                    return .found(try await discovery.discover(service))
                } catch {
                    return Task.isCancelled ? .interrupted : .failed(String(describing: error))
                }
            }
            race.addTask {
                await abort.wait()
                return .interrupted
            }
            let first = await race.next() ?? .interrupted
            race.cancelAll()
            return first
        }
    }

    /// Suspends the caller until the actor or a cancellation resumes it.
    ///
    /// The core has already recorded that the caller waits; the continuation is parked with no
    /// suspension point in between (both closures run synchronously on this actor), so nothing
    /// can try to resume the caller before it is parked. This matters: a reply handled in such a
    /// gap would find no continuation, be taken for a cancelled caller's, and the caller would
    /// wait forever. The debug assertion guards the isolation the closures rely on.
    private func suspend(_ id: RPCCallID) async -> RPCStep {
        let waiters = self.waiters
        // The operation closure uses `self`, so it is isolated to this actor: the caller parks and
        // is resumed on the actor, with no hop. (A closure that captured only `waiters` ran
        // nonisolated: each call then hopped off the actor to park and back after its resumption;
        // measured, that was most of the handler's CPU over the bare baseline.)
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<RPCStep, Never>) in
                self.assertIsolated("an RPC caller must park on the handler's executor")
                if !self.waiters.park(continuation, for: id) { continuation.resume(returning: .cancelled) }
            }
        } onCancel: {
            waiters.cancel(id)
        }
    }

    /// The cancelled caller removes its own entry, before its `call` returns.
    @inline(never)
    private func leave(_ id: RPCCallID, _ procedure: String) -> RPCError {
        switch core.callerCancelled(id) {
        case .removed(let abort):
            abort?.signal()
            metrics.entriesRemoved(1, reason: .callerCancelled, component: componentName)
            releaseWaitersIfIdle()
        case .unknown:
            break
        }
        return .cancelled(procedure)
    }

    /// Carries out `effects`. `fromLoop`: called by `run()`'s loop, which computes its next
    /// wake-up itself (a signal would only make it turn once more for nothing).
    @inline(never)
    private func perform(_ effects: RPCHandlerCore.Effects, fromLoop: Bool = false) {
        for abort in effects.aborts { abort.signal() }
        if effects.wakeLoop && !fromLoop { wakeUp.signal() }
        if effects.attemptTimeouts > 0 {
            metrics.eventRecorded(.attemptTimedOut, count: effects.attemptTimeouts, component: componentName)
        }
        if effects.failovers > 0 {
            metrics.eventRecorded(.failover, count: effects.failovers, component: componentName)
        }
        guard !effects.resumes.isEmpty else { return }
        var tally = RemovalTally()
        let continuations = waiters.take(effects.resumes.lazy.map(\.id))
        for (resume, continuation) in zip(effects.resumes, continuations) {
            if let continuation {
                continuation.resume(returning: resume.step)
                if let removal = resume.removal { tally.add(removal) }
            } else if resume.removal != nil {
                // Its caller was resumed by its cancellation first: the step is dropped, and the
                // caller finds nothing left to remove.
                tally.add(.callerCancelled)
            }
        }
        for removal in RPCHandlerCore.Removal.allCases where tally[removal] > 0 {
            metrics.entriesRemoved(tally[removal], reason: removal.reason, component: componentName)
        }
        releaseWaitersIfIdle()
    }

    private func releaseWaitersIfIdle() {
        if core.callCount == 0 { waiters.releaseMemory() }
    }

    private static func runLocal(_ handler: RPCLocalHandler, procedure: String, arguments: [UInt8]) async throws(RPCError) -> [UInt8] {
        do {
            return try await handler(arguments)
        } catch is CancellationError {
            throw .cancelled(procedure)
        } catch let error as RPCError {
            throw error
        } catch {
            throw .procedureFailed(procedure, message: String(describing: error))
        }
    }

    private static func unwrap(_ result: Result<[UInt8], RPCError>, _ procedure: String) throws(RPCError) -> [UInt8] {
        switch result {
        case .success(let bytes): return bytes
        case .failure(let error): throw error.attributed(to: procedure)
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

extension RPCHandler where C == ContinuousClock {
    /// Creates a handler on the continuous clock with a registry of its own (default
    /// configuration).
    /// - Parameters:
    ///   - transport: sends the requests.
    ///   - discovery: finds providers on a cache miss.
    ///   - configuration: timeouts, attempts, strategy and limits.
    ///   - metrics: receives the handler's and the registry's events.
    ///   - name: the component name in metrics and logs.
    /// - Throws: ``ConfigurationError`` naming the first invalid field of `configuration`.
    public init(
        transport: any RPCTransport,
        discovery: any RPCDiscovery,
        configuration: Configuration = .init(),
        metrics: any MemoryMetrics = NoMemoryMetrics(),
        name: String = "rpc_handler"
    ) throws(ConfigurationError) {
        let registry = try ServiceRegistry(metrics: metrics)
        try self.init(
            registry: registry, transport: transport, discovery: discovery,
            configuration: configuration, metrics: metrics, name: name
        )
    }
}
