/// The established entries of a connection pool in exact recency order: a hash map from node to a
/// slot, and slots threaded on two index-linked doubly-linked lists.
///
/// - The **idle list** holds the unpinned entries, most recently used at the head. Its tail is the
///   least recently used entry that may be evicted, so finding the victim is O(1).
/// - The **pinned list** holds the entries leased by at least one caller, most recently used at
///   the head. Pinned entries are kept off the idle list, so they are never eviction candidates;
///   when the last lease ends the entry goes back to the head of the idle list (its release counts
///   as a use).
///
/// Every touch moves the entry, so recency is exact whatever the clock's resolution: there are no
/// timestamps to tie. Slots are reused through a free list; a generation number per slot makes
/// stale leases harmless. Indices are 32-bit to keep the per-entry overhead small (a slot is
/// 32 bytes for an `Int` node ID and a class connection).
/// One lease on one entry: its slot and the slot's generation when the lease was taken. When the
/// entry leaves, the slot's generation changes and the lease becomes a harmless no-op.
@usableFromInline
package struct ConnectionPoolLease: Hashable, Sendable {
    @usableFromInline var slot: Int32
    @usableFromInline var generation: UInt32

    @inlinable
    init(slot: Int32, generation: UInt32) {
        self.slot = slot
        self.generation = generation
    }
}

