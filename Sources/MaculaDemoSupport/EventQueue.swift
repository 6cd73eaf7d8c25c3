import MaculaMemory

/// The workload's scheduled departures (a peer leaves, a client disconnects, a service is
/// withdrawn) by time, over the library's `DeadlineHeap`. Events at equal times come out in
/// insertion order.
package struct EventQueue<Event> {
    private var times = DeadlineHeap<UInt64, Double>()
    private var events: [UInt64: Event] = [:]
    private var lastID: UInt64 = 0

    /// An empty queue.
    package init() {}

    /// Events queued.
    package var count: Int { events.count }

    /// The earliest time queued, if any.
    package var nextTime: Double? { times.first?.deadline }

    /// Queues `event` at `time`.
    /// - Complexity: O(log n).
    package mutating func schedule(_ event: Event, at time: Double) {
        lastID &+= 1
        events[lastID] = event
        times.set(lastID, deadline: time)
    }

    /// Removes and returns every event whose time is at or before `now`, earliest first.
    /// - Complexity: O(k log n) for k events returned.
    package mutating func popDue(at now: Double) -> [Event] {
        times.popDue(at: now).compactMap { events.removeValue(forKey: $0.id) }
    }
}

/// Turns a rate into whole operations per step, carrying the fraction over, so that a rate of
/// 0.3 per step gives 3 operations every 10 steps and a late step catches up.
package struct RateAccumulator: Sendable {
    private var carry = 0.0

    /// A fresh accumulator.
    package init() {}

    /// The number of operations due for `rate` per second over `elapsed` seconds.
    /// - Complexity: O(1).
    package mutating func due(rate: Double, elapsed: Double) -> Int {
        carry += max(0, rate * elapsed)
        // A billionth of slack, so that ten steps of 0.1 make one operation despite rounding.
        let whole = max(0, (carry + 1e-9).rounded(.down))
        carry -= whole
        return Int(whole)
    }
}
