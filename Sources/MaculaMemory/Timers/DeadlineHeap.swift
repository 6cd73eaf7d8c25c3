/// An indexed binary min-heap of deadlines keyed by ID: the one ordered structure an actor keeps
/// for all of its deadlines (TTL expiries, call timeouts, waiting deadlines).
///
/// Equal deadlines come out in insertion order, so deadline order is deterministic.
package struct DeadlineHeap<ID: Hashable & Sendable, Deadline: Comparable & Sendable>: Sendable {
    private struct Node: Sendable {
        var deadline: Deadline
        var sequence: UInt64
        var id: ID
        @inline(__always)
        func precedes(_ other: Node) -> Bool {
            deadline < other.deadline || (!(other.deadline < deadline) && sequence < other.sequence)
        }
    }

    private var nodes: [Node] = []
    private var positions: [ID: Int] = [:]
    private var nextSequence: UInt64 = 0

    package init() {}

    /// Number of deadlines held.
    package var count: Int { nodes.count }
    package var isEmpty: Bool { nodes.isEmpty }

    /// The earliest deadline and its ID. - Complexity: O(1).
    package var first: (id: ID, deadline: Deadline)? {
        nodes.first.map { ($0.id, $0.deadline) }
    }

    /// The deadline of `id`, if it has one. - Complexity: O(1).
    package func deadline(of id: ID) -> Deadline? {
        positions[id].map { nodes[$0].deadline }
    }

    package func contains(_ id: ID) -> Bool { positions[id] != nil }

    /// Sets `id`'s deadline, inserting it or moving it. A moved entry counts as newly inserted for
    /// ties. - Complexity: O(log n).
    package mutating func set(_ id: ID, deadline: Deadline) {
        nextSequence &+= 1
        let node = Node(deadline: deadline, sequence: nextSequence, id: id)
        if let index = positions[id] {
            nodes[index] = node
            siftUp(from: index)
            siftDown(from: positions[id]!)
        } else {
            nodes.append(node)
            positions[id] = nodes.count - 1
            siftUp(from: nodes.count - 1)
        }
    }

    /// Removes `id`'s deadline. - Returns: the deadline it had, or nil (a no-op) when it had none.
    /// - Complexity: O(log n).
    @discardableResult
    package mutating func remove(_ id: ID) -> Deadline? {
        guard let index = positions.removeValue(forKey: id) else { return nil }
        let removed = nodes[index]
        let last = nodes.removeLast()
        if index < nodes.count {
            nodes[index] = last
            positions[last.id] = index
            siftUp(from: index)
            siftDown(from: positions[last.id]!)
        }
        return removed.deadline
    }

    /// Removes and returns the earliest entry. - Complexity: O(log n).
    package mutating func popFirst() -> (id: ID, deadline: Deadline)? {
        guard let top = nodes.first else { return nil }
        remove(top.id)
        return (top.id, top.deadline)
    }

    /// Removes and returns, earliest first, every entry whose deadline is at or before `now`.
    /// - Complexity: O(k log n) for k entries returned.
    package mutating func popDue(at now: Deadline) -> [(id: ID, deadline: Deadline)] {
        var due: [(id: ID, deadline: Deadline)] = []
        while let top = nodes.first, !(now < top.deadline) {
            due.append(popFirst()!)
        }
        return due
    }

    /// Removes everything. - Returns: the IDs that were held, in no particular order.
    package mutating func removeAll() -> [ID] {
        let ids = nodes.map(\.id)
        nodes.removeAll()
        positions.removeAll()
        return ids
    }

    private mutating func siftUp(from start: Int) {
        var child = start
        let node = nodes[child]
        while child > 0 {
            let parent = (child - 1) / 2
            guard node.precedes(nodes[parent]) else { break }
            nodes[child] = nodes[parent]
            positions[nodes[child].id] = child
            child = parent
        }
        nodes[child] = node
        positions[node.id] = child
    }

    private mutating func siftDown(from start: Int) {
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
            positions[nodes[parent].id] = parent
            parent = child
        }
        nodes[parent] = node
        positions[node.id] = parent
    }
}

