/// How the pool's core refers to a caller it will resume.
///
/// The caller that starts a connect is named by its request ID (``starter(_:)``): the connect
/// runs in a task that starts synchronously, so when the factory does not suspend the caller is
/// resolved before the start returns, and it needs no ``ConnectionPoolWaiter`` (no allocation, no
/// lock). If the connect suspends first, the caller registers a waiter under its request ID
/// before it suspends itself, and the resume goes there. Every other waiting caller (one that
/// joins a connect, or waits for a slot) has a ``ConnectionPoolWaiter`` from the start.
@usableFromInline
enum ConnectionPoolCaller: Sendable {
    /// The caller that started the connect, by request ID.
    case starter(UInt64)
    /// A caller that waits through a waiter.
    case waiter(ConnectionPoolWaiter)
}

/// How one waiting caller of a connection pool is woken: a continuation guarded by a lock
/// (``LockedState``, which ThreadSanitizer can see), so that the pool (inside its actor) and the
/// caller's cancellation handler (on any thread) can race to resume it and exactly one wins.
///
/// The pool's core stores the waiter under the caller's request ID. When the caller's task is
/// cancelled, the cancellation handler resumes the caller at once; the caller then enters the
/// actor and removes its request from the core before it returns, so a cancelled caller leaves
/// nothing behind. If the pool resolves the request after the cancellation won, ``finish()``
/// returns false and the actor undoes what the outcome held (it ends the lease, if any).
///
/// The outcome itself does not pass through the waiter: the actor keeps it under the request ID
/// until the caller, resumed on the actor, takes it. That keeps this class free of generic
/// parameters, which matters on the hot path (a generic class pays for run-time metadata
/// look-ups when it is created and destroyed), and lets its methods be called without being
/// inlined into the client.
@usableFromInline
final class ConnectionPoolWaiter: Sendable {
    private enum State: Sendable {
        /// Registered, not yet suspended, not yet settled.
        case pending
        /// Suspended in ``wait()``.
        case waiting(CheckedContinuation<Bool, Never>)
        /// The outcome arrived before the caller suspended.
        case finished
        /// The caller was cancelled before it suspended.
        case cancelled
        /// Settled and taken; nothing more can happen.
        case done
    }

    /// The caller's request ID: where the actor keeps its outcome.
    @usableFromInline let id: UInt64
    private let state = LockedState(State.pending)

    @usableFromInline
    init(id: UInt64) {
        self.id = id
    }

    /// Wakes the caller: its outcome is ready.
    /// - Returns: false when the caller's cancellation won the race: it will not take an outcome.
    @usableFromInline
    func finish() -> Bool {
        let (delivered, continuation) = state.withLock { state -> (Bool, CheckedContinuation<Bool, Never>?) in
            switch state {
            case .pending:
                state = .finished
                return (true, nil)
            case .waiting(let continuation):
                state = .done
                return (true, continuation)
            case .finished, .cancelled, .done:
                return (false, nil)
            }
        }
        continuation?.resume(returning: true)
        return delivered
    }

    /// The caller's task was cancelled: wake it with "cancelled" unless its outcome is ready.
    @usableFromInline
    func cancel() {
        let continuation = state.withLock { state -> CheckedContinuation<Bool, Never>? in
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
        continuation?.resume(returning: false)
    }

    /// Settles without suspending when possible (a connect that completed without suspending).
    /// - Returns: true when the outcome is ready, false when the caller was cancelled, nil when
    ///   neither happened yet.
    @usableFromInline
    func settledWithoutWaiting() -> Bool? {
        state.withLock { state -> Bool? in
            switch state {
            case .finished:
                state = .done
                return true
            case .cancelled:
                state = .done
                return false
            case .pending, .waiting, .done:
                return nil
            }
        }
    }

    /// Suspends until the outcome is ready (true) or the task is cancelled (false). Called once.
    @usableFromInline
    func wait() async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let ready = state.withLock { state -> Bool? in
                    switch state {
                    case .pending:
                        state = .waiting(continuation)
                        return nil
                    case .finished:
                        state = .done
                        return true
                    case .cancelled, .waiting, .done:
                        // `.waiting` and `.done` cannot happen (wait() runs once); answering
                        // "cancelled" keeps the caller from hanging if they ever did.
                        state = .done
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