@usableFromInline
package struct ConnectionPoolEntries<NodeID: Hashable & Sendable, Connection: Sendable>: Sendable {
    @usableFromInline package typealias Lease = ConnectionPoolLease

    @usableFromInline
    struct Slot: Sendable {
        /// The occupant's node; left in place (stale) while the slot is free.
        @usableFromInline var node: NodeID
        /// nil while the slot is free.
        @usableFromInline var connection: Connection?
        @usableFromInline var previous: Int32
        @usableFromInline var next: Int32
        @usableFromInline var pins: Int32
        @usableFromInline var generation: UInt32

        @inlinable
        init(node: NodeID, connection: Connection?, previous: Int32, next: Int32, pins: Int32, generation: UInt32) {
            self.node = node
            self.connection = connection
            self.previous = previous
            self.next = next
            self.pins = pins
            self.generation = generation
        }
    }

    @usableFromInline
    struct List: Sendable {
        @usableFromInline var head: Int32 = -1
        @usableFromInline var tail: Int32 = -1

        @inlinable init() {}
    }

    @inlinable static var none: Int32 { -1 }

    @usableFromInline var index: [NodeID: Int32] = [:]
    @usableFromInline var slots: ContiguousArray<Slot> = []
    /// Free slots, linked through `next`.
    @usableFromInline var freeHead: Int32 = -1
    @usableFromInline var idle = List()
    @usableFromInline var pinned = List()

    /// Entries held.
    @usableFromInline var count = 0
    /// Entries with at least one lease.
    @usableFromInline var pinnedCount = 0

    @inlinable init() {}

    // MARK: Queries

    /// The slot of `node`, if it has an entry. - Complexity: O(1).
    @inlinable
    func slot(of node: NodeID) -> Int32? { index[node] }

    /// The connection in an occupied slot. - Complexity: O(1).
    @inlinable
    func connection(at slot: Int32) -> Connection { slots[Int(slot)].connection! }

    /// The node of an occupied slot. - Complexity: O(1).
    @inlinable
    func node(at slot: Int32) -> NodeID { slots[Int(slot)].node }

    /// How many leases the entry in `slot` has. - Complexity: O(1).
    @inlinable
    func pins(at slot: Int32) -> Int { Int(slots[Int(slot)].pins) }

    /// The least recently used unpinned entry: the eviction victim. - Complexity: O(1).
    @inlinable
    var leastRecentlyUsedIdle: Int32? { idle.tail == Self.none ? nil : idle.tail }

    /// Whether `lease` still refers to a live lease. - Complexity: O(1).
    @inlinable
    func isCurrent(_ lease: Lease) -> Bool {
        lease.slot >= 0 && Int(lease.slot) < slots.count
            && slots[Int(lease.slot)].generation == lease.generation
            && slots[Int(lease.slot)].connection != nil
            && slots[Int(lease.slot)].pins > 0
    }

    /// Every entry, leased ones first, each group most recently used first.
    /// - Complexity: O(n).
    func inRecencyOrder() -> [(node: NodeID, connection: Connection, pins: Int)] {
        var result: [(node: NodeID, connection: Connection, pins: Int)] = []
        result.reserveCapacity(count)
        for list in [pinned, idle] {
            var cursor = list.head
            while cursor != Self.none {
                let slot = slots[Int(cursor)]
                result.append((slot.node, slot.connection!, Int(slot.pins)))
                cursor = slot.next
            }
        }
        return result
    }

    /// The occupied slots in no particular order. - Complexity: O(n).
    func occupiedSlots() -> [Int32] {
        var result: [Int32] = []
        result.reserveCapacity(count)
        for list in [pinned, idle] {
            var cursor = list.head
            while cursor != Self.none {
                result.append(cursor)
                cursor = slots[Int(cursor)].next
            }
        }
        return result
    }

    // MARK: Changes

    /// Inserts `node` (which has no entry) as the most recently used entry, with `pins` leases.
    /// - Returns: the lease for the inserted entry (meaningful when `pins > 0`).
    /// - Complexity: amortised O(1).
    @inlinable @discardableResult
    mutating func insert(_ node: NodeID, connection: Connection, pins: Int) -> Lease {
        let slot: Int32
        if freeHead != Self.none {
            slot = freeHead
            freeHead = slots[Int(slot)].next
            slots[Int(slot)].node = node
            slots[Int(slot)].connection = connection
            slots[Int(slot)].pins = Int32(pins)
        } else {
            slot = Int32(slots.count)
            slots.append(Slot(node: node, connection: connection, previous: Self.none, next: Self.none,
                              pins: Int32(pins), generation: 0))
        }
        index[node] = slot
        count += 1
        if pins > 0 {
            pinnedCount += 1
            pushFront(slot, pinned: true)
        } else {
            pushFront(slot, pinned: false)
        }
        return Lease(slot: slot, generation: slots[Int(slot)].generation)
    }

    /// Marks the entry in `slot` most recently used. - Complexity: O(1).
    @inlinable
    mutating func touch(_ slot: Int32) {
        let isPinned = slots[Int(slot)].pins > 0
        if (isPinned ? pinned.head : idle.head) == slot { return }
        unlink(slot, pinned: isPinned)
        pushFront(slot, pinned: isPinned)
    }

    /// Adds a lease to the entry in `slot` and marks it most recently used.
    /// - Returns: the lease to pass to ``unpin(_:)``.
    /// - Complexity: O(1).
    @inlinable
    mutating func pin(_ slot: Int32) -> Lease {
        let wasPinned = slots[Int(slot)].pins > 0
        unlink(slot, pinned: wasPinned)
        slots[Int(slot)].pins += 1
        if !wasPinned { pinnedCount += 1 }
        pushFront(slot, pinned: true)
        return Lease(slot: slot, generation: slots[Int(slot)].generation)
    }

    /// Ends one lease. When it was the last, the entry becomes idle and most recently used.
    /// - Returns: nil when the lease is stale (its entry left since; a no-op), otherwise whether
    ///   the entry became idle.
    /// - Complexity: O(1).
    @inlinable
    mutating func unpin(_ lease: Lease) -> Bool? {
        guard isCurrent(lease) else { return nil }
        let slot = lease.slot
        slots[Int(slot)].pins -= 1
        guard slots[Int(slot)].pins == 0 else { return false }
        unlink(slot, pinned: true)
        pinnedCount -= 1
        pushFront(slot, pinned: false)
        return true
    }

    /// Removes the entry in `slot` and frees the slot; leases on it become stale.
    /// - Returns: the removed entry's node and connection, and whether it was pinned.
    /// - Complexity: O(1).
    @inlinable @discardableResult
    mutating func remove(_ slot: Int32) -> (node: NodeID, connection: Connection, wasPinned: Bool) {
        let wasPinned = slots[Int(slot)].pins > 0
        unlink(slot, pinned: wasPinned)
        if wasPinned { pinnedCount -= 1 }
        let node = slots[Int(slot)].node
        let connection = slots[Int(slot)].connection!
        index.removeValue(forKey: node)
        slots[Int(slot)].connection = nil
        slots[Int(slot)].pins = 0
        slots[Int(slot)].generation &+= 1
        slots[Int(slot)].previous = Self.none
        slots[Int(slot)].next = freeHead
        freeHead = slot
        count -= 1
        return (node, connection, wasPinned)
    }

    /// Removes every entry and releases the storage.
    /// - Returns: the connections that were held, leased ones first, most recently used first.
    /// - Complexity: O(n).
    mutating func removeAll() -> [Connection] {
        let connections = inRecencyOrder().map(\.connection)
        self = ConnectionPoolEntries()
        return connections
    }

    // MARK: Lists

    @inlinable
    mutating func unlink(_ slot: Int32, pinned isPinned: Bool) {
        let previous = slots[Int(slot)].previous
        let next = slots[Int(slot)].next
        if previous != Self.none {
            slots[Int(previous)].next = next
        } else if isPinned {
            pinned.head = next
        } else {
            idle.head = next
        }
        if next != Self.none {
            slots[Int(next)].previous = previous
        } else if isPinned {
            pinned.tail = previous
        } else {
            idle.tail = previous
        }
    }

    @inlinable
    mutating func pushFront(_ slot: Int32, pinned isPinned: Bool) {
        let head = isPinned ? pinned.head : idle.head
        slots[Int(slot)].previous = Self.none
        slots[Int(slot)].next = head
        if head != Self.none {
            slots[Int(head)].previous = slot
        }
        if isPinned {
            pinned.head = slot
            if pinned.tail == Self.none { pinned.tail = slot }
        } else {
            idle.head = slot
            if idle.tail == Self.none { idle.tail = slot }
        }
    }

    // MARK: Checking

    /// Every structural invariant, for tests: the lists, the index, the counts and the free list
    /// agree. - Returns: the broken invariants, empty when all hold. - Complexity: O(capacity).
    func invariantViolations() -> [String] {
        var problems: [String] = []
        var seen = Set<Int32>()
        var pinnedSeen = 0
        for (list, isPinned) in [(pinned, true), (idle, false)] {
            var cursor = list.head
            var previous = Self.none
            while cursor != Self.none {
                guard seen.insert(cursor).inserted else {
                    problems.append("slot \(cursor) linked twice")
                    return problems
                }
                let slot = slots[Int(cursor)]
                if slot.previous != previous { problems.append("slot \(cursor) has a wrong back link") }
                if slot.connection == nil { problems.append("free slot \(cursor) is linked") }
                if (slot.pins > 0) != isPinned { problems.append("slot \(cursor) is on the wrong list") }
                if index[slot.node] != cursor { problems.append("index does not map \(slot.node) to \(cursor)") }
                if isPinned { pinnedSeen += 1 }
                previous = cursor
                cursor = slot.next
            }
            if list.tail != previous { problems.append("\(isPinned ? "pinned" : "idle") tail is wrong") }
        }
        if seen.count != count { problems.append("count \(count) but \(seen.count) linked") }
        if index.count != count { problems.append("index holds \(index.count), count is \(count)") }
        if pinnedSeen != pinnedCount { problems.append("pinnedCount \(pinnedCount) but \(pinnedSeen) pinned") }
        var free = 0
        var cursor = freeHead
        while cursor != Self.none && free <= slots.count {
            if slots[Int(cursor)].connection != nil { problems.append("occupied slot \(cursor) is free") }
            free += 1
            cursor = slots[Int(cursor)].next
        }
        if free + count != slots.count { problems.append("\(free) free + \(count) used != \(slots.count) slots") }
        return problems
    }
}
