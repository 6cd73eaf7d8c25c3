/// What a waiting caller of a connection pool gets.
@usableFromInline
package enum ConnectionPoolOutcome<Connection: Sendable>: Sendable {
    /// The connection, and the lease when the caller asked for one.
    case connected(Connection, ConnectionPoolLease?)
    case failed(ConnectionPoolError)

    /// The connection and lease, or the error thrown.
    @inlinable
    func get() throws(ConnectionPoolError) -> (Connection, ConnectionPoolLease?) {
        switch self {
        case .connected(let connection, let lease): return (connection, lease)
        case .failed(let error): throw error
        }
    }
}

/// The connection pool's state and every decision about it, with no effects: the pure core of
/// ``ConnectionPool``.
///
/// It never awaits, never closes or creates a
/// connection. Each method is an event (`connectFinished`, `leaseReleased`, `deadlinePassed`, …)
/// or a command (`request`, `remove`, `prune`, `shutdown`) and returns the ``Action``s the actor
/// must carry out: resume a waiting caller, close a connection, start or cancel a connect, count a
/// metric.
///
/// ## Slots
/// The effective limit `L` bounds the established entries, and it bounds the **exclusive slots**:
/// an in-flight connect holds one from its start to its end, and a leased (pinned) entry holds one
/// while it is leased. An idle entry holds a slot only until someone needs it: a connect that
/// completes on a full pool evicts the least recently used idle entry. Keeping
/// `pinned + inFlight ≤ L` guarantees that every connect finds room when it completes (if the
/// pool is full, at least `inFlight` of its entries are idle), so nothing is ever evicted before
/// a connect succeeds and a failed connect changes nothing. A request that needs an exclusive slot
/// (a miss, or a lease on an idle entry) when none is free waits in FIFO order with a deadline.
///
/// Only lowering the limit can break `pinned + inFlight ≤ L`. Then idle entries are evicted down
/// to the limit at once, leased entries are evicted as their leases end, no new connect starts
/// until the sum is back under the limit, and a connect that completes with no room is closed and
/// its callers get ``ConnectionPoolError/limitReached``.
@usableFromInline
package struct ConnectionPoolCore<
    NodeID: Hashable & Sendable,
    Connection: PooledConnection,
    Waiter: Sendable
