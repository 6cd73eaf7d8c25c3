import MaculaMemory

/// A ``MemoryMetrics`` sink that records every event in order, for assertions in tests, and lets
/// a test wait until an event has been recorded (``waitFor(_:count:component:)``).
public final class RecordingMemoryMetrics: MemoryMetrics {
    /// One recorded event.
    public enum Event: Hashable, Sendable {
        case removed(count: Int, reason: RemovalReason, component: String)
        case rejected(reason: RejectionReason, component: String)
        case event(MemoryEvent, count: Int, component: String)
        case pressureLevelChanged(from: MemoryPressureLevel, to: MemoryPressureLevel, usedBytes: Int)
        case readingTaken(usedBytes: Int, level: MemoryPressureLevel)
    }

    /// A test waiting in one of the `waitFor` methods.
    private struct Waiter {
        /// How much an event adds to the awaited total.
        var weight: @Sendable (Event) -> Int
        /// How much is still missing.
        var missing: Int
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var events: [Event] = []
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = LockedState(State())

    /// Creates an empty recorder.
    public init() {}

    /// Everything recorded so far, oldest first.
    public var events: [Event] { state.withLock { $0.events } }

    /// Entries removed for `reason` (from any component when `component` is nil).
    /// - Complexity: O(n) for n events recorded.
    public func removed(_ reason: RemovalReason, component: String? = nil) -> Int {
        total(Self.removals(reason, component))
    }

    /// Requests rejected for `reason` (by any component when `component` is nil).
    /// - Complexity: O(n) for n events recorded.
    public func rejected(_ reason: RejectionReason, component: String? = nil) -> Int {
        total(Self.rejections(reason, component))
    }

    /// Occurrences of `event` (in any component when `component` is nil).
    /// - Complexity: O(n) for n events recorded.
    public func count(_ event: MemoryEvent, component: String? = nil) -> Int {
        total(Self.occurrences(event, component))
    }

    /// Returns once `event` has been recorded `count` times in all (since the recorder was made,
    /// not since the call): at once when it already has.
    /// - Parameters:
    ///   - event: the event to wait for.
    ///   - count: the total to wait for; 1 by default.
    ///   - component: only this component's events; any component's when nil.
    /// - Throws: `CancellationError` when the waiting task is cancelled first, so that a test
    ///   whose event never comes fails under its `.timeLimit` instead of hanging.
    public func waitFor(_ event: MemoryEvent, count: Int = 1, component: String? = nil) async throws(CancellationError) {
        try await waitFor(count, Self.occurrences(event, component))
    }

    /// Returns once `count` entries have been removed for `reason` in all: at once when they have.
    /// - Parameters:
    ///   - reason: the removal reason to wait for.
    ///   - count: the total to wait for; 1 by default.
    ///   - component: only this component's removals; any component's when nil.
    /// - Throws: `CancellationError` when the waiting task is cancelled first.
    public func waitFor(removed reason: RemovalReason, count: Int = 1, component: String? = nil) async throws(CancellationError) {
        try await waitFor(count, Self.removals(reason, component))
    }

    /// Returns once `count` requests have been rejected for `reason` in all: at once when they have.
    /// - Parameters:
    ///   - reason: the rejection reason to wait for.
    ///   - count: the total to wait for; 1 by default.
    ///   - component: only this component's rejections; any component's when nil.
    /// - Throws: `CancellationError` when the waiting task is cancelled first.
    public func waitFor(rejected reason: RejectionReason, count: Int = 1, component: String? = nil) async throws(CancellationError) {
        try await waitFor(count, Self.rejections(reason, component))
    }

    public func entriesRemoved(_ count: Int, reason: RemovalReason, component: String) {
        record(.removed(count: count, reason: reason, component: component))
    }
    public func requestRejected(reason: RejectionReason, component: String) {
        record(.rejected(reason: reason, component: component))
    }
    public func eventRecorded(_ event: MemoryEvent, count: Int, component: String) {
        record(.event(event, count: count, component: component))
    }
    public func pressureLevelChanged(from: MemoryPressureLevel, to: MemoryPressureLevel, reading: MemoryReading) {
        record(.pressureLevelChanged(from: from, to: to, usedBytes: reading.usedBytes))
    }
    public func memoryReadingTaken(_ reading: MemoryReading, level: MemoryPressureLevel) {
        record(.readingTaken(usedBytes: reading.usedBytes, level: level))
    }

    // MARK: Internals

    private static func occurrences(_ event: MemoryEvent, _ component: String?) -> @Sendable (Event) -> Int {
        { recorded in
            guard case .event(event, let count, let name) = recorded, component == nil || component == name else { return 0 }
            return count
        }
    }

    private static func removals(_ reason: RemovalReason, _ component: String?) -> @Sendable (Event) -> Int {
        { recorded in
            guard case .removed(let count, reason, let name) = recorded, component == nil || component == name else { return 0 }
            return count
        }
    }

    private static func rejections(_ reason: RejectionReason, _ component: String?) -> @Sendable (Event) -> Int {
        { recorded in
            guard case .rejected(reason, let name) = recorded, component == nil || component == name else { return 0 }
            return 1
        }
    }

    private func total(_ weight: (Event) -> Int) -> Int {
        state.withLock { $0.events.reduce(0) { $0 + weight($1) } }
    }

    private func record(_ event: Event) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.events.append(event)
            guard !state.waiters.isEmpty else { return [] }
            var ready: [CheckedContinuation<Void, any Error>] = []
            for (id, var waiter) in state.waiters {
                waiter.missing -= waiter.weight(event)
                if waiter.missing <= 0 {
                    state.waiters.removeValue(forKey: id)
                    ready.append(waiter.continuation)
                } else {
                    state.waiters[id] = waiter
                }
            }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    private func waitFor(_ count: Int, _ weight: @escaping @Sendable (Event) -> Int) async throws(CancellationError) {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter &+= 1
            return state.nextWaiter
        }
        do {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    enum Outcome { case ready, cancelled, waiting }
                    let outcome = state.withLock { state -> Outcome in
                        if Task.isCancelled { return .cancelled }
                        let missing = count - state.events.reduce(0) { $0 + weight($1) }
                        guard missing > 0 else { return .ready }
                        state.waiters[id] = Waiter(weight: weight, missing: missing, continuation: continuation)
                        return .waiting
                    }
                    switch outcome {
                    case .ready: continuation.resume()
                    case .cancelled: continuation.resume(throwing: CancellationError())
                    case .waiting: break
                    }
                }
            } onCancel: {
                let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
                waiter?.continuation.resume(throwing: CancellationError())
            }
        } catch {
            throw CancellationError()
        }
    }
}
