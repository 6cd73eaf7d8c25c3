/// One lease on one entry: its slot and the slot's generation when the lease was taken. Once the
/// entry leaves, the generation differs and ending the lease is a no-op.
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

/// The entries in exact recency order: a `Dictionary` from node to slot, and slots on two
/// index-linked lists, most recently used first: idle (its tail is the eviction victim) and
/// pinned (leased). A connecting slot is on no list; free slots are linked through `next`.
@usableFromInline
package struct ConnectionPoolEntries<NodeID: Hashable & Sendable, Connection: Sendable>: Sendable {
    @usableFromInline package typealias Lease = ConnectionPoolLease

    @usableFromInline
    struct Slot: Sendable {
        /// `node` is stale while free; `connection` nil while connecting or free; `previous` holds
        /// the core's tag while connecting; `next` links free slots; `pins` is `connecting` while
        /// connecting.
        @usableFromInline var node: NodeID
        @usableFromInline var connection: Connection?
        @usableFromInline var previous: Int32
        @usableFromInline var next: Int32
        @usableFromInline var pins: Int32
        @usableFromInline var generation: UInt32

        @inlinable
        init(node: NodeID, previous: Int32, pins: Int32) {
            self.node = node
            self.connection = nil
            self.previous = previous
            self.next = -1
            self.pins = pins
            self.generation = 0
        }
    }

    @usableFromInline
    struct List: Sendable {
        @usableFromInline var head: Int32 = -1
        @usableFromInline var tail: Int32 = -1

        @inlinable init() {}
    }

    @usableFromInline
    enum Lookup {
        case established(Int32)
        case connecting(Int32)
        case absent
        /// Was absent; now a connecting slot (``lookupOrReserve(_:tag:)``).
        case reserved(Int32)
    }

    @inlinable static var none: Int32 { -1 }
    @inlinable static var connecting: Int32 { -1 }

    @usableFromInline var index: [NodeID: Int32] = [:]
    @usableFromInline var slots: ContiguousArray<Slot> = []
    @usableFromInline var freeHead: Int32 = -1
    @usableFromInline var idle = List()
    @usableFromInline var pinned = List()

    /// Established entries, and those with at least one lease.
    @usableFromInline var count = 0
    @usableFromInline package var pinnedCount = 0
    @usableFromInline var connectingCount = 0

    @inlinable init() {}

    /// Where `node` stands. - Complexity: O(1) expected.
    @inlinable
    func lookup(_ node: NodeID) -> Lookup {
        guard let slot = index[node] else { return .absent }
        return slots[Int(slot)].pins == Self.connecting ? .connecting(slot) : .established(slot)
    }

    /// Where `node` stands; an absent node gets a connecting slot tagged `tag`, with one hash.
    /// - Complexity: amortised O(1).
    @inlinable
    mutating func lookupOrReserve(_ node: NodeID, tag: Int32) -> Lookup {
        let candidate = freeHead != Self.none ? freeHead : Int32(truncatingIfNeeded: slots.count)
        let found = Self.claim(&index[node, default: Self.none], for: candidate)
        if found != Self.none {
            return slots[Int(found)].pins == Self.connecting ? .connecting(found) : .established(found)
        }
        if freeHead != Self.none {
            freeHead = slots[Int(candidate)].next
            slots[Int(candidate)].node = node
            slots[Int(candidate)].previous = tag
            slots[Int(candidate)].next = Self.none
            slots[Int(candidate)].pins = Self.connecting
        } else {
            slots.append(Slot(node: node, previous: tag, pins: Self.connecting))
        }
        connectingCount += 1
        return .reserved(candidate)
    }

    /// Sets an absent (`none`) map value to `candidate`. - Returns: the value found.
    /// - Complexity: O(1).
    @inlinable
    static func claim(_ value: inout Int32, for candidate: Int32) -> Int32 {
        let found = value
        if found == none { value = candidate }
        return found
    }

    /// The slot of `node` if it is established. - Complexity: O(1) expected.
    @inlinable
    func slot(of node: NodeID) -> Int32? {
        if case .established(let slot) = lookup(node) { return slot }
        return nil
    }

    /// The connection in an established slot. - Complexity: O(1).
    @inlinable
    func connection(at slot: Int32) -> Connection { slots[Int(slot)].connection! }

    /// The node of an occupied slot. - Complexity: O(1).
    @inlinable
    func node(at slot: Int32) -> NodeID { slots[Int(slot)].node }

    /// The leases on an established slot. - Complexity: O(1).
    @inlinable
    func pins(at slot: Int32) -> Int { Int(slots[Int(slot)].pins) }

    /// The core's tag of a connecting slot. - Complexity: O(1).
    @inlinable
    func connectingTag(at slot: Int32) -> Int32 { slots[Int(slot)].previous }

    /// The least recently used idle entry. - Complexity: O(1).
    @inlinable
    var leastRecentlyUsedIdle: Int32? { idle.tail == Self.none ? nil : idle.tail }

    /// Whether `lease` is still a lease on a live entry. - Complexity: O(1).
    @inlinable
    func isCurrent(_ lease: Lease) -> Bool {
        lease.slot >= 0 && Int(lease.slot) < slots.count
            && slots[Int(lease.slot)].generation == lease.generation
            && slots[Int(lease.slot)].connection != nil
            && slots[Int(lease.slot)].pins > 0
    }

    /// Every established entry, leased ones first, each group most recently used first.
    /// - Complexity: O(n).
    func inRecencyOrder() -> [(node: NodeID, connection: Connection, pins: Int)] {
        occupiedSlots().map { (slots[Int($0)].node, slots[Int($0)].connection!, Int(slots[Int($0)].pins)) }
    }

    /// The established slots, leased ones first, each group most recently used first.
    /// - Complexity: O(n).
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

    /// Adds a connecting slot for `node`, which must be absent, with the core's `tag`.
    /// - Returns: the slot. - Complexity: amortised O(1).
    @inlinable
    mutating func insertConnecting(_ node: NodeID, tag: Int32) -> Int32 {
        guard case .reserved(let slot) = lookupOrReserve(node, tag: tag) else {
            preconditionFailure("insertConnecting: \(node) is present")
        }
        return slot
    }

    /// Removes a connecting slot. - Complexity: O(1) expected.
    @inlinable
    mutating func removeConnecting(_ slot: Int32) {
        index.removeValue(forKey: slots[Int(slot)].node)
        _ = freeSlot(slot)
        connectingCount -= 1
    }

    /// Makes a connecting slot the most recently used entry with `pins` leases.
    /// - Returns: a lease on it. - Complexity: O(1).
    @inlinable
    mutating func establish(_ slot: Int32, connection: Connection, pins: Int) -> Lease {
        connectingCount -= 1
        count += 1
        slots[Int(slot)].connection = connection
        slots[Int(slot)].pins = Int32(pins)
        if pins > 0 { pinnedCount += 1 }
        pushFront(slot, pinned: pins > 0)
        return Lease(slot: slot, generation: slots[Int(slot)].generation)
    }

    /// Inserts `node`, which must be absent, as the most recently used entry with `pins` leases.
    /// - Returns: a lease on it. - Complexity: amortised O(1).
    @inlinable @discardableResult
    mutating func insert(_ node: NodeID, connection: Connection, pins: Int) -> Lease {
        establish(insertConnecting(node, tag: Self.none), connection: connection, pins: pins)
    }

    /// Marks an established entry most recently used. - Complexity: O(1).
    @inlinable
    mutating func touch(_ slot: Int32) {
        let isPinned = slots[Int(slot)].pins > 0
        if (isPinned ? pinned.head : idle.head) == slot { return }
        unlink(slot, pinned: isPinned)
        pushFront(slot, pinned: isPinned)
    }

    /// Adds a lease and marks the entry most recently used. - Complexity: O(1).
    @inlinable
    mutating func pin(_ slot: Int32) -> Lease {
        let wasPinned = slots[Int(slot)].pins > 0
        unlink(slot, pinned: wasPinned)
        slots[Int(slot)].pins += 1
        if !wasPinned { pinnedCount += 1 }
        pushFront(slot, pinned: true)
        return Lease(slot: slot, generation: slots[Int(slot)].generation)
    }

    /// Ends one lease; the last makes the entry idle and most recently used.
    /// - Returns: nil for a stale lease, else whether the entry became idle. - Complexity: O(1).
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

    /// Removes an established entry; its leases become stale.
    /// - Returns: its node and connection, and whether it was leased. - Complexity: O(1) expected.
    @inlinable @discardableResult
    mutating func remove(_ slot: Int32) -> (node: NodeID, connection: Connection, wasPinned: Bool) {
        let wasPinned = slots[Int(slot)].pins > 0
        unlink(slot, pinned: wasPinned)
        if wasPinned { pinnedCount -= 1 }
        let node = slots[Int(slot)].node
        index.removeValue(forKey: node)
        let connection = freeSlot(slot)!
        count -= 1
        return (node, connection, wasPinned)
    }

    /// Removes everything. - Returns: the connections in recency order. - Complexity: O(n).
    mutating func removeAll() -> [Connection] {
        let connections = inRecencyOrder().map(\.connection)
        self = ConnectionPoolEntries()
        return connections
    }

    /// Frees a slot and bumps its generation. - Returns: its connection. - Complexity: O(1).
    @inlinable
    mutating func freeSlot(_ slot: Int32) -> Connection? {
        let connection = slots[Int(slot)].connection
        slots[Int(slot)].connection = nil
        slots[Int(slot)].pins = 0
        slots[Int(slot)].generation &+= 1
        slots[Int(slot)].previous = Self.none
        slots[Int(slot)].next = freeHead
        freeHead = slot
        return connection
    }

    /// Takes a slot off its list. - Complexity: O(1).
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

    /// Puts a slot at the head of a list. - Complexity: O(1).
    @inlinable
    mutating func pushFront(_ slot: Int32, pinned isPinned: Bool) {
        let head = isPinned ? pinned.head : idle.head
        slots[Int(slot)].previous = Self.none
        slots[Int(slot)].next = head
        if head != Self.none { slots[Int(head)].previous = slot }
        if isPinned {
            pinned.head = slot
            if pinned.tail == Self.none { pinned.tail = slot }
        } else {
            idle.head = slot
            if idle.tail == Self.none { idle.tail = slot }
        }
    }

    /// Every structural invariant, for tests. - Returns: the broken ones. - Complexity: O(capacity).
    func invariantViolations() -> [String] {
        var problems: [String] = []
        var seen = Set<Int32>()
        var pinnedSeen = 0
        for (list, isPinned) in [(pinned, true), (idle, false)] {
            var cursor = list.head
            var previous = Self.none
            while cursor != Self.none {
                guard seen.insert(cursor).inserted else { return problems + ["slot \(cursor) linked twice"] }
                let entry = slots[Int(cursor)]
                if entry.previous != previous { problems.append("slot \(cursor) has a wrong back link") }
                if entry.connection == nil { problems.append("slot \(cursor) without connection is linked") }
                if (entry.pins > 0) != isPinned { problems.append("slot \(cursor) is on the wrong list") }
                if index[entry.node] != cursor { problems.append("map does not send \(entry.node) to \(cursor)") }
                if isPinned { pinnedSeen += 1 }
                previous = cursor
                cursor = entry.next
            }
            if list.tail != previous { problems.append("\(isPinned ? "pinned" : "idle") tail is wrong") }
        }
        if seen.count != count { problems.append("count \(count) but \(seen.count) linked") }
        if pinnedSeen != pinnedCount { problems.append("pinnedCount \(pinnedCount) but \(pinnedSeen) pinned") }
        var connecting = 0
        for (node, slot) in index {
            guard slot >= 0, Int(slot) < slots.count, slots[Int(slot)].node == node else {
                problems.append("map sends \(node) to a wrong slot \(slot)")
                continue
            }
            if slots[Int(slot)].pins == Self.connecting {
                connecting += 1
            } else if !seen.contains(slot) {
                problems.append("slot \(slot) in the map but in no list")
            }
        }
        if connecting != connectingCount { problems.append("connectingCount \(connectingCount) but \(connecting)") }
        if index.count != count + connectingCount { problems.append("map holds \(index.count), expected \(count) + \(connectingCount)") }
        var free = 0
        var cursor = freeHead
        while cursor != Self.none && free <= slots.count {
            if slots[Int(cursor)].connection != nil { problems.append("occupied slot \(cursor) is free") }
            free += 1
            cursor = slots[Int(cursor)].next
        }
        if free + index.count != slots.count { problems.append("\(free) free + \(index.count) used != \(slots.count) slots") }
        return problems
    }
}
