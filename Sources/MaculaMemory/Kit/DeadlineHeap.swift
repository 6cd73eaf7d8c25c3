/// A binary min-heap of deadlines addressed by **slot**: an `Int32` index into the caller's own
/// storage, so nothing is hashed. Equal deadlines come out in the order they were set (a moved
/// deadline counts as newly set). The caller must not reuse a slot while it holds a deadline.
///
/// The hot methods are pre-specialized (`@_specialize(exported: true, …)`) because `@inlinable
/// package` code is not inlined across modules on this toolchain; add a line for a new hot type.
package struct SlotDeadlineHeap<Deadline: Comparable & Sendable>: Sendable {
    @usableFromInline
    struct Node: Sendable {
        @usableFromInline var deadline: Deadline
        @usableFromInline var sequence: UInt64
        @usableFromInline var slot: Int32

        @inlinable
        init(deadline: Deadline, sequence: UInt64, slot: Int32) {
            self.deadline = deadline
            self.sequence = sequence
            self.slot = slot
        }

        @inlinable @inline(__always)
        func precedes(_ other: Node) -> Bool {
            deadline < other.deadline || (!(other.deadline < deadline) && sequence < other.sequence)
        }
    }

    @usableFromInline var nodes: [Node] = []
    /// `positions[slot]` is the slot's index in `nodes`, or -1 while it holds no deadline.
    @usableFromInline var positions: [Int32] = []
    @usableFromInline var nextSequence: UInt64 = 0

    @inlinable
    package init() {}

    @inlinable
    package var count: Int { nodes.count }
    @inlinable
    package var isEmpty: Bool { nodes.isEmpty }

    /// The earliest deadline and its slot. - Complexity: O(1).
    @inlinable
    package var first: (slot: Int32, deadline: Deadline)? {
        guard let top = nodes.first else { return nil }
        return (top.slot, top.deadline)
    }

    /// Whether `slot` holds a deadline. - Complexity: O(1).
    @inlinable
    package func contains(_ slot: Int32) -> Bool {
        Int(slot) < positions.count && positions[Int(slot)] >= 0
    }

    /// The deadline `slot` holds, if any. - Complexity: O(1).
    @inlinable
    package func deadline(of slot: Int32) -> Deadline? {
        contains(slot) ? nodes[Int(positions[Int(slot)])].deadline : nil
    }

    /// Sets `slot`'s deadline, inserting it or moving it. - Complexity: O(log n).
    /// - Precondition: `slot >= 0`.
    @inlinable
    @_specialize(exported: true, where Deadline == Duration)
    @_specialize(exported: true, where Deadline == Int64)
    package mutating func set(_ slot: Int32, deadline: Deadline) {
        precondition(slot >= 0, "a slot is not negative")
        nextSequence &+= 1
        let node = Node(deadline: deadline, sequence: nextSequence, slot: slot)
        if contains(slot) {
            let index = Int(positions[Int(slot)])
            nodes[index] = node
            siftUp(from: index)
            siftDown(from: Int(positions[Int(slot)]))
            return
        }
        while positions.count <= Int(slot) { positions.append(-1) }
        nodes.append(node)
        siftUp(from: nodes.count - 1)
    }

    /// Removes `slot`'s deadline. - Returns: the deadline it had, or nil (a no-op) when it had none.
    /// - Complexity: O(log n).
    @inlinable
    @discardableResult
    @_specialize(exported: true, where Deadline == Duration)
    @_specialize(exported: true, where Deadline == Int64)
    package mutating func remove(_ slot: Int32) -> Deadline? {
        guard contains(slot) else { return nil }
        return removeNode(at: Int(positions[Int(slot)]))
    }

    /// Removes and returns the earliest deadline and its slot. - Complexity: O(log n).
    @inlinable
    @_specialize(exported: true, where Deadline == Duration)
    @_specialize(exported: true, where Deadline == Int64)
    package mutating func popFirst() -> (slot: Int32, deadline: Deadline)? {
        guard let top = nodes.first else { return nil }
        removeNode(at: 0)
        return (top.slot, top.deadline)
    }

    /// Removes every deadline at or before `now`, in no particular order, and appends their slots
    /// to `removed`: one at a time while few are due, then the rest in one pass and a rebuild.
    /// - Complexity: O(min(k log n, n)) for k deadlines removed; O(1) when none is due.
    @inlinable
    @_specialize(exported: true, where Deadline == Duration)
    @_specialize(exported: true, where Deadline == Int64)
    package mutating func removeDue(at now: Deadline, into removed: inout [Int32]) {
        let log2 = Int.bitWidth - nodes.count.leadingZeroBitCount
        let popBudget = max(16, nodes.count / max(1, 3 * log2))
        var popped = 0
        while let top = nodes.first, !(now < top.deadline) {
            guard popped < popBudget else {
                removeDueInOnePass(at: now, into: &removed)
                return
            }
            removed.append(top.slot)
            removeNode(at: 0)
            popped += 1
        }
    }

    /// Removes every due node in one pass, then restores the heap bottom-up (Floyd). - Complexity: O(n).
    @inlinable
    mutating func removeDueInOnePass(at now: Deadline, into removed: inout [Int32]) {
        var kept: [Node] = []
        kept.reserveCapacity(nodes.count)
        for node in nodes {
            if now < node.deadline {
                positions[Int(node.slot)] = Int32(truncatingIfNeeded: kept.count)
                kept.append(node)
            } else {
                positions[Int(node.slot)] = -1
                removed.append(node.slot)
            }
        }
        nodes = kept
        var index = nodes.count / 2 - 1
        while index >= 0 {
            siftDown(from: index)
            index -= 1
        }
        dropPositionsIfEmpty()
    }

    /// Removes every deadline. - Complexity: O(n).
    @inlinable
    package mutating func removeAll() {
        nodes.removeAll()
        positions.removeAll()
    }

    @inlinable
    @discardableResult
    mutating func removeNode(at index: Int) -> Deadline {
        let removed = nodes[index]
        positions[Int(removed.slot)] = -1
        let last = nodes.removeLast()
        if index < nodes.count {
            nodes[index] = last
            positions[Int(last.slot)] = Int32(truncatingIfNeeded: index)
            siftUp(from: index)
            siftDown(from: Int(positions[Int(last.slot)]))
        }
        dropPositionsIfEmpty()
        return removed.deadline
    }

    /// An empty heap drops its position table.
    @inlinable
    mutating func dropPositionsIfEmpty() {
        if nodes.isEmpty { positions.removeAll(keepingCapacity: positions.capacity < 1024) }
    }

    @inlinable
    mutating func siftUp(from start: Int) {
        var child = start
        let node = nodes[child]
        while child > 0 {
            let parent = (child - 1) / 2
            guard node.precedes(nodes[parent]) else { break }
            nodes[child] = nodes[parent]
            positions[Int(nodes[child].slot)] = Int32(truncatingIfNeeded: child)
            child = parent
        }
        nodes[child] = node
        positions[Int(node.slot)] = Int32(truncatingIfNeeded: child)
    }

    @inlinable
    mutating func siftDown(from start: Int) {
        var parent = start
        let node = nodes[parent]
        let count = nodes.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { break }
            let right = left + 1
            let child = right < count && nodes[right].precedes(nodes[left]) ? right : left
            guard nodes[child].precedes(node) else { break }
            nodes[parent] = nodes[child]
            positions[Int(nodes[parent].slot)] = Int32(truncatingIfNeeded: parent)
            parent = child
        }
        nodes[parent] = node
        positions[Int(node.slot)] = Int32(truncatingIfNeeded: parent)
    }
}

