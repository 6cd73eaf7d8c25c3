import MaculaMemory

/// A ``MemoryMetrics`` sink that records every event in order, for assertions in tests.
public final class RecordingMemoryMetrics: MemoryMetrics {
    /// One recorded event.
    public enum Event: Hashable, Sendable {
        case removed(count: Int, reason: RemovalReason, component: String)
        case rejected(reason: RejectionReason, component: String)
        case event(MemoryEvent, count: Int, component: String)
        case pressureLevelChanged(from: MemoryPressureLevel, to: MemoryPressureLevel, usedBytes: Int)
        case readingTaken(usedBytes: Int, level: MemoryPressureLevel)
    }

    private let recorded = LockedState<[Event]>([])

    /// Creates an empty recorder.
    public init() {}

    /// Everything recorded so far, oldest first.
    public var events: [Event] { recorded.withLock { $0 } }

    /// Entries removed for `reason` (from any component when `component` is nil).
    public func removed(_ reason: RemovalReason, component: String? = nil) -> Int {
        events.reduce(0) { total, event in
            if case .removed(let count, reason, let name) = event, component == nil || component == name {
                return total + count
            }
            return total
        }
    }

    /// Requests rejected for `reason`.
    public func rejected(_ reason: RejectionReason, component: String? = nil) -> Int {
        events.reduce(0) { total, event in
            if case .rejected(reason, let name) = event, component == nil || component == name { return total + 1 }
            return total
        }
    }

    /// Occurrences of `event`.
    public func count(_ event: MemoryEvent, component: String? = nil) -> Int {
        events.reduce(0) { total, recorded in
            if case .event(event, let count, let name) = recorded, component == nil || component == name {
                return total + count
            }
            return total
        }
    }

    public func entriesRemoved(_ count: Int, reason: RemovalReason, component: String) {
        recorded.withLock { $0.append(.removed(count: count, reason: reason, component: component)) }
    }
    public func requestRejected(reason: RejectionReason, component: String) {
        recorded.withLock { $0.append(.rejected(reason: reason, component: component)) }
    }
    public func eventRecorded(_ event: MemoryEvent, count: Int, component: String) {
        recorded.withLock { $0.append(.event(event, count: count, component: component)) }
    }
    public func pressureLevelChanged(from: MemoryPressureLevel, to: MemoryPressureLevel, reading: MemoryReading) {
        recorded.withLock { $0.append(.pressureLevelChanged(from: from, to: to, usedBytes: reading.usedBytes)) }
    }
    public func memoryReadingTaken(_ reading: MemoryReading, level: MemoryPressureLevel) {
        recorded.withLock { $0.append(.readingTaken(usedBytes: reading.usedBytes, level: level)) }
    }
}
