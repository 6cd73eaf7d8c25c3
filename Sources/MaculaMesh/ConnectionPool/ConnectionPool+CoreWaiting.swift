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
        guard lifecycle != .shutDown else { return }
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
    mutating func deadlinePassed(now: Instant) -> ([Action], next: Instant?) {
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
    var nextDeadline: Instant? { deadlines.first?.deadline }

    // MARK: Lifecycle

    /// `run()` starts. - Returns: the error to throw instead, if it may not.
    mutating func runStarted() -> ConnectionPoolError? {
        switch lifecycle {
        case .idle:
            lifecycle = .running
            return nil
        case .running:
            return .alreadyRunning
        case .shutDown:
            return .shutdown
        }
    }

    /// `run()` returned: nobody may wait any more, so every queued caller fails with
    /// ``ConnectionPoolError/notRunning``. - Complexity: O(w).
    mutating func runStopped() -> [Action] {
        guard lifecycle == .running else { return [] }
        lifecycle = .idle
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
        guard lifecycle != .shutDown else { return [] }
        lifecycle = .shutDown
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
