/// The continuations of callers suspended in an ``RPCHandler``, kept where a cancellation
/// handler can reach them.
///
/// Why this lives outside the core: a task's cancellation handler runs synchronously on whatever
/// thread cancels it, outside the actor, and the spec wants the cancelled `call` to return at
/// once with its entry already removed — without a `Task` hop. So the continuation is parked
/// here, under a lock, keyed by the call's slot and generation:
/// - the actor *takes* a continuation to resume it with a reply, a failover or an error;
/// - a cancellation handler takes it and resumes it with `.cancelled`; the resumed `call`, back
///   on the actor, then removes its own entry (and deadline, and place in a discovery) from the
///   core **before** it returns.
/// Whoever takes the continuation first resumes it; the other finds nothing, so it is resumed
/// exactly once. A caller that was resumed by cancellation while the actor had already decided
/// its fate is reconciled by the core: its entry is either still there (the caller removes it)
/// or already gone (the actor counts the dropped result as a late reply).
///
/// Memory: one 16-byte slot per table slot of the core.
final class RPCWaiters: Sendable {
    private struct Slot {
        var generation: UInt32
        var continuation: UnsafeContinuation<RPCStep, Never>?
    }

    private struct State {
        var slots: [Slot] = []
        /// Tests waiting until a given call is parked (see `waitUntilParked`); empty otherwise.
        var parkObservers: [(ticket: UInt64, id: RPCCallID, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextObserver: UInt64 = 0
    }

    private let state = LockedState(State())

    /// Parks `continuation` for `id`, unless the current task is already cancelled.
    /// - Returns: false when the task is cancelled: the caller resumes the continuation itself.
    ///   Checking cancellation under the lock means a cancellation handler that runs afterwards
    ///   is sure to find the continuation.
    /// - Complexity: O(1) amortised.
    func park(_ continuation: UnsafeContinuation<RPCStep, Never>, for id: RPCCallID) -> Bool {
        var observers: [CheckedContinuation<Void, any Error>] = []
        let parked = state.withLock { state -> Bool in
            if Task.isCancelled { return false }
            let slot = id.slot
            while state.slots.count <= slot { state.slots.append(Slot(generation: 0, continuation: nil)) }
            state.slots[slot] = Slot(generation: id.generation, continuation: continuation)
            if !state.parkObservers.isEmpty {
                state.parkObservers.removeAll { entry in
                    guard entry.id == id else { return false }
                    observers.append(entry.continuation)
                    return true
                }
            }
            return true
        }
        for observer in observers { observer.resume() }
        return parked
    }

    /// For tests: returns once `id`'s caller is parked (at once when it is now).
    /// - Throws: `CancellationError` when the waiting task is cancelled first.
    func waitUntilParked(_ id: RPCCallID) async throws(CancellationError) {
        let ticket = state.withLock { state -> UInt64 in
            state.nextObserver &+= 1
            return state.nextObserver
        }
        do {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    enum Outcome { case parked, cancelled, waiting }
                    let outcome = state.withLock { state -> Outcome in
                        if Task.isCancelled { return .cancelled }
                        let slot = id.slot
                        if slot < state.slots.count, state.slots[slot].generation == id.generation,
                           state.slots[slot].continuation != nil {
                            return .parked
                        }
                        state.parkObservers.append((ticket, id, continuation))
                        return .waiting
                    }
                    switch outcome {
                    case .parked: continuation.resume()
                    case .cancelled: continuation.resume(throwing: CancellationError())
                    case .waiting: break
                    }
                }
            } onCancel: {
                let observer = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                    guard let index = state.parkObservers.firstIndex(where: { $0.ticket == ticket }) else { return nil }
                    return state.parkObservers.remove(at: index).continuation
                }
                observer?.resume(throwing: CancellationError())
            }
        } catch {
            throw CancellationError()
        }
    }

    /// Takes the continuation parked for `id`, if it is still there.
    /// - Complexity: O(1).
    func take(_ id: RPCCallID) -> UnsafeContinuation<RPCStep, Never>? {
        state.withLock { state in
            let slot = id.slot
            guard slot < state.slots.count, state.slots[slot].generation == id.generation,
                  let continuation = state.slots[slot].continuation
            else { return nil }
            state.slots[slot].continuation = nil
            return continuation
        }
    }

    /// Takes the continuations of several calls under one lock acquisition.
    /// - Complexity: O(k) for k IDs.
    func take(_ ids: some Sequence<RPCCallID>) -> [UnsafeContinuation<RPCStep, Never>?] {
        state.withLock { state in
            ids.map { id in
                let slot = id.slot
                guard slot < state.slots.count, state.slots[slot].generation == id.generation,
                      let continuation = state.slots[slot].continuation
                else { return nil }
                state.slots[slot].continuation = nil
                return continuation
            }
        }
    }

    /// The cancellation handler's path: resumes `id`'s caller with `.cancelled` if it is parked.
    /// - Complexity: O(1).
    func cancel(_ id: RPCCallID) {
        take(id)?.resume(returning: .cancelled)
    }

    /// Gives a large table's memory back; only when no call is pending (so nothing is parked).
    /// - Complexity: O(1), plus freeing the table.
    func releaseMemory() {
        state.withLock { state in
            if state.slots.capacity > 1024 { state.slots = [] }
        }
    }
}
