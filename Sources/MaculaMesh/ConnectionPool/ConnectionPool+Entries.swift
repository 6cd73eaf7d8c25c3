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

/// The entries of a connection pool, established and connecting, in exact recency order: an
/// open-addressing hash table from node to slot, and slots threaded on two index-linked
/// doubly-linked lists.
///
/// - The **table** maps a node to its slot. Each bucket is 8 bytes: the slot index and the low 32
///   bits of the node's hash (so probes rarely touch a slot, and growing never rehashes a node).
///   Linear probing, at most half full, deletion by backward shift (no tombstones).
/// - A **slot** is 32 bytes for an `Int` node ID and a class connection: node, connection, two
///   links, lease count, generation. A connecting slot has no connection yet; its first link
///   holds a tag the core chooses (the index of its connect record).
/// - The **idle list** holds the unpinned established entries, most recently used at the head.
///   Its tail is the least recently used entry that may be evicted, so finding the victim is O(1).
/// - The **pinned list** holds the entries leased by at least one caller, most recently used at
///   the head. Pinned entries are kept off the idle list, so they are never eviction candidates;
///   when the last lease ends the entry goes back to the head of the idle list (its release counts
///   as a use).
///
/// Every touch moves the entry, so recency is exact whatever the clock's resolution: there are no
/// timestamps to tie. Slots are reused through a free list; a generation number per slot makes
/// stale leases harmless. Indices are 32-bit to keep the per-entry overhead small.
@usableFromInline
package struct ConnectionPoolEntries<NodeID: Hashable & Sendable, Connection: Sendable>: Sendable {
    @usableFromInline package typealias Lease = ConnectionPoolLease

    @usableFromInline
    struct Slot: Sendable {
        /// The occupant's node; left in place (stale) while the slot is free.
        @usableFromInline var node: NodeID
        /// nil while the slot is connecting or free.
        @usableFromInline var connection: Connection?
        /// The previous entry in its list; for a connecting slot, the core's tag.
        @usableFromInline var previous: Int32
        /// The next entry in its list, or the next free slot.
        @usableFromInline var next: Int32
        /// Leases; `Entries.connecting` for a connecting slot.
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

    /// What the table holds for a node.
    @usableFromInline
    enum Lookup {
        case established(Int32)
        case connecting(Int32)
        /// Absent; the hash to give ``insertConnecting(_:hash:tag:)``.
        case absent(hash: Int)
    }

    @inlinable static var none: Int32 { -1 }
    /// The `pins` value that marks a connecting slot.
    @inlinable static var connecting: Int32 { -1 }

    /// Buckets: 0 when empty, else `(slot + 1) << 32 | low 32 bits of the node's hash`.
    @usableFromInline var buckets: ContiguousArray<UInt64> = ContiguousArray(repeating: 0, count: 8)
    @usableFromInline var slots: ContiguousArray<Slot> = []
    /// Free slots, linked through `next`.
    @usableFromInline var freeHead: Int32 = -1
    @usableFromInline var idle = List()
    @usableFromInline var pinned = List()

    /// Established entries.
    @usableFromInline var count = 0
    /// Established entries with at least one lease.
    @usableFromInline var pinnedCount = 0
    /// Connecting slots.
    @usableFromInline var connectingCount = 0

    @inlinable init() {}

    // MARK: Slots

    @inlinable
    mutating func allocateSlot(_ node: NodeID, connection: Connection?, previous: Int32, pins: Int32) -> Int32 {
        if freeHead != Self.none {
            let slot = freeHead
            freeHead = slots[Int(slot)].next
            slots[Int(slot)].node = node
            slots[Int(slot)].connection = connection
            slots[Int(slot)].previous = previous
            slots[Int(slot)].next = Self.none
            slots[Int(slot)].pins = pins
            return slot
        }
        slots.append(Slot(node: node, connection: connection, previous: previous, next: Self.none, pins: pins, generation: 0))
        return Int32(slots.count &- 1)
    }

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

    // MARK: Queries

    /// The connection in an established slot. - Complexity: O(1).
    @inlinable
    func connection(at slot: Int32) -> Connection { slots[Int(slot)].connection! }

    /// The node of an occupied slot. - Complexity: O(1).
    @inlinable
    func node(at slot: Int32) -> NodeID { slots[Int(slot)].node }

    /// How many leases the established entry in `slot` has. - Complexity: O(1).
    @inlinable
    func pins(at slot: Int32) -> Int { Int(slots[Int(slot)].pins) }

    /// The core's tag of a connecting slot. - Complexity: O(1).
    @inlinable
    func connectingTag(at slot: Int32) -> Int32 { slots[Int(slot)].previous }

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

    /// Every established entry, leased ones first, each group most recently used first.
    /// - Complexity: O(n).
    func inRecencyOrder() -> [(node: NodeID, connection: Connection, pins: Int)] {
        var result: [(node: NodeID, connection: Connection, pins: Int)] = []
        result.reserveCapacity(count)
        for list in [pinned, idle] {
            var cursor = list.head
            while cursor != Self.none {
                let entry = slots[Int(cursor)]
                result.append((entry.node, entry.connection!, Int(entry.pins)))
                cursor = entry.next
            }
        }
        return result
    }

    /// The established slots in no particular order. - Complexity: O(n).
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

    /// Adds a connecting slot for `node` (which the table does not hold), with the core's `tag`.
    /// - Parameter hash: `node.hashValue`, from ``lookup(_:)``.
    /// - Returns: the slot.
    /// - Complexity: amortised O(1).
    @inlinable
    mutating func insertConnecting(_ node: NodeID, hash: Int, tag: Int32) -> Int32 {
        let slot = allocateSlot(node, connection: nil, previous: tag, pins: Self.connecting)
        tableInsert(slot: slot, hash: hash)
        connectingCount += 1
        return slot
    }

    /// Removes a connecting slot (its connect failed or was abandoned). - Complexity: O(1) expected.
    @inlinable
    mutating func removeConnecting(_ slot: Int32) {
        tableRemove(slot: slot)
        _ = freeSlot(slot)
        connectingCount -= 1
    }

    /// Makes a connecting slot an established entry, the most recently used, with `pins` leases.
    /// - Returns: the lease for the entry (meaningful when `pins > 0`).
    /// - Complexity: O(1).
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

    /// Inserts `node` (which the table does not hold) as the most recently used established
    /// entry, with `pins` leases. - Returns: the lease. - Complexity: amortised O(1).
    @inlinable @discardableResult
    mutating func insert(_ node: NodeID, connection: Connection, pins: Int) -> Lease {
        let slot = insertConnecting(node, hash: node.hashValue, tag: Self.none)
        return establish(slot, connection: connection, pins: pins)
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

    /// Removes the established entry in `slot` and frees the slot; leases on it become stale.
    /// - Returns: the removed entry's node and connection, and whether it was pinned.
    /// - Complexity: O(1) expected.
    @inlinable @discardableResult
    mutating func remove(_ slot: Int32) -> (node: NodeID, connection: Connection, wasPinned: Bool) {
        let wasPinned = slots[Int(slot)].pins > 0
        unlink(slot, pinned: wasPinned)
        if wasPinned { pinnedCount -= 1 }
        tableRemove(slot: slot)
        let node = slots[Int(slot)].node
        let connection = freeSlot(slot)!
        count -= 1
        return (node, connection, wasPinned)
    }

    /// Removes every entry, established and connecting, and releases the storage.
    /// - Returns: the established connections, leased ones first, most recently used first.
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
}
