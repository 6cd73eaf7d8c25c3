
/// Wakes an actor's `run()` loop early, when a deadline earlier than the one it sleeps towards
/// appears (or the first deadline appears while it waits for any).
///
/// A signal sent while nobody waits is remembered, so a loop never misses one that arrives
/// between computing its next deadline and starting to wait.
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

    /// Forgets a signal sent while nobody waited. The loop calls this on the actor right before it
    /// computes its next deadline: every signal sent before that point is already reflected in the
    /// deadline it computes, so keeping it would only wake the loop for nothing (and cancel a
    /// sleep that tests on a manual clock have already observed). - Complexity: O(1).
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
/// cancelled (the timer model every Macula actor follows).
///
/// Each turn reads the clock once and calls `fire` on the actor with the current time; `fire`
/// handles whatever is due and returns the next deadline, or nil when there is none. The loop then
/// sleeps until that deadline, or until `signal` says an earlier one appeared.
///
/// - Parameters:
///   - clock: the component's clock; deadlines are durations since its origin.
///   - signal: the actor's signal; the actor calls ``DeadlineSignal/signal()`` whenever it adds a
///     deadline earlier than every other one.
///   - fire: runs on the actor. It may await (for example to close what the deadlines removed);
///     the loop sleeps again only once it has returned. A synchronous closure works as well.
package func runDeadlineLoop(
    clock: ComponentClock,
    signal: DeadlineSignal,
    isolation: isolated (any Actor) = #isolation,
    fire: (Duration) async -> Duration?
) async {
    while !Task.isCancelled {
        // Signals and `fire` both run on the actor, so clearing here loses none: a deadline added
        // before this point is seen by `fire`, one added after it (also while `fire` awaits)
        // signals again.
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
