extension ConnectionPoolCore {
    /// Queues a caller, or rejects it. - Complexity: O(log w) for w waiters.
    @usableFromInline
    mutating func enqueue(
        _ node: NodeID, pin: Bool, token: Token, now: Duration, isCancelled: Bool, effects: [Action]
    ) -> (Requested, [Action]) {
        var effects = effects
        let rejection: (ConnectionPoolError, RejectionReason)?
        if maximumWaiters == 0 {
            rejection = (.limitReached, .limitReached)
        } else if queue.count >= maximumWaiters {
            rejection = (.waitersLimitReached, .waitersLimitReached)
        } else {
            switch lifecycle {
            case .notStarted, .running: rejection = nil
            case .stopped: rejection = (.notRunning, .notRunning)
            case .shutDown: return (.failed(.shutdown), effects)
            }
        }
        if let (error, reason) = rejection {
            effects.append(.rejected(reason))
            return (.failed(error), effects)
        }
        if isCancelled { return (.failed(.cancelled), effects) }
        let id = allocateCaller()
        let beforeRun = overdueBeforeRun.accept(lifecycle, earliestDeadline: deadlines.first?.deadline, now: now)
        queue.append(Queued(node: node, pin: pin, token: token), id: id)
        queuedCount = queue.count
        deadlines.set(id, deadline: now + waitTimeout)
        effects.append(.event(.callerQueued))
        if let beforeRun {
            effects.append(.event(.waitingForRun))
            if let overdue = beforeRun.overdueBy { effects.append(.warnRunNotStarted(overdueBy: overdue)) }
        }
        if deadlines.first?.id == id { effects.append(.signalDeadlineLoop) }
        return (.waits(id, connect: nil), effects)
    }

    /// Forgets a waiting request wherever it waits; a no-op when it is nowhere.
    /// - Complexity: amortised O(1), O(log w) when it was queued.
    @usableFromInline
    mutating func requestCancelled(_ id: RequestID, node: NodeID) -> [Action] {
        if queue.remove(id) != nil {
            queuedCount = queue.count
            deadlines.remove(id)
            var effects: [Action] = []
            drain(into: &effects)
            return effects
        }
        if case .connecting(let slot) = entries.lookup(node) {
            records[Int(entries.connectingTag(at: slot))].detach(id)
        }
        return []
    }

    /// Lets queued callers through, oldest first, while the one at the front can proceed: its
    /// node's entry is there (and it needs no new lease slot, or one is free), a connect to its
    /// node is in flight (it joins), or an exclusive slot is free (it starts a connect).
    /// - Complexity: O(k log w) for k callers let through.
    @usableFromInline
    mutating func drain(into effects: inout [Action]) {
        if case .shutDown = lifecycle { return }
        while let (id, queued) = queue.first() {
            var lookup = entries.lookup(queued.node)
            if case .established(let found) = lookup, !entries.connection(at: found).isAlive {
                removeDead(found, into: &effects)
                lookup = entries.lookup(queued.node)
            }
            let hasSlot = entries.pinnedCount + inFlight < limit
            switch lookup {
            case .established(let slot):
                let connection = entries.connection(at: slot)
                if !queued.pin {
                    entries.touch(slot)
                    dequeue(id)
                    deliver(.connected(connection, nil), to: id, token: queued.token, into: &effects)
                } else if entries.pins(at: slot) > 0 || hasSlot {
                    dequeue(id)
                    deliver(.connected(connection, entries.pin(slot)), to: id, token: queued.token, into: &effects)
                } else {
                    return
                }
            case .connecting(let slot):
                dequeue(id)
                records[Int(entries.connectingTag(at: slot))]
                    .attach(Attached(request: id, pin: queued.pin, token: queued.token))
                effects.append(.event(.connectShared))
            case .absent, .reserved:
                guard hasSlot else { return }
                dequeue(id)
                let connect = startConnect(queued.node, first: Attached(request: id, pin: queued.pin, token: queued.token))
                effects.append(.startConnect(connect, queued.node))
            }
        }
    }

    /// - Complexity: O(log w).
    mutating func dequeue(_ id: RequestID) {
        queue.remove(id)
        queuedCount = queue.count
        deadlines.remove(id)
    }

    /// The clock reached `now`: every queued caller whose deadline passed fails with
    /// ``ConnectionPoolError/timedOut``.
    /// - Returns: the actions and the next deadline. - Complexity: O(k log w) for k of w waiters.
    package mutating func deadlinePassed(now: Duration) -> ([Action], next: Duration?) {
        var effects: [Action] = []
        for due in deadlines.popDue(at: now) {
            guard let queued = queue.remove(due.id) else { continue }
            queuedCount = queue.count
            effects.append(.rejected(.waitTimedOut))
            deliver(.failed(.timedOut), to: due.id, token: queued.token, into: &effects)
        }
        if !effects.isEmpty { drain(into: &effects) }
        return (effects, deadlines.first?.deadline)
    }

    /// The next waiting deadline. - Complexity: O(1).
    var nextDeadline: Duration? { deadlines.first?.deadline }

    /// `run()` starts at `now`. - Complexity: O(1).
    package mutating func runStarted(now: Duration) -> RunStart {
        let overdue = overdueBeforeRun.check(lifecycle, earliestDeadline: deadlines.first?.deadline, now: now)
        switch lifecycle.start() {
        case .started: return .started(overdueBy: overdue)
        case .alreadyRunning: return .rejected(.alreadyRunning)
        case .shutDown: return .rejected(.shutdown)
        }
    }

    /// `run()` returned: every queued caller fails with ``ConnectionPoolError/notRunning``.
    /// - Complexity: O(w).
    package mutating func runStopped() -> [Action] {
        guard lifecycle.end() else { return [] }
        return failQueued(.notRunning, reason: .notRunning)
    }

    /// - Complexity: O(w).
    mutating func failQueued(_ error: ConnectionPoolError, reason: RejectionReason?) -> [Action] {
        var effects: [Action] = []
        for (id, queued) in queue.removeAll() {
            if let reason { effects.append(.rejected(reason)) }
            deliver(.failed(error), to: id, token: queued.token, into: &effects)
        }
        queuedCount = 0
        _ = deadlines.removeAll()
        return effects
    }

    /// Fails every waiting caller, abandons every connect and removes every entry (leased ones
    /// too); later requests fail with ``ConnectionPoolError/shutdown``. - Complexity: O(n + w).
    package mutating func shutdown() -> [Action] {
        guard lifecycle.shutDown() else { return [] }
        var effects = failQueued(.shutdown, reason: nil)
        for record in records.indices where records[record].isAllocated && records[record].slot != Entries.none {
            abandon(Int32(record), error: .shutdown, into: &effects)
        }
        for connection in entries.removeAll() {
            effects.append(.removed(connection, .shutdown))
        }
        return effects
    }
}
