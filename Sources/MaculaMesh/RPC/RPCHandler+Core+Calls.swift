extension RPCHandlerCore {

    package enum CallStartAction: Sendable {
        case rejected(RPCError, counted: Rejection?)
        /// `beforeRun` when the call was accepted before `run()` started.
        case send(RPCCallID, RPCAttempt, wakeLoop: Bool, beforeRun: AcceptedBeforeRun?)
        /// `discoveryCreated` when this call started the discovery.
        case awaitDiscovery(RPCCallID, wakeLoop: Bool, discoveryCreated: Bool, beforeRun: AcceptedBeforeRun?)
    }

    package enum Rejection: Sendable {
        case limitReached, notRunning

        package var reason: RejectionReason {
            switch self {
            case .limitReached: .limitReached
            case .notRunning: .notRunning
            }
        }
    }

    /// A remote call starts, with the registry's providers or nil on a miss (it then joins the
    /// discovery of `service`). - Complexity: O(log n), plus O(1) amortised for a discovery.
    package mutating func callStarted(
        service: String,
        providers: [ServiceProvider]?,
        options: ResolvedCallOptions,
        now: Duration
    ) -> CallStartAction {
        switch lifecycle {
        case .stopped: return .rejected(.notRunning, counted: .notRunning)
        case .shutDown: return .rejected(.shutdown, counted: nil)
        case .notStarted, .running: break
        }
        if let providers, providers.isEmpty { return .rejected(.noProviders, counted: nil) }
        let joined = providers == nil ? discoveryByService[service] : nil
        let needed = providers == nil && joined == nil ? 2 : 1
        guard size + needed <= budget.effectiveLimit else {
            return .rejected(.tooManyPendingCalls(service, limit: budget.effectiveLimit), counted: .limitReached)
        }
        var beforeRun: AcceptedBeforeRun?
        if case .notStarted = lifecycle {
            beforeRun = overdueBeforeRun.accept(lifecycle, earliestDeadline: earliestDeadline, now: now)
        }
        let timeout = options.timeout
        let overall = options.overallTimeout.map { now + $0 } ?? Self.never
        var call = Call(generation: 0, strategy: options.strategy, phase: .awaitingReply)
        call.timeout = timeout
        call.overallDeadline = overall
        if let providers {
            call.providers = providers
            call.maximumAttempts = UInt16(clamping: min(options.maximumAttempts, providers.count))
            call.attempts = 1
            call.current = chooseFirst(options.strategy, count: providers.count, service: service)
            call.phase = .sending(nil)
            let id = allocate(call)
            let wake = schedule(id, at: min(now + timeout, overall))
            budget.recordSize(size)
            return .send(id, RPCAttempt(provider: providers[Int(call.current)], number: 1), wakeLoop: wake, beforeRun: beforeRun)
        }
        call.maximumAttempts = UInt16(clamping: options.maximumAttempts)
        let discovery = joined ?? createDiscovery(service)
        call.phase = .discovering(discovery)
        let id = allocate(call)
        discoveries[discovery]!.waiters.append(true, id: id)
        let wake = schedule(id, at: min(now + options.discoveryTimeout, overall))
        budget.recordSize(size)
        return .awaitDiscovery(id, wakeLoop: wake || joined == nil, discoveryCreated: joined == nil, beforeRun: beforeRun)
    }

    package enum SendCompletedAction: Sendable {
        case awaitReply
        /// The send failed or the attempt timed out meanwhile: send this next attempt now.
        case send(RPCAttempt, wakeLoop: Bool)
        case finished(Result<[UInt8], RPCError>, Removal)

        /// Whether the attempt whose `send` just returned will never be answered (it failed over,
        /// or the call ended without its reply): the actor abandons it.
        package var abandonsAttempt: Bool {
            switch self {
            case .awaitReply: false
            case .send: true
            case .finished(_, let removal): removal != .replied
            }
        }
    }

    /// Whether `sendCompleted(id, failed:now:)` needs `now` (a possible failover, or an overall
    /// deadline), so the common path reads no clock. - Complexity: O(1).
    func sendCompletionNeedsTime(_ id: RPCCallID, failed: Bool) -> Bool {
        guard let slot = liveSlot(id) else { return false }
        if failed || calls[slot].overallDeadline != Self.never { return true }
        if case .sending(.attemptFailed) = calls[slot].phase { return true }
        return false
    }

    /// `failed` when the send threw. - Complexity: O(log n).
    package mutating func sendCompleted(_ id: RPCCallID, failed: Bool, now: Duration) -> SendCompletedAction {
        guard let slot = liveSlot(id), case .sending(let interruption) = calls[slot].phase else {
            // Unreachable: only the caller's own task removes a call that is sending.
            return .finished(.failure(.cancelled), .callerCancelled)
        }
        let tried = Int(calls[slot].attempts)
        switch interruption {
        case .shutdown:
            remove(slot, id)
            return .finished(.failure(.shutdown), .shutdown)
        case .stopped:
            remove(slot, id)
            return .finished(.failure(.notRunning), .stopped)
        case .replied:
            let outcome = storedReplies[id.rawValue] ?? .failure("reply lost")
            remove(slot, id)
            return .finished(Self.result(of: outcome), .replied)
        case .attemptFailed, nil:
            if now >= calls[slot].overallDeadline {
                remove(slot, id)
                return .finished(.failure(.deadlineExceeded("", tried: tried)), .timedOut)
            }
            guard failed || interruption == .attemptFailed else {
                calls[slot].phase = .awaitingReply
                return .awaitReply
            }
            switch failover(slot, id, now: now) {
            case .next(let attempt, let wake):
                return .send(attempt, wakeLoop: wake)
            case .exhausted(let tried):
                remove(slot, id)
                return .finished(.failure(.attemptsExhausted("", tried: tried)), failed ? .callFailed : .timedOut)
            }
        }
    }

    package enum ReplyAction: Sendable {
        case resume(Resume)
        /// The caller is still sending: it picks the reply up when its send returns.
        case stored
        case late
    }

    /// - Complexity: O(log n).
    package mutating func replyReceived(_ reply: RPCReply) -> ReplyAction {
        let id = reply.callID
        guard let slot = liveSlot(id) else { return .late }
        switch calls[slot].phase {
        case .awaitingReply:
            let waiter = takeWaiter(slot)
            remove(slot, id)
            return .resume(Resume(id: id, waiter: waiter, step: .finished(Self.result(of: reply.outcome)), removal: .replied))
        case .sending(nil), .sending(.attemptFailed):
            storedReplies[id.rawValue] = reply.outcome
            calls[slot].phase = .sending(.replied)
            deadlines.remove(id.rawValue)
            return .stored
        case .sending(.replied), .sending(.shutdown), .sending(.stopped), .discovering, .free:
            return .late
        }
    }

    package enum CallerCancelledAction: Sendable {
        /// Abort the discovery `abort`, when set: nobody waits for it any more. Abandon the attempt
        /// `abandoned`, when set: it was sent and will never be answered.
        case removed(abort: UInt32?, abandoned: Int?)
        case unknown
    }

    /// Removes the call, its deadline and its place in a discovery. `inSend`: the caller's `send`
    /// of the current attempt has just returned (otherwise a caller in `.sending` was resumed to
    /// send and never did). - Complexity: O(log n).
    package mutating func callerCancelled(_ id: RPCCallID, inSend: Bool) -> CallerCancelledAction {
        guard let slot = liveSlot(id) else { return .unknown }
        var abort: UInt32?
        var abandoned: Int?
        switch calls[slot].phase {
        case .discovering(let discovery):
            abort = leaveDiscovery(discovery, id)
        case .awaitingReply:
            abandoned = Int(calls[slot].attempts)
        case .sending(let interruption):
            if inSend && interruption != .replied { abandoned = Int(calls[slot].attempts) }
        case .free:
            break
        }
        remove(slot, id)
        return .removed(abort: abort, abandoned: abandoned)
    }

    /// The transport reports that attempt `attempt` of `id` failed after its `send` returned (or
    /// while it runs): handled like that attempt's timeout (failover, or the call fails with
    /// `attemptsExhausted` or `deadlineExceeded`, removal `timedOut`), and counted in
    /// `attemptFailures` instead of `attemptTimeouts`. - Returns: nil (a no-op) when the call is
    /// not live, `attempt` is not its current one, or that attempt already failed, timed out or
    /// was answered. - Complexity: O(log n).
    package mutating func attemptFailed(_ id: RPCCallID, attempt: Int, now: Duration) -> Effects? {
        guard let slot = liveSlot(id), calls[slot].current >= 0, Int(calls[slot].attempts) == attempt else { return nil }
        var effects = Effects()
        switch calls[slot].phase {
        case .sending(nil):
            // The caller fails over when its send returns (see `sendCompleted`).
            calls[slot].phase = .sending(.attemptFailed)
            effects.attemptFailures = 1
            return effects
        case .awaitingReply:
            effects.attemptFailures = 1
            effects.abandoned.append(Abandoned(id: id, attempt: attempt))
            let waiter = takeWaiter(slot)
            if now >= calls[slot].overallDeadline {
                remove(slot, id)
                effects.resumes.append(Resume(id: id, waiter: waiter, step: .finished(.failure(.deadlineExceeded("", tried: attempt))), removal: .timedOut))
                effects.removed = 1
                return effects
            }
            switch failover(slot, id, now: now) {
            case .next(_, let wake):
                effects.failovers = 1
                effects.wakeLoop = wake
                effects.resumes.append(Resume(id: id, waiter: waiter, step: .send, removal: nil))
            case .exhausted(let tried):
                remove(slot, id)
                effects.resumes.append(Resume(id: id, waiter: waiter, step: .finished(.failure(.attemptsExhausted("", tried: tried))), removal: .timedOut))
                effects.removed = 1
            }
            return effects
        case .sending, .discovering, .free:
            return nil
        }
    }

    enum Failover { case next(RPCAttempt, wakeLoop: Bool), exhausted(tried: Int) }

    mutating func failover(_ slot: Int, _ id: RPCCallID, now: Duration) -> Failover {
        calls[slot].excluded.append(calls[slot].current)
        let call = calls[slot]
        guard call.attempts < call.maximumAttempts,
              let next = chooseNext(call.strategy, count: call.providers.count, excluded: call.excluded, after: call.current)
        else {
            return .exhausted(tried: Int(call.attempts))
        }
        calls[slot].attempts += 1
        calls[slot].current = next
        calls[slot].phase = .sending(nil)
        let wake = schedule(id, at: min(now + call.timeout, call.overallDeadline))
        return .next(RPCAttempt(provider: call.providers[Int(next)], number: Int(call.attempts) + 1), wakeLoop: wake)
    }
}
