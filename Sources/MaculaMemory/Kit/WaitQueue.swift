/// The bounded first-come-first-served queue of callers waiting for room, each with a deadline,
/// under the shared admission rules of ``RunLifecycle``. Invariant: every queued caller has exactly
/// one deadline, and nothing else has one.
package struct WaitQueue<Element: Sendable>: Sendable {
    package enum Refusal: Error, Sendable, Hashable {
        /// Capacity 0.
        case noWaiting
        case full
        case notRunning
        case shutDown
    }

    package struct Queued: Sendable, Hashable {
        package var id: UInt64
        /// The deadline loop must wake.
        package var isEarliest: Bool
        /// Set when `run()` has not started.
        package var beforeRun: AcceptedBeforeRun?
    }

    package let capacity: Int
    private var queue = FIFOQueue<UInt64, Element>()
    private var deadlines = DeadlineHeap<UInt64, Duration>()
    private var overdueBeforeRun = OverdueBeforeRun()
    private var lastID: UInt64 = 0

    package init(capacity: Int) {
        self.capacity = capacity
    }

    package var count: Int { queue.count }
    package var isEmpty: Bool { queue.isEmpty }
    /// The earliest deadline. - Complexity: O(1).
    package var nextDeadline: Duration? { deadlines.first?.deadline }
    package subscript(id: UInt64) -> Element? { queue[id] }

    /// - Throws: the ``Refusal``; nothing changes then. - Complexity: O(log w) for w waiting callers.
    package mutating func enqueue(
        _ element: Element, deadline: Duration, lifecycle: RunLifecycle, now: Duration
    ) throws(Refusal) -> Queued {
        guard capacity > 0 else { throw .noWaiting }
        switch lifecycle {
        case .notStarted, .running: break
        case .stopped: throw .notRunning
        case .shutDown: throw .shutDown
        }
        guard queue.count < capacity else { throw .full }
        let beforeRun = overdueBeforeRun.accept(lifecycle, earliestDeadline: nextDeadline, now: now)
        lastID &+= 1
        queue.append(element, id: lastID)
        deadlines.set(lastID, deadline: deadline)
        return Queued(id: lastID, isEarliest: deadlines.first?.id == lastID, beforeRun: beforeRun)
    }

    /// - Returns: the caller, or nil (a no-op) when it already left. - Complexity: O(log w).
    @discardableResult
    package mutating func remove(_ id: UInt64) -> Element? {
        guard let element = queue.remove(id) else { return nil }
        deadlines.remove(id)
        return element
    }

    /// The oldest caller, without removing it. - Complexity: amortised O(1).
    package mutating func first() -> (id: UInt64, element: Element)? { queue.first() }

    /// Removes and returns the oldest caller. - Complexity: O(log w).
    package mutating func popFirst() -> (id: UInt64, element: Element)? {
        guard let first = queue.popFirst() else { return nil }
        deadlines.remove(first.id)
        return first
    }

    /// Removes every caller whose deadline is at or before `now`, earliest deadline first.
    /// - Complexity: O(k log w) for k removed.
    package mutating func popDue(at now: Duration) -> [(id: UInt64, element: Element)] {
        deadlines.popDue(at: now).compactMap { entry in
            queue.remove(entry.id).map { (entry.id, $0) }
        }
    }

    /// Removes every caller, oldest first. - Complexity: O(w).
    package mutating func removeAll() -> [(id: UInt64, element: Element)] {
        _ = deadlines.removeAll()
        return queue.removeAll()
    }

    /// - Returns: how far past its deadline the oldest caller queued before `run()` is, when the
    ///   one-time warning is due. - Complexity: O(1).
    package mutating func checkOverdue(_ lifecycle: RunLifecycle, now: Duration) -> Duration? {
        overdueBeforeRun.check(lifecycle, earliestDeadline: nextDeadline, now: now)
    }

    /// Every broken invariant, described; for tests. - Complexity: O(w).
    package func invariantViolations() -> [String] {
        deadlines.count == queue.count ? [] : ["\(deadlines.count) deadlines for \(queue.count) waiters"]
    }
}

extension AcceptedBeforeRun {
    package var reports: [Report] {
        var reports: [Report] = [.event(.waitingForRun, 1)]
        if let overdueBy { reports.append(.runNotStarted(overdueBy: overdueBy)) }
        return reports
    }
}
