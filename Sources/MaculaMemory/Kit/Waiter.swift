import Synchronization

private enum WaiterState {
    static let open: UInt8 = 0
    static let openWaiting: UInt8 = 1
    static let claimed: UInt8 = 2
    static let claimedWaiting: UInt8 = 3
    static let finished: UInt8 = 4
    static let cancelled: UInt8 = 5
    static let done: UInt8 = 6
}

/// One suspended caller of a component: resumed exactly once, with its outcome by the component
/// (``finish(_:)``) or with nil by its task's cancellation, whichever comes first. Only the actor
/// calls its methods; a caller resumed by cancellation must, back on the actor, remove what the
/// component holds for it before it returns. States: open → claimed → finished, or open → cancelled.
@usableFromInline
package final class Waiter<Outcome: Sendable>: @unchecked Sendable {
    // @unchecked Sendable is safe: `continuation` is written only by `wait()` before the
    // acquiring-and-releasing exchange that publishes it (open → openWaiting, claimed →
    // claimedWaiting), and read only by the one party whose exchange then moves the state to
    // `done`. `outcome` is written only by `finish(_:)` (the actor, one caller at a time) before
    // the exchange that publishes `finished`, and read only by `wait()` after it observed
    // `finished`. Every other access goes through `state`, an atomic.
    private let state = Atomic<UInt8>(WaiterState.open)
    private var continuation: UnsafeContinuation<Outcome?, Never>?
    private var outcome: Outcome?

    package init() {}

    /// Takes the waiter for an outcome about to be produced: cancellation can no longer win.
    /// - Returns: false when the cancellation won first, or it was already claimed or finished.
    /// - Complexity: O(1).
    package func claim() -> Bool {
        var current = state.load(ordering: .acquiring)
        while true {
            let next: UInt8
            switch current {
            case WaiterState.open: next = WaiterState.claimed
            case WaiterState.openWaiting: next = WaiterState.claimedWaiting
            default: return false
            }
            let (exchanged, original) = state.compareExchange(
                expected: current, desired: next, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
    }

    /// - Returns: false when the caller's cancellation won (the component then undoes whatever
    ///   `outcome` held), or it was already finished. - Complexity: O(1).
    @discardableResult
    package func finish(_ outcome: Outcome) -> Bool {
        var current = state.load(ordering: .acquiring)
        while true {
            switch current {
            case WaiterState.open, WaiterState.claimed:
                self.outcome = outcome
                let (exchanged, original) = state.compareExchange(
                    expected: current, desired: WaiterState.finished, ordering: .acquiringAndReleasing)
                if exchanged { return true }
                current = original
            case WaiterState.openWaiting, WaiterState.claimedWaiting:
                let (exchanged, original) = state.compareExchange(
                    expected: current, desired: WaiterState.done, ordering: .acquiringAndReleasing)
                if exchanged {
                    let continuation = self.continuation.take()
                    continuation?.resume(returning: outcome)
                    return true
                }
                current = original
            default:
                return false
            }
        }
    }

    /// Resumes the caller with nil unless it is claimed or finished. - Complexity: O(1).
    package func cancel() {
        var current = state.load(ordering: .acquiring)
        while true {
            let next: UInt8
            switch current {
            case WaiterState.open: next = WaiterState.cancelled
            case WaiterState.openWaiting: next = WaiterState.done
            default: return
            }
            let (exchanged, original) = state.compareExchange(
                expected: current, desired: next, ordering: .acquiringAndReleasing)
            if exchanged {
                if next == WaiterState.done { continuation.take()?.resume(returning: nil) }
                return
            }
            current = original
        }
    }

    /// Suspends until the outcome arrives, or returns nil when the task is cancelled first. Called
    /// once per waiter; the caller stays in `isolation` while it suspends.
    package func wait(isolation: isolated (any Actor)? = #isolation) async -> Outcome? {
        await withTaskCancellationHandler {
            await withUnsafeContinuation(isolation: isolation) { (continuation: UnsafeContinuation<Outcome?, Never>) in
                var current = state.load(ordering: .acquiring)
                while true {
                    let next: UInt8
                    switch current {
                    case WaiterState.open: next = WaiterState.openWaiting
                    case WaiterState.claimed: next = WaiterState.claimedWaiting
                    case WaiterState.finished:
                        state.store(WaiterState.done, ordering: .releasing)
                        continuation.resume(returning: outcome.take())
                        return
                    default:
                        continuation.resume(returning: nil)
                        return
                    }
                    self.continuation = continuation
                    let (exchanged, original) = state.compareExchange(
                        expected: current, desired: next, ordering: .acquiringAndReleasing)
                    if exchanged { return }
                    self.continuation = nil
                    current = original
                }
            }
        } onCancel: {
            cancel()
        }
    }
}
