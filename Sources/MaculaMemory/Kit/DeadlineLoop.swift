
/// Wakes an actor's `run()` loop early when a deadline earlier than the one it sleeps towards
/// appears. A signal sent while nobody waits is remembered until ``clearPending()``.
package final class DeadlineSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: (id: UInt64, continuation: CheckedContinuation<Void, Never>)?
        var nextID: UInt64 = 0
    }

    private let state = LockedState(State())

    package init() {}

    /// Wakes the waiting loop, or makes its next wait return at once. - Complexity: O(1).
    package func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter.continuation
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Forgets a signal sent while nobody waited. The loop calls it on the actor right before it
    /// computes its next deadline, which reflects every earlier signal. - Complexity: O(1).
    package func clearPending() {
        state.withLock { $0.pending = false }
    }

    /// Returns when signalled or when the task is cancelled.
    package func wait() async {
        let id = state.withLock { state -> UInt64 in
            state.nextID &+= 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    state.waiter = (id, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard let waiter = state.waiter, waiter.id == id else { return nil }
                state.waiter = nil
                return waiter.continuation
            }
            waiter?.resume()
        }
    }
}

/// Drives an actor's deadlines with a single sleeper on `clock` until the calling task is
/// cancelled: each turn calls `fire` on the actor with the current time, and sleeps until the
/// deadline it returns (forever when nil) or until `signal` says an earlier one appeared.
/// - Parameters:
///   - clock: the component's clock; deadlines are durations since its origin.
///   - signal: signalled by the actor whenever it adds a deadline earlier than every other.
///   - fire: runs on the actor; it may await, and the loop sleeps again only once it returned.
package func runDeadlineLoop(
    clock: ComponentClock,
    signal: DeadlineSignal,
    isolation: isolated (any Actor) = #isolation,
    fire: (Duration) async -> Duration?
) async {
    while !Task.isCancelled {
        // Signals and `fire` both run on the actor, so clearing here loses none.
        signal.clearPending()
        guard let next = await fire(clock.now) else {
            await signal.wait()
            continue
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await clock.sleep(until: next) }
            group.addTask { await signal.wait() }
            _ = await group.next()
            group.cancelAll()
        }
    }
}