>: Sendable {
    @usableFromInline package typealias Entries = ConnectionPoolEntries<NodeID, Connection>
    @usableFromInline package typealias Lease = Entries.Lease
    @usableFromInline package typealias RequestID = UInt64
    @usableFromInline package typealias ConnectID = UInt64

    @usableFromInline package typealias Outcome = ConnectionPoolOutcome<Connection>

    /// A caller waiting for a connect, and whether it asked for a lease.
    @usableFromInline
    struct Attached: Sendable {
        @usableFromInline var request: RequestID
        @usableFromInline var pin: Bool
        @usableFromInline var waiter: Waiter

        @inlinable
        init(request: RequestID, pin: Bool, waiter: Waiter) {
            self.request = request
            self.pin = pin
            self.waiter = waiter
        }
    }

    /// One connect in flight and the callers waiting for it, in a reusable record. The first
    /// waiter is stored inline so the common case (one caller per miss) allocates nothing here.
    @usableFromInline
    struct Connect: Sendable {
        /// Bumped each time the record is reused; part of the connect ID.
        @usableFromInline var generation: UInt32 = 0
        @usableFromInline var isAllocated = false
        /// The connecting slot in `entries`, or `none` once the connect was abandoned (its node
        /// removed, or shutdown) and only its report is awaited.
        @usableFromInline var slot: Int32 = -1
        @usableFromInline var first: Attached?
        @usableFromInline var others: [RequestID: Attached] = [:]

        @inlinable init() {}

        @inlinable
        var waiterCount: Int { (first == nil ? 0 : 1) + others.count }

        @inlinable
        mutating func attach(_ waiter: Attached) {
            if first == nil { first = waiter } else { others[waiter.request] = waiter }
        }

        @usableFromInline
        mutating func detach(_ request: RequestID) -> Bool {
            if first?.request == request {
                first = nil
                return true
            }
            return others.removeValue(forKey: request) != nil
        }

        @inlinable
        var waiters: [Attached] {
            var all: [Attached] = []
            all.reserveCapacity(waiterCount)
            if let first { all.append(first) }
            all.append(contentsOf: others.values)
            return all
        }

        /// Forgets the waiters (their outcome was delivered elsewhere).
        @inlinable
        mutating func removeWaiters() {
            first = nil
            if !others.isEmpty { others = [:] }
        }
    }

    /// A caller waiting for a slot.
    struct Queued: Sendable {
        var node: NodeID
        var pin: Bool
        var waiter: Waiter
    }

    /// Hits, connects and leases work in every state but `shutDown`; waiting for a slot is
    /// accepted before `run()` starts and while it runs, refused once it has stopped.
    @usableFromInline var lifecycle = RunLifecycle.notStarted
    var overdueBeforeRun = OverdueBeforeRun()
    @usableFromInline var budget: MemoryBudget
    let maximumWaiters: Int
    let waitTimeout: Duration

    @usableFromInline var entries = Entries()
    /// Connect records; a connecting slot's tag is its record's index. An abandoned connect keeps
    /// its record (and counts in `inFlight`) until it reports.
    @usableFromInline var records: ContiguousArray<Connect> = []
    @usableFromInline var freeRecords: [Int32] = []
    /// Connects started and not yet reported, abandoned ones included.
    @usableFromInline var inFlight = 0

    var queue = FIFOQueue<RequestID, Queued>()
    var deadlines = DeadlineHeap<RequestID, Duration>()
    /// `queue.count`, kept here so that the inlinable fast paths can test for waiters without
    /// calling into the (non-inlinable) queue.
    @usableFromInline var queuedCount = 0

    /// An empty action list with capacity, handed back by the actor through ``recycle(_:)`` and
    /// reused by the next ``connectFinished(_:result:)``, so that the miss path does not allocate
    /// an array per connect.
    @usableFromInline var spareActions: [Action] = []

    /// The reason reported for entries evicted later because the last lowering of the limit left
    /// leased entries above it.
    @usableFromInline var shrinkReason = CloseReason.evicted

    /// Creates an empty core.
    /// - Throws: ``ConfigurationError`` when the configuration breaks a rule.
    package init(maximumConnections: Int, maximumWaiters: Int, waitTimeout: Duration) throws(ConfigurationError) {
        try validateConnectionPoolLimit(maximumConnections)
        try ConfigurationError.require(maximumWaiters, atLeast: 0, field: "maximumWaiters")
        try ConfigurationError.requireDuration(waitTimeout, field: "waitTimeout")
        self.budget = try MemoryBudget(baseLimit: maximumConnections, field: "maximumConnections")
        self.maximumWaiters = maximumWaiters
        self.waitTimeout = waitTimeout
    }

    @inlinable var limit: Int { budget.effectiveLimit }
    var waiterCount: Int { queue.count }

    /// Whether a new request that needs an exclusive slot may take one now. Waiting callers come
    /// first: while anyone is queued, newcomers queue behind them.
    @inlinable var slotAvailable: Bool {
        queuedCount == 0 && entries.pinnedCount + inFlight < limit
    }

    // MARK: Requests

    /// A caller asks for `node`'s connection without a lease, and it is there and alive: it becomes
    /// the most recently used. The fast path of ``request(_:pin:id:waiter:now:)``.
    /// - Returns: the connection, or nil (and nothing changed) when the request must go the full way.
    /// - Complexity: O(1).
    @inlinable
    package mutating func hit(_ node: NodeID) -> Connection? {
        guard case .established(let slot) = entries.lookup(node) else { return nil }
        let connection = entries.connection(at: slot)
        guard connection.isAlive else { return nil }
        entries.touch(slot)
        return connection
    }

    /// A caller asks for `node`'s connection, leased (`pin`) or not.
    ///
    /// - Parameters:
    ///   - waiter: called only when the caller must wait (for a connect or a slot), to get the
    ///     value to resume it through; returning nil means the caller is already cancelled, and
    ///     the request fails with ``ConnectionPoolError/cancelled`` without starting anything.
    ///     Its argument is true when the caller starts a connect (``RequestAction/startConnect(_:)``):
    ///     the actor may then hand a placeholder, since a connect that completes without
    ///     suspending resolves its starter before the actor's call returns.
    ///   - now: called only when the caller is queued, to compute its deadline (the time since the
    ///     pool's origin); a hit never reads it.
    /// - Complexity: O(1) (amortised), O(log w) for w waiters when queued.
    @inlinable
    package mutating func request(
        _ node: NodeID,
        pin: Bool,
        id: RequestID,
        waiter makeWaiter: (_ startsConnect: Bool) -> Waiter?,
        now: () -> Duration
    ) -> (RequestAction, [Action]) {
        if case .shutDown = lifecycle { return (.rejected(.shutdown), []) }
        var effects: [Action] = []
        while true {
            switch entries.lookup(node) {
            case .established(let slot):
                let connection = entries.connection(at: slot)
                guard connection.isAlive else {
                    // The dead entry goes. If it was leased its slot is free, so waiting callers
                    // go first; one of them may start a connect to this very node, which this
                    // caller then joins. Look again.
                    if removeDead(slot, into: &effects) { drain(into: &effects) }
                    continue
                }
                if !pin {
                    entries.touch(slot)
                    return (.hit(connection, nil), effects)
                }
                if entries.pins(at: slot) > 0 || slotAvailable {
                    return (.hit(connection, entries.pin(slot)), effects)
                }
                return enqueue(node, pin: pin, id: id, waiter: makeWaiter, now: now, effects: effects)
            case .connecting(let slot):
                guard let waiter = makeWaiter(false) else { return (.rejected(.cancelled), effects) }
                records[Int(entries.connectingTag(at: slot))].attach(Attached(request: id, pin: pin, waiter: waiter))
                effects.append(.record(.connectShared))
                return (.joinedConnect, effects)
            case .absent(let hash):
                guard slotAvailable else {
                    return enqueue(node, pin: pin, id: id, waiter: makeWaiter, now: now, effects: effects)
                }
                guard let waiter = makeWaiter(true) else { return (.rejected(.cancelled), effects) }
                let connectID = startConnect(node, hash: hash, first: Attached(request: id, pin: pin, waiter: waiter))
                return (.startConnect(connectID), effects)
            }
        }
    }

    @usableFromInline
    mutating func enqueue(
        _ node: NodeID,
        pin: Bool,
        id: RequestID,
        waiter makeWaiter: (_ startsConnect: Bool) -> Waiter?,
        now: () -> Duration,
        effects: [Action]
    ) -> (RequestAction, [Action]) {
        var effects = effects
        let rejection: (ConnectionPoolError, Rejection)?
        if maximumWaiters == 0 {
            rejection = (.limitReached, .limitReached)
        } else if queue.count >= maximumWaiters {
            rejection = (.waitersLimitReached, .waitersLimitReached)
        } else {
            switch lifecycle {
            case .notStarted, .running: rejection = nil
            case .stopped: rejection = (.notRunning, .notRunning)
            case .shutDown: return (.rejected(.shutdown), effects)
            }
        }
        if let (error, reason) = rejection {
            effects.append(.reject(reason))
            return (.rejected(error), effects)
        }
        guard let waiter = makeWaiter(false) else { return (.rejected(.cancelled), effects) }
        let now = now()
        let beforeRun = overdueBeforeRun.accept(lifecycle, earliestDeadline: deadlines.first?.deadline, now: now)
        queue.append(Queued(node: node, pin: pin, waiter: waiter), id: id)
        queuedCount = queue.count
        deadlines.set(id, deadline: now + waitTimeout)
        effects.append(.record(.callerQueued))
        if let beforeRun {
            effects.append(.record(.waitingForRun))
            if let overdue = beforeRun.overdueBy { effects.append(.warnRunNotStarted(overdueBy: overdue)) }
        }
        return (.queued(signalDeadlineLoop: deadlines.first?.id == id), effects)
    }

    /// A waiting caller's task was cancelled: forget its request, wherever it waits. A no-op when
    /// the request already got its outcome.
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
            _ = records[Int(entries.connectingTag(at: slot))].detach(id)
        }
        return []
    }

    /// A caller's lease ended (``ConnectionPool/withConnection(to:isolation:_:)`` returned, or a
    /// leased outcome could not be delivered). A stale lease is a no-op.
    /// - Complexity: O(1) plus the waiters it lets through.
    @inlinable
    mutating func leaseReleased(_ lease: Lease) -> [Action] {
        guard entries.unpin(lease) == true else { return [] }
        var effects: [Action] = []
        shrink(reason: shrinkReason, into: &effects)
        drainIfWaiting(into: &effects)
        return effects
    }

    // MARK: Action lists

    /// The spare action list (empty, with capacity when one was recycled).
    /// - Complexity: O(1).
    @inlinable
    mutating func takeSpareActions() -> [Action] {
        var actions: [Action] = []
        swap(&actions, &spareActions)
        return actions
    }

    /// Hands back an action list the actor has carried out, to be reused. Keeps the larger of the
    /// spare and `actions` when its capacity is modest (a shutdown's list is let go).
    /// - Complexity: O(k) for the k actions destroyed.
    @inlinable
    package mutating func recycle(_ actions: inout [Action]) {
        guard actions.capacity > spareActions.capacity, actions.capacity <= 64 else { return }
        actions.removeAll(keepingCapacity: true)
        swap(&actions, &spareActions)
    }

    // MARK: Connects

    @inlinable
    static func connectID(record: Int32, generation: UInt32) -> ConnectID {
        UInt64(generation) << 32 | UInt64(UInt32(bitPattern: record))
    }

    /// Starts a connect to `node` (absent from the table; `hash` from its look-up) with its first
    /// waiter. - Returns: the connect's ID. - Complexity: amortised O(1).
    @inlinable
    mutating func startConnect(_ node: NodeID, hash: Int, first: Attached) -> ConnectID {
        let record: Int32
        if let free = freeRecords.popLast() {
            record = free
        } else {
            record = Int32(records.count)
            records.append(Connect())
        }
        records[Int(record)].generation &+= 1
        records[Int(record)].isAllocated = true
        records[Int(record)].first = first
        records[Int(record)].slot = entries.insertConnecting(node, hash: hash, tag: record)
        inFlight += 1
        return Self.connectID(record: record, generation: records[Int(record)].generation)
    }

    /// The factory returned for connect `id`.
    ///
    /// On success the connection becomes the most recently used entry (leased by the callers that
    /// asked for a lease), evicting the least recently used idle entry when the pool is full, and
    /// every waiting caller gets it. On failure every waiting caller gets the same
    /// ``ConnectionPoolError/connectFailed`` and no entry changes. A connect that is no longer
    /// wanted (its node was removed, or the pool shut down) has its connection closed. An unknown
    /// ID is a no-op.
    /// - Complexity: O(k) for k callers waiting for it, plus the waiters it lets through.
    @inlinable
    package mutating func connectFinished(_ id: ConnectID, result: Result<Connection, any Error>) -> [Action] {
        let record = Int32(bitPattern: UInt32(truncatingIfNeeded: id))
        guard record >= 0, Int(record) < records.count, records[Int(record)].isAllocated,
              records[Int(record)].generation == UInt32(truncatingIfNeeded: id >> 32)
        else { return [] }
        // Move the record's contents out (copying it would copy its waiters), then free it.
        let slot = records[Int(record)].slot
        let first = records[Int(record)].first
        var others: [RequestID: Attached] = [:]
        swap(&others, &records[Int(record)].others)
        records[Int(record)].first = nil
        records[Int(record)].isAllocated = false
        records[Int(record)].slot = Entries.none
        freeRecords.append(record)
        inFlight -= 1
        var effects = takeSpareActions()
        effects.reserveCapacity(2 + others.count)
        guard slot != Entries.none else {
            switch result {
            case .success(let connection):
                effects.append(.close(connection, .discarded))
                effects.append(.record(.connectDiscarded))
            case .failure:
                effects.append(.record(.connectFailed))
            }
            drainIfWaiting(into: &effects)
            return effects
        }
        switch result {
        case .failure(let error):
            entries.removeConnecting(slot)
            effects.append(.record(.connectFailed))
            let failure = ConnectionPoolError.connectFailed(error)
            if let first { effects.append(.resume(first.waiter, .failed(failure))) }
            for other in others.values { effects.append(.resume(other.waiter, .failed(failure))) }
        case .success(let connection):
            while entries.count >= limit, let victim = entries.leastRecentlyUsedIdle {
                effects.append(.close(entries.remove(victim).connection, .evicted))
            }
            if entries.count >= limit {
                entries.removeConnecting(slot)
                effects.append(.close(connection, .discarded))
                effects.append(.record(.connectDiscarded))
                if let first {
                    effects.append(.reject(.limitReached))
                    effects.append(.resume(first.waiter, .failed(.limitReached)))
                }
                for other in others.values {
                    effects.append(.reject(.limitReached))
                    effects.append(.resume(other.waiter, .failed(.limitReached)))
                }
            } else {
                var pins = first?.pin == true ? 1 : 0
                for other in others.values where other.pin { pins += 1 }
                let lease = entries.establish(slot, connection: connection, pins: pins)
                budget.recordSize(entries.count)
                if let first {
                    effects.append(.resume(first.waiter, .connected(connection, first.pin ? lease : nil)))
                }
                for other in others.values {
                    effects.append(.resume(other.waiter, .connected(connection, other.pin ? lease : nil)))
                }
            }
        }
        drainIfWaiting(into: &effects)
        return effects
    }
}