/// A min-heap of deadlines keyed by ID: a ``SlotDeadlineHeap`` plus a table from ID to slot, so an
/// ID is hashed once per operation. Equal deadlines come out in insertion order. Pre-specialized
/// like ``SlotDeadlineHeap``.
package struct DeadlineHeap<ID: Hashable & Sendable, Deadline: Comparable & Sendable>: Sendable {
    @usableFromInline var byDeadline = SlotDeadlineHeap<Deadline>()
    /// `ids[slot]` is the ID held in `slot`, nil while the slot is free.
    @usableFromInline var ids: [ID?] = []
    @usableFromInline var freeSlots: [Int32] = []
    @usableFromInline var slotOf: [ID: Int32] = [:]

    @inlinable
    package init() {}

    @inlinable
    package var count: Int { byDeadline.count }
    @inlinable
    package var isEmpty: Bool { byDeadline.isEmpty }

    /// The earliest deadline and its ID. - Complexity: O(1).
    @inlinable
    package var first: (id: ID, deadline: Deadline)? {
        byDeadline.first.map { (ids[Int($0.slot)]!, $0.deadline) }
    }

    /// The deadline of `id`, if it has one. - Complexity: O(1).
    @inlinable
    package func deadline(of id: ID) -> Deadline? {
        slotOf[id].flatMap { byDeadline.deadline(of: $0) }
    }

    @inlinable
    package func contains(_ id: ID) -> Bool { slotOf[id] != nil }

    /// A moved entry counts as newly inserted for ties. - Complexity: O(log n).
    @inlinable
    @_specialize(exported: true, where ID == String, Deadline == Duration)
    @_specialize(exported: true, where ID == UInt64, Deadline == Int64)
    package mutating func set(_ id: ID, deadline: Deadline) {
        if let slot = slotOf[id] {
            byDeadline.set(slot, deadline: deadline)
            return
        }
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            ids[Int(slot)] = id
        } else {
            precondition(ids.count < Int(Int32.max), "at most Int32.max deadlines")
            slot = Int32(truncatingIfNeeded: ids.count)
            ids.append(id)
        }
        slotOf[id] = slot
        byDeadline.set(slot, deadline: deadline)
    }

    /// Removes `id`'s deadline. - Returns: the deadline it had, or nil (a no-op) when it had none.
    /// - Complexity: O(log n).
    @inlinable
    @discardableResult
    @_specialize(exported: true, where ID == String, Deadline == Duration)
    @_specialize(exported: true, where ID == UInt64, Deadline == Int64)
    package mutating func remove(_ id: ID) -> Deadline? {
        guard let slot = slotOf.removeValue(forKey: id) else { return nil }
        let deadline = byDeadline.remove(slot)
        release(slot)
        return deadline
    }

    /// Removes and returns the earliest entry. - Complexity: O(log n).
    @inlinable
    @_specialize(exported: true, where ID == String, Deadline == Duration)
    @_specialize(exported: true, where ID == UInt64, Deadline == Int64)
    package mutating func popFirst() -> (id: ID, deadline: Deadline)? {
        guard let top = byDeadline.popFirst(), let id = ids[Int(top.slot)] else { return nil }
        slotOf.removeValue(forKey: id)
        release(top.slot)
        return (id, top.deadline)
    }

    /// Removes and returns, earliest first, every entry whose deadline is at or before `now`.
    /// - Complexity: O(k log n) for k entries returned.
    @inlinable
    @_specialize(exported: true, where ID == String, Deadline == Duration)
    @_specialize(exported: true, where ID == UInt64, Deadline == Int64)
    package mutating func popDue(at now: Deadline) -> [(id: ID, deadline: Deadline)] {
        var due: [(id: ID, deadline: Deadline)] = []
        while let top = byDeadline.first, !(now < top.deadline) {
            due.append(popFirst()!)
        }
        return due
    }

    /// Removes every entry whose deadline is at or before `now`, in no particular order (a prune).
    /// - Returns: the IDs removed.
    /// - Complexity: O(min(k log n, n)) for k entries removed; O(1) when none is due.
    @inlinable
    @_specialize(exported: true, where ID == String, Deadline == Duration)
    @_specialize(exported: true, where ID == UInt64, Deadline == Int64)
    package mutating func removeDue(at now: Deadline) -> [ID] {
        var slots: [Int32] = []
        byDeadline.removeDue(at: now, into: &slots)
        var removed: [ID] = []
        removed.reserveCapacity(slots.count)
        for slot in slots {
            let id = ids[Int(slot)]!
            slotOf.removeValue(forKey: id)
            removed.append(id)
            ids[Int(slot)] = nil
            freeSlots.append(slot)
        }
        dropSlotsIfEmpty()
        return removed
    }

    /// Removes everything. - Returns: the IDs that were held, in no particular order.
    @inlinable
    package mutating func removeAll() -> [ID] {
        let removed = Array(slotOf.keys)
        byDeadline.removeAll()
        ids.removeAll()
        freeSlots.removeAll()
        slotOf.removeAll()
        return removed
    }

    @inlinable
    mutating func release(_ slot: Int32) {
        ids[Int(slot)] = nil
        freeSlots.append(slot)
        dropSlotsIfEmpty()
    }

    /// An empty heap drops its slot table.
    @inlinable
    mutating func dropSlotsIfEmpty() {
        if byDeadline.isEmpty {
            ids.removeAll(keepingCapacity: ids.capacity < 1024)
            freeSlots.removeAll(keepingCapacity: freeSlots.capacity < 1024)
        }
    }
}
