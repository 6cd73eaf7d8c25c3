/// A min-heap of events by time, for the workload's scheduled departures (a peer leaves, a
/// client disconnects, a service is withdrawn). Events at equal times come out in insertion order.
package struct EventQueue<Event> {
    private struct Entry {
        var time: Double
        var sequence: UInt64
        var event: Event

        func precedes(_ other: Entry) -> Bool {
            time < other.time || (time == other.time && sequence < other.sequence)
        }
    }

    private var heap: [Entry] = []
    private var nextSequence: UInt64 = 0

    /// An empty queue.
    package init() {}

    /// Events queued.
    package var count: Int { heap.count }

    /// The earliest time queued, if any.
    package var nextTime: Double? { heap.first?.time }

    /// Queues `event` at `time`.
    /// - Complexity: O(log n).
    package mutating func schedule(_ event: Event, at time: Double) {
        heap.append(Entry(time: time, sequence: nextSequence, event: event))
        nextSequence &+= 1
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns every event whose time is at or before `now`, earliest first.
    /// - Complexity: O(k log n) for k events returned.
    package mutating func popDue(at now: Double) -> [Event] {
        var due: [Event] = []
        while let first = heap.first, first.time <= now {
            due.append(first.event)
            removeFirst()
        }
        return due
    }

    private mutating func removeFirst() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].precedes(heap[smallest]) { smallest = left }
            if right < heap.count, heap[right].precedes(heap[smallest]) { smallest = right }
            guard smallest != parent else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
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
