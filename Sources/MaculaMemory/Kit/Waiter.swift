/// One suspended caller of a component: woken exactly once, either by the component
/// (``finish()``) or by its task's cancellation, whichever comes first.
///
/// The outcome never passes through the waiter: the component keeps it under the caller's ID until
/// the caller, resumed on the component's actor, takes it. A core may store a waiter as an opaque
/// value and return it in an action; only the actor calls its methods.
///
/// States: open (not yet suspended or suspended) → claimed → finished, or open → cancelled. A
/// cancelled caller is resumed at once by its cancellation handler and must, back on the actor,
/// remove what the component holds for it before it returns.
@usableFromInline
package final class Waiter: Sendable {
    private enum State: Sendable {
        /// Neither finished nor cancelled; the continuation is set once the caller suspends.
        case open(CheckedContinuation<Bool, Never>?)
        /// Claimed by the component: cancellation can no longer win.
        case claimed(CheckedContinuation<Bool, Never>?)
        /// Finished before the caller suspended.
        case finished
        /// Cancelled before the caller suspended.
        case cancelled
        /// Resumed; nothing more can happen.
        case done
    }

    private let state = LockedState(State.open(nil))

    @usableFromInline
    package init() {}

    /// Takes the waiter for an outcome the component is about to produce: afterwards the caller's
    /// cancellation cannot win, and ``finish()`` will deliver.
    /// - Returns: false when the cancellation won first, or the waiter was already claimed or settled.
    /// - Complexity: O(1).
    package func claim() -> Bool {
        state.withLock { state in
            guard case .open(let continuation) = state else { return false }
            state = .claimed(continuation)
            return true
        }
    }

    /// Wakes the caller: its outcome is ready.
    /// - Returns: false when the caller's cancellation won; it will not take the outcome, and the
    ///   component undoes whatever the outcome held.
    /// - Complexity: O(1).
    @discardableResult
    @usableFromInline
    package func finish() -> Bool {
        let (delivered, continuation) = state.withLock { state -> (Bool, CheckedContinuation<Bool, Never>?) in
            switch state {
            case .open(let continuation), .claimed(let continuation):
                state = continuation == nil ? .finished : .done
                return (true, continuation)
            case .finished, .cancelled, .done:
                return (false, nil)
            }
        }
        continuation?.resume(returning: true)
        return delivered
    }

    /// The caller's task was cancelled: wake it with "cancelled" unless it is claimed or settled.
    /// - Complexity: O(1).
    package func cancel() {
        let continuation = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard case .open(let continuation) = state else { return nil }
            state = continuation == nil ? .cancelled : .done
            return continuation
        }
        continuation?.resume(returning: false)
    }

    /// Suspends until the outcome is ready (true) or the task is cancelled (false); returns at once
    /// when either already happened. Called once per waiter; a second call returns false.
    @usableFromInline
    package func wait(isolation: isolated (any Actor)? = #isolation) async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation(isolation: isolation) { (continuation: CheckedContinuation<Bool, Never>) in
                let ready = state.withLock { state -> Bool? in
                    switch state {
                    case .open(nil):
                        state = .open(continuation)
                        return nil
                    case .claimed(nil):
                        state = .claimed(continuation)
                        return nil
                    case .finished:
                        state = .done
                        return true
                    case .cancelled:
                        state = .done
                        return false
                    case .open(.some), .claimed(.some), .done:
                        return false
                    }
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            cancel()
        }
    }
}
