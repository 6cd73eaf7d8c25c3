/// A first-in-first-out queue whose elements can also be removed by ID, in O(1). Removal leaves a
/// tombstone skipped at the front; the queue compacts when tombstones outnumber live elements.
package struct FIFOQueue<ID: Hashable, Element> {
    private var order: [ID] = []
    private var head = 0
    private var elements: [ID: Element] = [:]

    package init() {}

    package var count: Int { elements.count }
    package var isEmpty: Bool { elements.isEmpty }

    package func contains(_ id: ID) -> Bool { elements[id] != nil }
    package subscript(id: ID) -> Element? { elements[id] }

    /// Appends `element` under `id` (which must not be queued already). - Complexity: amortised O(1).
    package mutating func append(_ element: Element, id: ID) {
        precondition(elements[id] == nil, "FIFOQueue: duplicate ID")
        elements[id] = element
        order.append(id)
    }

    /// - Returns: the element queued under `id`, or nil (a no-op) when absent.
    /// - Complexity: amortised O(1).
    @discardableResult
    package mutating func remove(_ id: ID) -> Element? {
        guard let element = elements.removeValue(forKey: id) else { return nil }
        compactIfNeeded()
        return element
    }

    /// The oldest element, without removing it. - Complexity: amortised O(1).
    package mutating func first() -> (id: ID, element: Element)? {
        skipTombstones()
        guard head < order.count else { return nil }
        let id = order[head]
        return (id, elements[id]!)
    }

    /// Removes and returns the oldest element. - Complexity: amortised O(1).
    package mutating func popFirst() -> (id: ID, element: Element)? {
        skipTombstones()
        guard head < order.count else { return nil }
        let id = order[head]
        head += 1
        let element = elements.removeValue(forKey: id)!
        compactIfNeeded()
        return (id, element)
    }

    /// Removes everything, returning the elements oldest first. - Complexity: O(n).
    package mutating func removeAll() -> [(id: ID, element: Element)] {
        var all: [(id: ID, element: Element)] = []
        all.reserveCapacity(elements.count)
        while let next = popFirst() { all.append(next) }
        order.removeAll()
        head = 0
        return all
    }

    private mutating func skipTombstones() {
        while head < order.count, elements[order[head]] == nil { head += 1 }
    }

    private mutating func compactIfNeeded() {
        let stored = order.count - head
        if elements.isEmpty {
            order.removeAll(keepingCapacity: order.count < 1024)
            head = 0
        } else if stored > 32 && stored > 2 * elements.count {
            order = order[head...].filter { elements[$0] != nil }
            head = 0
        }
    }
}

extension FIFOQueue: Sendable where ID: Sendable, Element: Sendable {}
