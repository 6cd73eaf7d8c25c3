extension RPCHandler {
    /// Calls `procedure` with `arguments` and returns its result. A local handler runs directly,
    /// without timeouts.
    /// - Parameters:
    ///   - procedure: the procedure (and service) name.
    ///   - arguments: the encoded arguments, passed through untouched.
    ///   - options: per-call overrides of the configuration.
    /// - Returns: the encoded result.
    /// - Throws: ``RPCError``: `cancelled`, `notRunning`, `shutdown`, `tooManyPendingCalls`,
    ///   `noProviders`, `discoveryTimedOut`, `discoveryFailed`, `attemptsExhausted`,
    ///   `deadlineExceeded`, `procedureFailed`, `invalidOptions`.
    /// - Complexity: O(log n) per step (start, each send, reply or deadline) for n pending calls.
    public func call(
        _ procedure: String,
        arguments: [UInt8] = [],
        options: RPCCallOptions = RPCCallOptions()
    ) async throws(RPCError) -> [UInt8] {
        // The steps are `@inline(never)` so their locals stay out of this async frame, which every
        // pending call keeps.
        var step = callStarted(procedure, options: options)
        while true {
            switch step {
            case .local(let handler):
                return try await Self.runLocal(handler, procedure: procedure, arguments: arguments)
            case .send(let id):
                let request = request(id, procedure: procedure, arguments: arguments)
                var failed = false
                do { try await transport.send(request) } catch { failed = true }
                step = sendReturned(id, attempt: request.attempt, failed: failed, procedure: procedure)
            case .wait(let id):
                step = resumed(id, with: await suspend(id), procedure: procedure)
            case .done(let result):
                return try Self.unwrap(result, procedure)
            }
        }
    }

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
            report(.event(.callStarted, 1))
            return .local(handler)
        case .remote:
            break
        }
        let providers = cachedProviders(for: procedure)
        switch core.callStarted(service: procedure, providers: providers, options: resolved, now: now()) {
        case .rejected(let error, let counted):
            if let counted { report(.rejected(counted.reason)) }
            return .done(.failure(error))
        case .send(let id, _, let wakeLoop, let beforeRun):
            report(.event(.callStarted, 1))
            acceptedBeforeRun(beforeRun)
            if wakeLoop { wakeUp.signal() }
            return .send(id)
        case .awaitDiscovery(let id, let wakeLoop, let discoveryCreated, let beforeRun):
            report(.event(.callStarted, 1))
            if discoveryCreated { report(.event(.discoveryStarted, 1)) }
            acceptedBeforeRun(beforeRun)
            if wakeLoop { wakeUp.signal() }
            return .wait(id)
        }
    }

    func acceptedBeforeRun(_ beforeRun: AcceptedBeforeRun?) {
        guard let beforeRun else { return }
        report(.event(.waitingForRun, 1))
        if let overdue = beforeRun.overdueBy {
            report(.runNotStarted(overdueBy: overdue))
        }
    }

    @inline(never)
    func request(_ id: RPCCallID, procedure: String, arguments: [UInt8]) -> RPCRequest {
        // The call is live: only its own task removes a call that is sending.
        let attempt = core.attempt(of: id) ?? RPCAttempt(provider: ServiceProvider(nodeID: "", address: ""), number: 0)
        return RPCRequest(callID: id, procedure: procedure, arguments: arguments, provider: attempt.provider, attempt: attempt.number)
    }

    @inline(never)
    func sendReturned(_ id: RPCCallID, attempt: Int, failed: Bool, procedure: String) -> CallStep {
        if Task.isCancelled { return .done(.failure(leave(id, procedure, inSend: true))) }
        let now = core.sendCompletionNeedsTime(id, failed: failed) ? now() : .zero
        let action = core.sendCompleted(id, failed: failed, now: now)
        if action.abandonsAttempt { transport.abandon(id, attempt: attempt) }
        switch action {
        case .awaitReply:
            return .wait(id)
        case .send(_, let wakeLoop):
            report(.event(.failover, 1))
            if wakeLoop { wakeUp.signal() }
            return .send(id)
        case .finished(let result, let removal):
            report(.removed(1, removal.reason))
            return .done(result)
        }
    }

    @inline(never)
    func resumed(_ id: RPCCallID, with step: RPCStep, procedure: String) -> CallStep {
        switch step {
        case .send: .send(id)
        case .finished(let result): .done(result)
        case .cancelled: .done(.failure(leave(id, procedure, inSend: false)))
        }
    }

    /// The waiter is parked in the same actor turn in which the core decided that the caller
    /// waits, so every resumption finds it.
    func suspend(_ id: RPCCallID) async -> RPCStep {
        let waiter = Waiter<RPCStep>()
        // Unreachable: the core decided in this actor turn that the call waits. Were the call gone,
        // nothing could resume the waiter; the caller leaves as if cancelled instead of hanging.
        guard core.park(id, waiter) else { return .cancelled }
        if !parkObservers.isEmpty, let observers = parkObservers.removeValue(forKey: id) {
            for observer in observers { observer.finish(()) }
        }
        return await waiter.wait() ?? .cancelled
    }

    /// The cancelled caller removes its own entry before its `call` returns.
    @inline(never)
    func leave(_ id: RPCCallID, _ procedure: String, inSend: Bool) -> RPCError {
        switch core.callerCancelled(id, inSend: inSend) {
        case .removed(let abort, let abandoned):
            if let abort { discoveryAborts.abort(abort) }
            if let abandoned { transport.abandon(id, attempt: abandoned) }
            report(.removed(1, .callerCancelled))
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

    /// Reads synchronously on the executor the two actors share.
    @inline(never)
    func cachedProviders(for service: String) -> [ServiceProvider]? {
        registry.assumeIsolated { $0.cachedProviders(for: service) }
    }

    func now() -> Duration {
        clock.now
    }
}
