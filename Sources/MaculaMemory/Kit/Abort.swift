/// How work raced against an abort ended.
package enum AbortableOutcome<Value: Sendable>: Sendable {
    case finished(Value)
    /// The work threw without being aborted or cancelled.
    case failed(any Error)
    /// The abort was signalled, or the racing task was cancelled.
    case interrupted
}

/// Runs `work` until it returns or `abort` is signalled, whichever comes first; the abort, and the
/// calling task's cancellation, cancel `work`. Returns once `work` has ended.
package func raceAgainstAbort<Value: Sendable>(
    _ abort: DeadlineSignal,
    _ work: @escaping @Sendable () async throws -> Value
) async -> AbortableOutcome<Value> {
    await withTaskGroup(of: AbortableOutcome<Value>.self) { race in
        race.addTask {
            do {
                return .finished(try await work())
            } catch {
                return Task.isCancelled ? .interrupted : .failed(error)
            }
        }
        race.addTask {
            await abort.wait()
            return .interrupted
        }
        let first = await race.next() ?? .interrupted
        race.cancelAll()
        return first
    }
}

/// The abort signals of the work in flight in a `run()`'s task group, by the work's ID.
package struct Aborts<ID: Hashable & Sendable>: Sendable {
    private var signals: [ID: DeadlineSignal] = [:]

    package init() {}

    package var count: Int { signals.count }

    /// The signal for new work `id`; pass it to ``raceAgainstAbort(_:_:)``. - Complexity: O(1).
    package mutating func start(_ id: ID) -> DeadlineSignal {
        let signal = DeadlineSignal()
        signals[id] = signal
        return signal
    }

    /// Aborts `id`'s work; a no-op when it is not in flight. - Complexity: O(1).
    package mutating func abort(_ id: ID) {
        signals.removeValue(forKey: id)?.signal()
    }

    /// `id`'s work reported back: forgets its signal. - Complexity: O(1).
    package mutating func finished(_ id: ID) {
        signals.removeValue(forKey: id)
    }

    /// Aborts all work in flight. - Complexity: O(n).
    package mutating func abortAll() {
        for signal in signals.values { signal.signal() }
        signals.removeAll()
    }
}
