extension ConnectionPoolCore {
    /// Removes `node`'s entry (even if leased), or abandons the connect in flight to it: its
    /// callers get ``ConnectionPoolError/nodeRemoved``. Callers queued for a slot stay.
    /// - Returns: whether there was anything to remove. - Complexity: O(1), O(k) for k callers.
    package mutating func remove(_ node: NodeID) -> (Bool, [Action]) {
        var effects: [Action] = []
        switch entries.lookup(node) {
        case .established(let slot):
            let removed = entries.remove(slot)
            effects.append(.removed(removed.connection, .removed))
            if removed.wasPinned { drain(into: &effects) }
            return (true, effects)
        case .connecting(let slot):
            let record = entries.connectingTag(at: slot)
            entries.removeConnecting(slot)
            abandon(record, error: .nodeRemoved, into: &effects)
            return (true, effects)
        case .absent, .reserved:
            return (false, [])
        }
    }

    /// Marks a live connect abandoned and fails its callers with `error`. - Complexity: O(k).
    mutating func abandon(_ record: Int32, error: ConnectionPoolError, into effects: inout [Action]) {
        effects.append(.cancelConnect(Self.connectID(record: record, generation: records[Int(record)].generation)))
        for waiter in records[Int(record)].takeWaiters() {
            deliver(.failed(error), to: waiter.request, token: waiter.token, into: &effects)
        }
        records[Int(record)].slot = Entries.none
    }

    /// Removes every entry whose connection is not alive (leased ones too).
    /// - Returns: how many were removed. - Complexity: O(n).
    package mutating func prune() -> (Int, [Action]) {
        var effects: [Action] = []
        var removed = 0
        var freedLeaseSlot = false
        for slot in entries.occupiedSlots() where !entries.connection(at: slot).isAlive {
            freedLeaseSlot = removeDead(slot, into: &effects) || freedLeaseSlot
            removed += 1
        }
        if freedLeaseSlot { drain(into: &effects) }
        return (removed, effects)
    }

    /// Removes `node`'s entry if its connection is not alive (leased or not).
    /// - Returns: whether it was removed. - Complexity: O(1) expected.
    package mutating func prune(_ node: NodeID) -> (Bool, [Action]) {
        guard case .established(let slot) = entries.lookup(node), !entries.connection(at: slot).isAlive else {
            return (false, [])
        }
        var effects: [Action] = []
        if removeDead(slot, into: &effects) { drain(into: &effects) }
        return (true, effects)
    }

    /// Removes a dead entry. - Returns: whether it was leased. - Complexity: O(1) expected.
    @inlinable @discardableResult
    mutating func removeDead(_ slot: Int32, into effects: inout [Action]) -> Bool {
        let removed = entries.remove(slot)
        effects.append(.removed(removed.connection, .dead))
        return removed.wasPinned
    }

    /// The operator set the base limit. - Throws: ``ConfigurationError`` outside
    /// 1…2,147,483,647 (nothing changes). - Complexity: O(k) for k entries evicted.
    package mutating func setBaseLimit(_ limit: Int) throws(ConfigurationError) -> [Action] {
        try validateConnectionPoolLimit(limit)
        try budget.setBaseLimit(limit, field: "maximumConnections")
        return limitChanged(reason: .evicted)
    }

    /// The pressure monitor set the scale. - Complexity: O(k) for k entries evicted.
    package mutating func setPressureScale(_ scale: Double) -> [Action] {
        budget.setPressureScale(scale)
        return limitChanged(reason: .pressure)
    }

    /// - Complexity: O(k) for k entries evicted and callers let through.
    mutating func limitChanged(reason: RemovalReason) -> [Action] {
        if case .shutDown = lifecycle { return [] }
        var effects: [Action] = []
        if entries.count > limit { shrinkReason = reason }
        shrink(reason: reason, into: &effects)
        drain(into: &effects)
        return effects
    }

