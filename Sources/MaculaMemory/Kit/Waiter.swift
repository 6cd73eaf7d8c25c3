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

    @usableFromInline
    package init() {}

    /// Takes the waiter for an outcome about to be produced: cancellation can no longer win.
    /// - Returns: false when the cancellation won first, or it was already claimed or finished.
    /// - Complexity: O(1).
    @usableFromInline
    package func claim() -> Bool {
        transition { current in
            switch current {
            case WaiterState.open: WaiterState.claimed
            case WaiterState.openWaiting: WaiterState.claimedWaiting
            default: nil
            }
        } != nil
    }

    /// - Returns: false when the caller's cancellation won (the component then undoes whatever
    ///   `outcome` held), or it was already finished. - Complexity: O(1).
    @usableFromInline @discardableResult
    package func finish(_ outcome: Outcome) -> Bool {
        let previous = transition { current in
            switch current {
            case WaiterState.open, WaiterState.claimed:
                self.outcome = outcome
                return WaiterState.finished
            case WaiterState.openWaiting, WaiterState.claimedWaiting:
                return WaiterState.done
            case WaiterState.cancelled:
                // Written on a turn whose exchange lost to the cancellation; nobody reads it.
                self.outcome = nil
                return nil
            default:
                return nil
            }
        }
        switch previous {
        case WaiterState.openWaiting?, WaiterState.claimedWaiting?:
            continuation.take()?.resume(returning: outcome)
            return true
        case WaiterState.open?, WaiterState.claimed?:
            return true
        default:
            return false
        }
    }

    /// Resumes the caller with nil unless it is claimed or finished. - Complexity: O(1).
    @usableFromInline
    package func cancel() {
        let previous = transition { current in
            switch current {
            case WaiterState.open: WaiterState.cancelled
            case WaiterState.openWaiting: WaiterState.done
            default: nil
            }
        }
        if previous == WaiterState.openWaiting { continuation.take()?.resume(returning: nil) }
    }

    /// Suspends until the outcome arrives, or returns nil when the task is cancelled first. Called
    /// once per waiter; the caller stays in `isolation` while it suspends.
    @usableFromInline
    package func wait(isolation: isolated (any Actor)? = #isolation) async -> Outcome? {
        await withTaskCancellationHandler {
            await withUnsafeContinuation(isolation: isolation) { (continuation: UnsafeContinuation<Outcome?, Never>) in
                let previous = transition { current in
                    switch current {
                    case WaiterState.open, WaiterState.claimed:
                        self.continuation = continuation
                        return current == WaiterState.open ? WaiterState.openWaiting : WaiterState.claimedWaiting
                    case WaiterState.finished:
                        self.continuation = nil
                        return WaiterState.done
                    default:
                        self.continuation = nil
                        return nil
                    }
                }
                switch previous {
                case WaiterState.open?, WaiterState.claimed?: break
                case WaiterState.finished?: continuation.resume(returning: outcome.take())
                default: continuation.resume(returning: nil)
                }
            }
        } onCancel: {
            cancel()
        }
    }

    /// Moves the state from its current value to `next(current)` in one atomic exchange, retrying
    /// when another party moved it first; `next` may prepare the fields the new state publishes.
    /// - Returns: the state it moved from, or nil when `next` allowed no move.
    private func transition(_ next: (UInt8) -> UInt8?) -> UInt8? {
        var current = state.load(ordering: .acquiring)
        while let desired = next(current) {
            let (exchanged, original) = state.compareExchange(
                expected: current, desired: desired, ordering: .acquiringAndReleasing)
            if exchanged { return current }
            current = original
        }
        return nil
    }
}
