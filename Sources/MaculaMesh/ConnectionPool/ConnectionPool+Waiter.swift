import Synchronization

/// Where one waiting caller of a connection pool gets its outcome: a continuation guarded by a
/// mutex, so that the pool (inside its actor) and the caller's cancellation handler (on any
/// thread) can race to resume it and exactly one wins.
///
/// The pool's core stores the waiter under the caller's request ID. When the caller's task is
/// cancelled, the cancellation handler resumes the caller at once with
/// ``ConnectionPoolError/cancelled``; the caller then enters the actor and removes its request
/// from the core before it returns, so a cancelled caller leaves nothing behind. If the pool
/// resolves the request after the cancellation won, ``finish(_:)`` returns false and the actor
/// undoes what the outcome held (it releases the lease, if any).
final class ConnectionPoolWaiter<Connection: Sendable>: Sendable {
    typealias Outcome = ConnectionPoolOutcome<Connection>

    private enum State {
        /// Registered, not yet suspended, no outcome.
        case pending
        /// Suspended in ``wait()``.
        case waiting(CheckedContinuation<Outcome, Never>)
        /// The outcome arrived before the caller suspended.
        case finished(Outcome)
        /// The caller was cancelled before it suspended.
        case cancelled
        /// The caller was resumed (or will be, at once); nothing more can happen.
        case done
    }

    private let state = Mutex(State.pending)

    init() {}

    /// Delivers `outcome` to the caller.
    /// - Returns: false when the caller's cancellation won the race: the outcome was not delivered.
    func finish(_ outcome: Outcome) -> Bool {
        let (delivered, continuation) = state.withLock { state -> (Bool, CheckedContinuation<Outcome, Never>?) in
            switch state {
            case .pending:
                state = .finished(outcome)
                return (true, nil)
            case .waiting(let continuation):
                state = .done
                return (true, continuation)
            case .finished, .cancelled, .done:
                return (false, nil)
            }
        }
        continuation?.resume(returning: outcome)
        return delivered
    }

    /// The caller's task was cancelled: resume it with ``ConnectionPoolError/cancelled`` unless
    /// its outcome already arrived.
    func cancel() {
        let continuation = state.withLock { state -> CheckedContinuation<Outcome, Never>? in
            switch state {
            case .pending:
                state = .cancelled
                return nil
            case .waiting(let continuation):
                state = .done
                return continuation
            case .finished, .cancelled, .done:
                return nil
            }
        }
        continuation?.resume(returning: .failed(.cancelled))
    }

    /// Suspends until the outcome arrives or the task is cancelled. Called once.
    func wait() async -> Outcome {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
                let ready = state.withLock { state -> Outcome? in
                    switch state {
                    case .pending:
                        state = .waiting(continuation)
                        return nil
                    case .finished(let outcome):
                        state = .done
                        return outcome
                    case .cancelled, .waiting, .done:
                        // `.waiting` and `.done` cannot happen (wait() runs once); answering
                        // `cancelled` keeps the caller from hanging if they ever did.
                        state = .done
                        return .failed(.cancelled)
                    }
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            cancel()
        }
    }
}
