@testable import MaculaMesh
import MaculaTesting
import Synchronization
import Testing

/// The manager the actor tests use: string client IDs and infos, integer stream IDs.
typealias TestClientManager = ClientManager<String, String, Int>

/// The core with integer instants and fake waiters, for synchronous tests.
typealias TestClientCore = ClientManagerCore<String, String, Int, ClientsFakeWaiter>

typealias ClientsRandom = SplitMix64

/// A waiter for core tests: claimable unless its caller was "cancelled".
final class ClientsFakeWaiter: ClientSlotClaimable {
    private enum State { case waiting, claimed, cancelled }
    private let state = LockedState(State.waiting)
    let name: String

    init(_ name: String = "") { self.name = name }

    func claim() -> Bool {
        state.withLock { state in
            guard state == .waiting else { return false }
            state = .claimed
            return true
        }
    }

    /// The caller's cancellation handler ran: a later claim fails.
    func cancel() { state.withLock { if $0 == .waiting { $0 = .cancelled } } }

    var isClaimed: Bool { state.withLock { $0 == .claimed } }
}

/// A counter shared by many tasks.
final class ClientsCounter: Sendable {
    private let count = Atomic<Int>(0)
    init() {}
    func increment() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}

/// A shared value behind a lock.
final class ClientsLocked<Value: Sendable>: Sendable {
    private let state: LockedState<Value>
    init(_ value: Value) { state = LockedState(value) }
    func withLock<R>(_ body: (inout Value) -> R) -> R { state.withLock(body) }
    var value: Value { state.withLock { $0 } }
}

/// A one-shot hand-shake: `wait()` returns once `open()` was called, or when the waiting task is
/// cancelled (so a body can block until the test cancels it, without sleeping).
final class ClientsGate: Sendable {
    private struct State {
        var isOpen = false
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextID: UInt64 = 0
    }
    private let state = LockedState(State())

    init() {}

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.isOpen = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    var isOpen: Bool { state.withLock { $0.isOpen } }

    func wait() async {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.isOpen || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}

/// Starts `manager.run()` in a task (start order does not matter: nothing waits for it to start).
func startRunning(_ manager: TestClientManager) -> Task<Void, any Error> {
    Task { try await manager.run() }
}

/// A manager on a fresh manual clock.
func makeClientManager(
    maximumClients: Int = 10,
    maximumStreamsPerClient: Int = 100,
    maximumWaiters: Int = 100,
    waitTimeout: Duration = .seconds(5),
    metrics: any MemoryMetrics = NoMemoryMetrics(),
    isAlive: TestClientManager.LivenessCheck? = nil
) throws -> (TestClientManager, ManualClock) {
    let clock = ManualClock()
    let configuration = ClientManagerConfiguration(
        maximumClients: maximumClients,
        maximumStreamsPerClient: maximumStreamsPerClient,
        maximumWaiters: maximumWaiters,
        waitTimeout: waitTimeout
    )
    let manager = try TestClientManager(configuration: configuration, clock: clock, metrics: metrics, isAlive: isAlive)
    return (manager, clock)
}

extension ClientManagerCore {
    /// Fails the current test when an invariant is broken.
    func expectConsistent(sourceLocation: SourceLocation = #_sourceLocation) {
        let violations = invariantViolations()
        #expect(violations.isEmpty, "\(violations)", sourceLocation: sourceLocation)
    }
}
