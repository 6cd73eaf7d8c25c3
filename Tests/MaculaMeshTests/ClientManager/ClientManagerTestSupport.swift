import MaculaModels
import MaculaMemory
@testable import MaculaMesh
import MaculaTesting
import Synchronization
import Testing

/// The manager the actor tests use: string client IDs and infos, integer stream IDs.
typealias TestClientManager = ClientManager<String, String, Int>

/// The core, for synchronous tests.
typealias TestClientCore = ClientManagerCore<String, String, Int>


private let waiterNames = LockedState<[ObjectIdentifier: String]>([:])

/// A kit waiter with a name, for core tests. Cancel it with `cancel()` (what its caller's
/// cancellation handler does): a later offer's claim then fails.
func ClientsFakeWaiter(_ name: String = "") -> ClientsWaiter {
    let waiter = ClientsWaiter()
    waiterNames.withLock { $0[ObjectIdentifier(waiter)] = name }
    return waiter
}

typealias ClientsWaiter = Waiter<TestClientCore.Outcome>

extension Waiter {
    var name: String { waiterNames.withLock { $0[ObjectIdentifier(self)] ?? "?" } }
}

extension ClientManagerCore where ClientID == String, ClientInfo == String, StreamID == Int {
    /// Carries out `actions` as the actor does; what each waiter got, by the waiter's name.
    mutating func settle(_ actions: [Action]) -> [String] {
        settle(actions) { $0.name }.actions
    }

    /// The actor's `prune()`, settled.
    mutating func prune(isAlive: (String, String) -> Bool) -> ClientsSettlement {
        prune(isAlive: isAlive) { $0.name }
    }

    /// `shutdown()`, settled.
    mutating func shutdownCounting() -> ClientsSettlement {
        settle(shutdown()) { $0.name }
    }

    /// The reports among `actions`.
    static func reports(_ actions: [Action]) -> [Report] {
        actions.compactMap { if case .report(let report) = $0 { report } else { nil } }
    }

    var usage: MemoryUsage { budget.usage(size: clientCount) }
}

extension ClientManagerCore.Admission {
    /// `registered 1`, or `queued 2` followed by its actions: `waiting_for_run`, `overdue 3.0 seconds`, `wake`.
    var summary: String {
        switch self {
        case .registered(let registration): return "registered \(registration)"
        case .queued(let id, let actions):
            return (["queued \(id)"] + actions.map { action in
                switch action {
                case .report(.event(let event, _)): "\(event)"
                case .report(.runNotStarted(let overdueBy)): "overdue \(overdueBy)"
                case .wakeDeadlineLoop: "wake"
                default: "other"
                }
            }).joined(separator: " ")
        }
    }

    var wakesDeadlineLoop: Bool {
        guard case .queued(_, let actions) = self else { return false }
        return actions.contains { if case .wakeDeadlineLoop = $0 { true } else { false } }
    }
}

/// A counter shared by many tasks.
final class ClientsCounter: Sendable {
    private let count = Atomic<Int>(0)
    init() {}
    func increment() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
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
