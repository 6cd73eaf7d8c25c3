/// What the core needs from a caller waiting for a client slot: a way to take it, atomically,
/// before the caller's cancellation can.
@usableFromInline
package protocol ClientSlotClaimable: AnyObject, Sendable {
    /// Takes the waiter for a grant. After it returns true the caller's cancellation can no longer
    /// win: the caller will get the slot. Returns false when the cancellation won first (or the
    /// waiter already has its outcome).
    func claim() -> Bool
}

/// What a waiting caller gets: its registration, or an error.
enum ClientSlotOutcome: Sendable, Equatable {
    /// A slot was granted; the client is registered under this registration.
    case connected(registration: UInt64)
    /// The wait ended without a slot.
    case failed(ClientManagerError)
}

/// Where one caller waiting for a client slot gets its outcome: a continuation guarded by a lock
/// (``LockedState``, which ThreadSanitizer can see),
/// so that the manager (inside its actor) and the caller's cancellation handler (on any thread)
/// can race to settle it and exactly one wins.
///
/// The race is decided **before** the manager changes any state: when a slot frees up, the core
/// ``claim()``s the oldest waiter first and registers its client only if the claim succeeds. A
/// waiter whose cancellation won is skipped, and the slot goes to the next one. So nothing is ever
/// registered for a caller that will not learn about it, and there is nothing to roll back.
///
/// A cancelled caller is resumed at once by its cancellation handler with
/// ``ClientManagerError/cancelled``; it then re-enters the actor and removes its own queue entry
/// before its call returns, so it leaves nothing behind.
@usableFromInline
package final class ClientSlotWaiter: ClientSlotClaimable {
    private enum State {
        /// Queued; the continuation is set once the caller has suspended.
        case open(CheckedContinuation<ClientSlotOutcome, Never>?)
        /// Claimed for a grant; cancellation can no longer win. The outcome follows at once.
        case claimed(CheckedContinuation<ClientSlotOutcome, Never>?)
        /// The outcome arrived before the caller suspended.
        case settled(ClientSlotOutcome)
        /// The caller has its outcome, or is being resumed with it; nothing more can happen.
        case done
    }

    private let state = LockedState(State.open(nil))

    package init() {}

    @usableFromInline
    package func claim() -> Bool {
        state.withLock { state in
            switch state {
            case .open(let continuation):
                state = .claimed(continuation)
                return true
            case .claimed, .settled, .done:
                return false
            }
        }
    }

    /// Delivers `outcome` to the caller.
    /// - Returns: false when the caller's cancellation won the race; the outcome was not delivered.
    @discardableResult
    func finish(_ outcome: ClientSlotOutcome) -> Bool {
        let (delivered, continuation) = state.withLock { state -> (Bool, CheckedContinuation<ClientSlotOutcome, Never>?) in
            switch state {
            case .open(let continuation), .claimed(let continuation):
                guard let continuation else {
                    state = .settled(outcome)
                    return (true, nil)
                }
                state = .done
                return (true, continuation)
            case .settled, .done:
                return (false, nil)
            }
        }
        continuation?.resume(returning: outcome)
        return delivered
    }

    /// The caller's task was cancelled: settle it with ``ClientManagerError/cancelled`` unless it
    /// was claimed or already has its outcome.
    func cancel() {
        let continuation = state.withLock { state -> CheckedContinuation<ClientSlotOutcome, Never>? in
            switch state {
            case .open(let continuation):
                guard let continuation else {
                    state = .settled(.failed(.cancelled))
                    return nil
                }
                state = .done
                return continuation
            case .claimed, .settled, .done:
                return nil
            }
        }
        continuation?.resume(returning: .failed(.cancelled))
    }

    /// Suspends until the outcome arrives or the task is cancelled. Called once per waiter.
    func wait(isolation: isolated (any Actor)? = #isolation) async -> ClientSlotOutcome {
        await withTaskCancellationHandler {
            await withCheckedContinuation(isolation: isolation) { (continuation: CheckedContinuation<ClientSlotOutcome, Never>) in
                let ready = state.withLock { state -> ClientSlotOutcome? in
                    switch state {
                    case .open(nil):
                        state = .open(continuation)
                        return nil
                    case .claimed(nil):
                        state = .claimed(continuation)
                        return nil
                    case .settled(let outcome):
                        state = .done
                        return outcome
                    case .open(.some), .claimed(.some), .done:
                        // `wait()` is called once; a second call gets a harmless error instead of a trap.
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
