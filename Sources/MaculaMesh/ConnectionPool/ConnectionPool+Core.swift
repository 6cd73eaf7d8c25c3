/// The pure core of ``ConnectionPool``: every method takes the time as a `Duration` since the
/// pool's origin where it needs one and returns the ``Action``s the actor carries out. A waiting
/// caller's outcome stays in its caller slot until ``callerResumed(_:node:delivered:)``.
///
/// Invariant: `pinned + inFlight ≤ limit`, unless the limit was lowered; then idle entries are
/// evicted at once, leased ones as their leases end, no connect starts until the sum is under the
/// limit, and a connect that completes with no room is discarded (its callers get `limitReached`).
@usableFromInline
package struct ConnectionPoolCore<
    NodeID: Hashable & Sendable,
    Connection: PooledConnection,
    Token: Sendable
>: Sendable {
    @usableFromInline package typealias Entries = ConnectionPoolEntries<NodeID, Connection>
    @usableFromInline package typealias Lease = ConnectionPoolLease
    @usableFromInline package typealias RequestID = UInt64
    /// A connect record's index in the low 32 bits, its generation in the high 32.
    @usableFromInline package typealias ConnectID = UInt64
    @usableFromInline package typealias Outcome = ConnectionPoolOutcome<Connection>

    /// A caller waiting for a connect.
    @usableFromInline
    struct Attached: Sendable {
        @usableFromInline var request: RequestID
        @usableFromInline var pin: Bool
        @usableFromInline var token: Token

        @inlinable
        init(request: RequestID, pin: Bool, token: Token) {
            self.request = request
            self.pin = pin
            self.token = token
        }
    }

    /// `slot` is `Entries.none` once abandoned; the record lives until the connect reports.
    @usableFromInline
    struct Connect: Sendable {
        @usableFromInline var generation: UInt32 = 0
        @usableFromInline var isAllocated = false
        @usableFromInline var slot: Int32 = -1
        @usableFromInline var first: Attached?
        @usableFromInline var others: [RequestID: Attached] = [:]

        @inlinable init() {}

        var waiterCount: Int { (first == nil ? 0 : 1) + others.count }

        /// - Complexity: O(1) expected.
        @inlinable
        mutating func attach(_ waiter: Attached) {
            if first == nil { first = waiter } else { others[waiter.request] = waiter }
        }

        /// - Complexity: O(1) expected.
        mutating func detach(_ request: RequestID) {
            if first?.request == request { first = nil } else { others.removeValue(forKey: request) }
        }

        /// Removes and returns every waiter. - Complexity: O(k) for k waiters.
        mutating func takeWaiters() -> [Attached] {
            var all: [Attached] = []
            if let first { all.append(first) }
            all.append(contentsOf: others.values)
            first = nil
            others = [:]
            return all
        }
    }

    @usableFromInline
    struct Caller: Sendable {
        @usableFromInline var generation: UInt32 = 0
        @usableFromInline var isAllocated = false
        @usableFromInline var outcome: Outcome?

        @inlinable init() {}
    }

    struct Queued: Sendable {
        var node: NodeID
        var pin: Bool
        var token: Token
    }

    @usableFromInline var lifecycle = RunLifecycle.notStarted
    var overdueBeforeRun = OverdueBeforeRun()
    @usableFromInline var budget: MemoryBudget
    let maximumWaiters: Int
    let waitTimeout: Duration

    @usableFromInline package var entries = Entries()
    @usableFromInline var records: ContiguousArray<Connect> = []
    @usableFromInline var freeRecords: [Int32] = []
    /// Connects started and not yet reported, abandoned ones included.
    @usableFromInline package var inFlight = 0

    var queue = FIFOQueue<RequestID, Queued>()
    var deadlines = DeadlineHeap<RequestID, Duration>()
    /// Always `queue.count`.
    @usableFromInline var queuedCount = 0

    /// A request ID is a slot's index in the low 32 bits and its generation in the high 32.
    @usableFromInline var callers: ContiguousArray<Caller> = []
    @usableFromInline var freeCallers: [Int32] = []

    /// The reason for evicting leased entries left above the limit when their leases end.
    @usableFromInline var shrinkReason = RemovalReason.evicted

    /// Creates an empty core. - Throws: ``ConfigurationError`` for a value outside its range.
    package init(maximumConnections: Int, maximumWaiters: Int, waitTimeout: Duration) throws(ConfigurationError) {
        try validateConnectionPoolLimit(maximumConnections)
        try ConfigurationError.require(maximumWaiters, atLeast: 0, field: "maximumWaiters")
        try ConfigurationError.requireDuration(waitTimeout, field: "waitTimeout")
        self.budget = try MemoryBudget(baseLimit: maximumConnections, field: "maximumConnections")
        self.maximumWaiters = maximumWaiters
        self.waitTimeout = waitTimeout
    }

    @inlinable package var limit: Int { budget.effectiveLimit }
    package var waiterCount: Int { queue.count }

    /// Never while anyone is queued.
    @inlinable var slotAvailable: Bool {
        queuedCount == 0 && entries.pinnedCount + inFlight < limit
    }

    /// An unleased request for `node` when its entry is there and alive: the entry becomes the
    /// most recently used. - Returns: nil (nothing changed) otherwise. - Complexity: O(1).
    @inlinable
    package mutating func hit(_ node: NodeID) -> Connection? {
        guard case .established(let slot) = entries.lookup(node) else { return nil }
        let connection = entries.connection(at: slot)
        guard connection.isAlive else { return nil }
        entries.touch(slot)
        return connection
    }

    /// A caller asks for `node`'s connection, leased (`pin`) or not, at `now`.
    /// `token` comes back in ``Action/resume(_:)``; a cancelled caller fails rather than wait.
    /// - Returns: the connection, an error, or the request ID to wait under (and the connect to start).
    /// - Complexity: amortised O(1); O(log w) to queue among w waiters.
    @inlinable
    package mutating func request(
        _ node: NodeID, pin: Bool, token: Token, now: Duration, isCancelled: Bool
    ) -> (Requested, [Action]) {
        if case .shutDown = lifecycle { return (.failed(.shutdown), []) }
        var effects: [Action] = []
        while true {
            let lookup = slotAvailable && !isCancelled
                ? entries.lookupOrReserve(node, tag: nextRecord) : entries.lookup(node)
            switch lookup {
            case .established(let slot):
                let connection = entries.connection(at: slot)
                guard connection.isAlive else {
                    if removeDead(slot, into: &effects) { drain(into: &effects) }
                    continue
                }
                if !pin {
                    entries.touch(slot)
                    return (.connected(connection, nil), effects)
                }
                if entries.pins(at: slot) > 0 || slotAvailable {
                    return (.connected(connection, entries.pin(slot)), effects)
                }
                return enqueue(node, pin: pin, token: token, now: now, isCancelled: isCancelled, effects: effects)
            case .connecting(let slot):
                if isCancelled { return (.failed(.cancelled), effects) }
                let id = allocateCaller()
                records[Int(entries.connectingTag(at: slot))].attach(Attached(request: id, pin: pin, token: token))
                effects.append(.event(.connectShared))
                return (.waits(id, connect: nil), effects)
            case .reserved(let slot):
                let id = allocateCaller()
                let connect = startConnect(reserved: slot, first: Attached(request: id, pin: pin, token: token))
                return (.waits(id, connect: connect), effects)
            case .absent:
                guard slotAvailable else {
                    return enqueue(node, pin: pin, token: token, now: now, isCancelled: isCancelled, effects: effects)
                }
                return (.failed(.cancelled), effects)
            }
        }
    }

    /// A waiting caller runs again, `delivered` or cancelled; a cancelled one leaves the queue or
    /// its connect, and a lease delivered to it ends.
    /// - Returns: its outcome (``ConnectionPoolError/cancelled`` unless delivered).
    /// - Complexity: O(1) expected; O(log w) when it leaves the queue.
    @inlinable
    package mutating func callerResumed(_ id: RequestID, node: NodeID, delivered: Bool) -> (Outcome, [Action]) {
        let index = Int(UInt32(truncatingIfNeeded: id))
        guard index < callers.count, callers[index].isAllocated,
              callers[index].generation == UInt32(truncatingIfNeeded: id >> 32)
        else { return (.failed(.cancelled), []) }
        let outcome = callers[index].outcome
        callers[index].outcome = nil
        callers[index].isAllocated = false
        freeCallers.append(Int32(index))
        if let outcome {
            if delivered { return (outcome, []) }
            if case .connected(_, let lease?) = outcome { return (.failed(.cancelled), leaseReleased(lease)) }
            return (.failed(.cancelled), [])
        }
        return (.failed(.cancelled), requestCancelled(id, node: node))
    }

    /// Takes a caller slot. - Returns: the caller's request ID. - Complexity: amortised O(1).
    @inlinable
    mutating func allocateCaller() -> RequestID {
        let index: Int32
        if let free = freeCallers.popLast() {
            index = free
        } else {
            index = Int32(truncatingIfNeeded: callers.count)
            callers.append(Caller())
        }
        callers[Int(index)].generation &+= 1
        callers[Int(index)].isAllocated = true
        return UInt64(callers[Int(index)].generation) << 32 | UInt64(UInt32(bitPattern: index))
    }

    /// The outcome delivered to caller `id` and not yet taken. - Complexity: O(1).
    func outcome(of id: RequestID) -> Outcome? {
        let index = Int(UInt32(truncatingIfNeeded: id))
        guard index < callers.count, callers[index].generation == UInt32(truncatingIfNeeded: id >> 32) else { return nil }
        return callers[index].outcome
    }

    /// Callers waiting, or resumed and not yet back. - Complexity: O(1).
    var callerCount: Int { callers.count - freeCallers.count }

    /// A lease ended; a stale one is a no-op. - Complexity: O(1) plus the waiters let through.
    @inlinable
    package mutating func leaseReleased(_ lease: Lease) -> [Action] {
        guard entries.unpin(lease) == true else { return [] }
        var effects: [Action] = []
        shrink(reason: shrinkReason, into: &effects)
        if queuedCount > 0 { drain(into: &effects) }
        return effects
    }

    /// Stores `outcome` for caller `id` and wakes it. - Complexity: O(1).
    @inlinable
    mutating func deliver(_ outcome: Outcome, to id: RequestID, token: Token, into effects: inout [Action]) {
        callers[Int(UInt32(truncatingIfNeeded: id))].outcome = outcome
        effects.append(.resume(token))
    }

    /// - Complexity: O(1).
    @inlinable
    static func connectID(record: Int32, generation: UInt32) -> ConnectID {
        UInt64(generation) << 32 | UInt64(UInt32(bitPattern: record))
    }

    /// The record the next connect gets.
    @inlinable
    var nextRecord: Int32 { freeRecords.last ?? Int32(truncatingIfNeeded: records.count) }

    /// Starts a connect to absent `node` with its first caller. - Complexity: amortised O(1).
    @usableFromInline
    mutating func startConnect(_ node: NodeID, first: Attached) -> ConnectID {
        guard case .reserved(let slot) = entries.lookupOrReserve(node, tag: nextRecord) else {
            preconditionFailure("a connect starts only for an absent node")
        }
        return startConnect(reserved: slot, first: first)
    }

    /// Starts a connect on a slot reserved with the tag ``nextRecord``. - Complexity: amortised O(1).
    @inlinable
    mutating func startConnect(reserved slot: Int32, first: Attached) -> ConnectID {
        let record: Int32
        if let free = freeRecords.popLast() {
            record = free
        } else {
            record = Int32(truncatingIfNeeded: records.count)
            records.append(Connect())
        }
        records[Int(record)].generation &+= 1
        records[Int(record)].isAllocated = true
        records[Int(record)].first = first
        records[Int(record)].slot = slot
        inFlight += 1
        return Self.connectID(record: record, generation: records[Int(record)].generation)
    }

    /// Connect `id` reported: on success the connection becomes the most recently used entry,
    /// evicting the least recently used idle ones while full; on failure nothing changes. Every
    /// caller gets the same outcome. An unknown ID is a no-op.
    /// - Complexity: O(k) for k callers, plus the waiters let through.
    @inlinable
    package mutating func connectFinished(_ id: ConnectID, result: Result<Connection, any Error>) -> [Action] {
        let record = Int32(bitPattern: UInt32(truncatingIfNeeded: id))
        guard record >= 0, Int(record) < records.count, records[Int(record)].isAllocated,
              records[Int(record)].generation == UInt32(truncatingIfNeeded: id >> 32)
        else { return [] }
        let slot = records[Int(record)].slot
        let first = records[Int(record)].first
        var others: [RequestID: Attached] = [:]
        if !records[Int(record)].others.isEmpty { swap(&others, &records[Int(record)].others) }
        records[Int(record)].first = nil
        records[Int(record)].isAllocated = false
        records[Int(record)].slot = Entries.none
        freeRecords.append(record)
        inFlight -= 1
        var effects: [Action] = []
        effects.reserveCapacity(2 + others.count)
        if slot == Entries.none {
            switch result {
            case .success(let connection):
                effects.append(.discarded(connection))
                effects.append(.event(.connectDiscarded))
            case .failure:
                effects.append(.event(.connectFailed))
            }
        } else {
            switch result {
            case .failure(let error):
                entries.removeConnecting(slot)
                effects.append(.event(.connectFailed))
                let failure = Outcome.failed(.connectFailed(error))
                if let first { deliver(failure, to: first.request, token: first.token, into: &effects) }
                for other in others.values { deliver(failure, to: other.request, token: other.token, into: &effects) }
            case .success(let connection):
                established(slot, connection: connection, first: first, others: others, into: &effects)
            }
        }
        if queuedCount > 0 { drain(into: &effects) }
        return effects
    }

    /// Inserts a connected slot, or discards it when nothing can make room.
    /// - Complexity: O(k) for k callers and entries evicted.
    @inlinable
    mutating func established(
        _ slot: Int32, connection: Connection, first: Attached?, others: [RequestID: Attached],
        into effects: inout [Action]
    ) {
        while entries.count >= limit, let victim = entries.leastRecentlyUsedIdle {
            effects.append(.removed(entries.remove(victim).connection, .evicted))
        }
        guard entries.count < limit else {
            entries.removeConnecting(slot)
            effects.append(.discarded(connection))
            effects.append(.event(.connectDiscarded))
            for waiter in (first.map { [$0] } ?? []) + others.values {
                effects.append(.rejected(.limitReached))
                deliver(.failed(.limitReached), to: waiter.request, token: waiter.token, into: &effects)
            }
            return
        }
        var pins = first?.pin == true ? 1 : 0
        for other in others.values where other.pin { pins += 1 }
        let lease = entries.establish(slot, connection: connection, pins: pins)
        budget.recordSize(entries.count)
        if let first {
            deliver(.connected(connection, first.pin ? lease : nil), to: first.request, token: first.token, into: &effects)
        }
        for other in others.values {
            deliver(.connected(connection, other.pin ? lease : nil), to: other.request, token: other.token, into: &effects)
        }
    }
}
