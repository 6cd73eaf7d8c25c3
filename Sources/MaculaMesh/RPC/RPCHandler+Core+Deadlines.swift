extension RPCHandlerCore {

    /// Handles every deadline at or before `now`.
    /// - Parameter takeStarts: true for `run()`'s loop, which also takes the discoveries to start.
    /// - Returns: the effects, and the next deadline.
    /// - Complexity: O(k log n) for k deadlines due.
    package mutating func deadlinesPassed(now: Duration, takeStarts: Bool) -> (Effects, next: Duration?) {
        var effects = Effects()
        for (raw, _) in deadlines.popDue(at: now) {
            let id = RPCCallID(rawValue: raw)
            guard let slot = liveSlot(id) else { continue }
            let tried = Int(calls[slot].attempts)
            switch calls[slot].phase {
            case .free:
                continue
            case .discovering(let discovery):
                if let abort = leaveDiscovery(discovery, id) {
                    effects.aborts.append(abort)
                    effects.removed += 1
                }
                let error: RPCError = now >= calls[slot].overallDeadline
                    ? .deadlineExceeded("", tried: 0) : .discoveryTimedOut
                let waiter = takeWaiter(slot)
                remove(slot, id)
                effects.resumes.append(Resume(id: id, waiter: waiter, step: .finished(.failure(error)), removal: .timedOut))
                effects.removed += 1
            case .awaitingReply:
                effects.attemptTimeouts += 1
                effects.abandoned.append(Abandoned(id: id, attempt: tried))
                let waiter = takeWaiter(slot)
                if now >= calls[slot].overallDeadline {
                    remove(slot, id)
                    effects.resumes.append(Resume(id: id, waiter: waiter, step: .finished(.failure(.deadlineExceeded("", tried: tried))), removal: .timedOut))
                    effects.removed += 1
                    continue
                }
                switch failover(slot, id, now: now) {
                case .next(_, let wake):
                    effects.failovers += 1
                    effects.wakeLoop = effects.wakeLoop || wake
                    effects.resumes.append(Resume(id: id, waiter: waiter, step: .send, removal: nil))
                case .exhausted(let tried):
                    remove(slot, id)
                    effects.resumes.append(Resume(id: id, waiter: waiter, step: .finished(.failure(.attemptsExhausted("", tried: tried))), removal: .timedOut))
                    effects.removed += 1
                }
            case .sending(let interruption):
                // The caller is busy sending: it fails over or fails when its send returns.
                if interruption == nil {
                    effects.attemptTimeouts += 1
                    calls[slot].phase = .sending(.attemptFailed)
                }
            }
        }
        let next = deadlines.first?.deadline
        if takeStarts {
            effects.starts = takeDiscoveriesToStart()
            loopWakeAt = next
        }
        return (effects, next)
    }

    package mutating func setBaseLimit(_ limit: Int) throws(ConfigurationError) {
        try budget.setBaseLimit(limit, field: "maximumPendingCalls")
    }

    package mutating func setPressureScale(_ scale: Double) {
        budget.setPressureScale(scale)
    }
}
