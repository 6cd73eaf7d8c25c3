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
        /// Abort the discovery `abort`, when set: nobody waits for it any more.
        case removed(abort: UInt32?)
        case unknown
    }

    /// Removes the call, its deadline and its place in a discovery. - Complexity: O(log n).
    package mutating func callerCancelled(_ id: RPCCallID) -> CallerCancelledAction {
        guard let slot = liveSlot(id) else { return .unknown }
        var abort: UInt32?
        if case .discovering(let discovery) = calls[slot].phase {
            abort = leaveDiscovery(discovery, id)
        }
        remove(slot, id)
        return .removed(abort: abort)
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
