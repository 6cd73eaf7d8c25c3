// The waiting queue and the lifecycle of the connection pool's core: letting queued callers
// through, their deadlines, run() starting and stopping, shutdown.

extension ConnectionPoolCore {
    // MARK: Waiting

    /// Lets queued callers through, oldest first, while the one at the front can proceed: its
    /// node's entry is there (and it needs no new lease slot, or one is free), a connect to its
    /// node is in flight (it joins), or an exclusive slot is free (it starts a connect).
    /// ``drain(into:)`` when anyone waits: the inlinable fast paths call this.
    @inlinable
    mutating func drainIfWaiting(into effects: inout [Action]) {
        if queuedCount > 0 { drain(into: &effects) }
    }

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
                    effects.append(.resume(queued.waiter, .connected(connection, nil)))
                } else if entries.pins(at: slot) > 0 || hasSlot {
                    dequeue(id)
                    effects.append(.resume(queued.waiter, .connected(connection, entries.pin(slot))))
                } else {
                    return
                }
            case .connecting(let slot):
                dequeue(id)
                records[Int(entries.connectingTag(at: slot))]
                    .attach(Attached(request: id, pin: queued.pin, waiter: queued.waiter))
                effects.append(.record(.connectShared))
            case .absent(let hash):
                guard hasSlot else { return }
                dequeue(id)
                let connectID = startConnect(
                    queued.node, hash: hash, first: Attached(request: id, pin: queued.pin, waiter: queued.waiter))
                effects.append(.startConnect(connectID, queued.node))
            }
        }
    }

    mutating func dequeue(_ id: RequestID) {
        queue.remove(id)
        queuedCount = queue.count
        deadlines.remove(id)
    }

    /// The clock reached `now`: fail every queued caller whose deadline passed.
    /// - Returns: the actions and the next deadline, if any.
    /// - Complexity: O(k log w) for k expired of w waiters.
    mutating func deadlinePassed(now: Duration) -> ([Action], next: Duration?) {
        var effects: [Action] = []
        for due in deadlines.popDue(at: now) {
            guard let queued = queue.remove(due.id) else { continue }
            queuedCount = queue.count
            effects.append(.reject(.waitTimedOut))
            effects.append(.resume(queued.waiter, .failed(.timedOut)))
        }
        if !effects.isEmpty { drain(into: &effects) }
        return (effects, deadlines.first?.deadline)
    }

    /// The next waiting deadline, if any. - Complexity: O(1).
    var nextDeadline: Duration? { deadlines.first?.deadline }

    // MARK: Lifecycle

    /// What `run()` starting means.
    enum RunStartAction: Sendable, Hashable {
        /// It runs; `overdueBy` is set when callers queued before it are already past their
        /// deadline (the embedder forgot `run()`): warn once.
        case started(overdueBy: Duration?)
        case rejected(ConnectionPoolError)
    }

    /// `run()` starts at `now`. - Complexity: O(1).
    mutating func runStarted(now: Duration) -> RunStartAction {
        let overdue = overdueBeforeRun.check(lifecycle, earliestDeadline: deadlines.first?.deadline, now: now)
        switch lifecycle.start() {
        case .started: return .started(overdueBy: overdue)
        case .alreadyRunning: return .rejected(.alreadyRunning)
        case .shutDown: return .rejected(.shutdown)
        }
    }

    /// Whether callers queued before `run()` started are past their deadline at `now`, for the
    /// one-time warning.
    /// - Returns: how far past its deadline the oldest is, when the warning is due.
    /// - Complexity: O(1).
    mutating func checkOverdueBeforeRun(now: Duration) -> Duration? {
        overdueBeforeRun.check(lifecycle, earliestDeadline: deadlines.first?.deadline, now: now)
    }

    /// Whether the pool holds callers that wait for a `run()` that has not started yet.
    var awaitsRun: Bool {
        guard case .notStarted = lifecycle else { return false }
        return queuedCount > 0
    }

    /// `run()` returned: nobody may wait any more, so every queued caller fails with
    /// ``ConnectionPoolError/notRunning``. - Complexity: O(w).
    mutating func runStopped() -> [Action] {
        guard lifecycle.end() else { return [] }
        return failQueued(.notRunning, reason: .notRunning)
    }

    mutating func failQueued(_ error: ConnectionPoolError, reason: Rejection?) -> [Action] {
        var effects: [Action] = []
        for (_, queued) in queue.removeAll() {
            if let reason { effects.append(.reject(reason)) }
            effects.append(.resume(queued.waiter, .failed(error)))
        }
        queuedCount = 0
        _ = deadlines.removeAll()
        return effects
    }

    /// Shut down: fail every waiting caller, abandon every connect, close every entry (leased ones
    /// too). Later requests fail with ``ConnectionPoolError/shutdown``. - Complexity: O(n + w).
    mutating func shutdown() -> [Action] {
        guard lifecycle.shutDown() else { return [] }
        var effects = failQueued(.shutdown, reason: nil)
        for record in records.indices where records[record].isAllocated && records[record].slot != Entries.none {
            effects.append(contentsOf: abandonWithWaiters(Int32(record), error: .shutdown))
        }
        for connection in entries.removeAll() {
            effects.append(.close(connection, .shutdown))
        }
        return effects
    }
}
