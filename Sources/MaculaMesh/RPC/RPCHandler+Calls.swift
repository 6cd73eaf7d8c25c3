// The calling task's side of the handler: a thin async driver over synchronous steps, the
// suspension that cancellation can reach, and the cancelled caller's own cleanup.

extension RPCHandler {
    /// Calls `procedure` with `arguments` and returns its result.
    ///
    /// A local handler runs directly (timeouts do not apply; cancellation reaches it through the
    /// caller's task). Otherwise the call follows the lifecycle in the type's documentation.
    /// - Parameters:
    ///   - procedure: the procedure (and service) name.
    ///   - arguments: the encoded arguments, passed through untouched.
    ///   - options: per-call overrides of the configuration.
    /// - Returns: the encoded result.
    /// - Throws: ``RPCError``: `cancelled`, `notRunning` (a `run()` has returned), `shutdown`,
    ///   `tooManyPendingCalls`, `noProviders`, `discoveryTimedOut`, `discoveryFailed`,
    ///   `attemptsExhausted`, `deadlineExceeded`, `procedureFailed`, `invalidOptions`.
    /// - Complexity: O(log n) per step (start, each send, reply or deadline) for n pending calls.
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
    enum CallStep {
        case local(RPCLocalHandler)
        case send(RPCCallID)
        case wait(RPCCallID)
        case done(Result<[UInt8], RPCError>)
    }

    @inline(never)
    func callStarted(_ procedure: String, options: RPCCallOptions) -> CallStep {
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
        case .rejected(let error, let counted):
            if let counted { metrics.requestRejected(reason: counted.reason, component: componentName) }
            return .done(.failure(error))
        case .send(let id, _, let wakeLoop, let beforeRun):
            metrics.eventRecorded(.callStarted, count: 1, component: componentName)
            acceptedBeforeRun(beforeRun)
            if wakeLoop { wakeUp.signal() }
            return .send(id)
        case .awaitDiscovery(let id, let wakeLoop, let discoveryCreated, let beforeRun):
            metrics.eventRecorded(.callStarted, count: 1, component: componentName)
            if discoveryCreated { metrics.eventRecorded(.discoveryStarted, count: 1, component: componentName) }
            acceptedBeforeRun(beforeRun)
            if wakeLoop { wakeUp.signal() }
            return .wait(id)
        }
    }

    /// Reports a call accepted before `run()` started.
    func acceptedBeforeRun(_ beforeRun: AcceptedBeforeRun?) {
        guard let beforeRun else { return }
        metrics.eventRecorded(.waitingForRun, count: 1, component: componentName)
        if let overdue = beforeRun.overdueBy {
            logHandler.warnRunNotStarted(component: componentName, overdueBy: overdue)
        }
    }

    /// The request for the attempt `id` is on.
    @inline(never)
    func request(_ id: RPCCallID, procedure: String, arguments: [UInt8]) -> RPCRequest {
        // The call is live: only its own task removes a call that is sending.
        let attempt = core.attempt(of: id) ?? RPCAttempt(provider: ServiceProvider(nodeID: "", address: ""), number: 0)
        return RPCRequest(callID: id, procedure: procedure, arguments: arguments, provider: attempt.provider, attempt: attempt.number)
    }

    @inline(never)
    func sendReturned(_ id: RPCCallID, failed: Bool, procedure: String) -> CallStep {
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
    func resumed(_ id: RPCCallID, with step: RPCStep, procedure: String) -> CallStep {
        switch step {
        case .send: .send(id)
        case .finished(let result): .done(result)
        case .cancelled: .done(.failure(leave(id, procedure)))
        }
    }

    /// Suspends the caller until the actor or a cancellation resumes it.
    ///
    /// The core has already recorded that the caller waits; the continuation is parked with no
    /// suspension point in between (both closures run synchronously on this actor), so nothing
    /// can try to resume the caller before it is parked. This matters: a reply handled in such a
    /// gap would find no continuation, be taken for a cancelled caller's, and the caller would
    /// wait forever. The debug assertion guards the isolation the closures rely on.
    func suspend(_ id: RPCCallID) async -> RPCStep {
        let waiters = self.waiters
        // The operation closure uses `self`, so it is isolated to this actor: the caller parks and
        // is resumed on the actor, with no hop. A closure that captured only `waiters` was
        // inferred nonisolated: the caller hopped off the actor before parking (a reply handled in
        // that gap was lost, reproduced in a test run) and hopped back after every resumption
        // (measured: the handler's CPU per call fell by a fifth to a third without those hops).
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
    func leave(_ id: RPCCallID, _ procedure: String) -> RPCError {
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

    static func runLocal(_ handler: RPCLocalHandler, procedure: String, arguments: [UInt8]) async throws(RPCError) -> [UInt8] {
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

    static func unwrap(_ result: Result<[UInt8], RPCError>, _ procedure: String) throws(RPCError) -> [UInt8] {
        switch result {
        case .success(let bytes): return bytes
        case .failure(let error): throw error.attributed(to: procedure)
        }
    }

    /// The registry's providers of `service` (nil on a miss), read synchronously on the executor
    /// the two actors share.
    @inline(never)
    func cachedProviders(for service: String) -> [ServiceProvider]? {
        registry.assumeIsolated { $0.cachedProviders(for: service) }
    }

    func now() -> RPCHandlerCore.Tick {
        RPCHandlerCore.ticks(clock.now)
    }
}