    /// Evicts least recently used idle entries while above the limit. - Complexity: O(k).
    @inlinable
    mutating func shrink(reason: RemovalReason, into effects: inout [Action]) {
        while entries.count > limit, let victim = entries.leastRecentlyUsedIdle {
            effects.append(.removed(entries.remove(victim).connection, reason))
        }
    }

    /// Every entry, leased ones first, each group most recently used first. - Complexity: O(n).
    package func connections() -> [(node: NodeID, connection: Connection)] {
        entries.inRecencyOrder().map { ($0.node, $0.connection) }
    }

    /// What the pool knows about `node`. - Complexity: O(1).
    package func state(of node: NodeID) -> NodeState? {
        switch entries.lookup(node) {
        case .established(let slot):
            return .established(entries.connection(at: slot), leases: entries.pins(at: slot))
        case .connecting(let slot):
            return .connecting(waitingCallers: records[Int(entries.connectingTag(at: slot))].waiterCount)
        case .absent, .reserved:
            return nil
        }
    }

    /// The usage report. - Complexity: O(1).
    package func usage() -> MemoryUsage { budget.usage(size: entries.count) }

    /// The usage report at `now`, and how overdue the oldest caller queued before `run()` is
    /// when the one-time warning is due. - Complexity: O(1).
    mutating func usage(now: Duration) -> (MemoryUsage, overdueBy: Duration?) {
        let overdue = overdueBeforeRun.check(lifecycle, earliestDeadline: deadlines.first?.deadline, now: now)
        return (usage(), overdue)
    }

    /// Every invariant, for tests. - Returns: the broken ones. - Complexity: O(capacity + w).
    package func invariantViolations() -> [String] {
        var problems = entries.invariantViolations()
        if entries.count > limit && entries.count != entries.pinnedCount {
            problems.append("\(entries.count) entries above the limit \(limit) while some are idle")
        }
        let allocated = records.indices.filter { records[$0].isAllocated }
        if inFlight != allocated.count { problems.append("inFlight \(inFlight) but \(allocated.count) records") }
        let live = allocated.filter { records[$0].slot != Entries.none }
        if live.count != entries.connectingCount {
            problems.append("\(live.count) live connects but \(entries.connectingCount) connecting slots")
        }
        for record in live {
            let slot = records[record].slot
            if case .connecting(let found) = entries.lookup(entries.node(at: slot)), found == slot,
               entries.connectingTag(at: slot) == Int32(record) {} else {
                problems.append("connect record \(record) and its slot \(slot) disagree")
            }
        }
        if freeRecords.count + allocated.count != records.count { problems.append("connect records leak") }
        let attached = allocated.reduce(0) { $0 + records[$1].waiterCount }
        let answered = callers.filter { $0.isAllocated && $0.outcome != nil }.count
        if callerCount != queue.count + attached + answered {
            problems.append("\(callerCount) callers, but \(queue.count) queued + \(attached) attached + \(answered) answered")
        }
        if queuedCount != queue.count { problems.append("queuedCount \(queuedCount) but \(queue.count) queued") }
        if queue.count != deadlines.count { problems.append("\(queue.count) queued but \(deadlines.count) deadlines") }
        if queue.count > maximumWaiters { problems.append("\(queue.count) queued above \(maximumWaiters)") }
        switch lifecycle {
        case .notStarted, .running: break
        case .stopped, .shutDown: if !queue.isEmpty { problems.append("callers queued while \(lifecycle)") }
        }
        // Liveness is read after the drain: connections only go from alive to dead, so all alive
        // afterwards proves all alive during it.
        var copy = self
        var effects: [Action] = []
        copy.drain(into: &effects)
        let allAlive = entries.occupiedSlots().allSatisfy { entries.connection(at: $0).isAlive }
        if allAlive && (!effects.isEmpty || copy.queue.count != queue.count) {
            problems.append("a queued caller could proceed but waits")
        }
        return problems
    }
}
