@testable import MaculaMesh
import MaculaTesting
import Synchronization
import Testing

// Helpers shared by the connection pool's tests. Names start with `Pool` so that they cannot
// collide with other mechanisms' helpers in this test target.

typealias PoolTestCore = ConnectionPoolCore<Int, FakeConnection<Int>, Int>
typealias PoolTestAction = PoolTestCore.Action

/// The time `seconds` after the pool's origin.
func poolInstant(_ seconds: Int) -> Duration {
    .seconds(seconds)
}

/// What a request got, with its actions, as the core tests look at it.
struct PoolRequestView {
    var requested: PoolTestCore.Requested
    var actions: [PoolTestAction]

    /// The connect the request started, if it started one.
    var connectID: UInt64? {
        if case .waits(_, let connect?) = requested { return connect }
        return nil
    }
    var isJoined: Bool {
        guard case .waits = requested else { return false }
        return poolEvents(actions).contains(.connectShared)
    }
    var isQueued: Bool {
        guard case .waits = requested else { return false }
        return poolEvents(actions).contains(.callerQueued)
    }
    var signalsDeadlineLoop: Bool {
        actions.contains { if case .signalDeadlineLoop = $0 { true } else { false } }
    }
    var rejection: ConnectionPoolError? {
        if case .failed(let error) = requested { return error }
        return nil
    }
    var hit: (FakeConnection<Int>, ConnectionPoolLease?)? {
        if case .connected(let connection, let lease) = requested { return (connection, lease) }
        return nil
    }
}

/// Drives a core synchronously the way the actor does, with the driver's request numbers as
/// tokens and connections numbered in creation order.
struct PoolCoreDriver {
    var core: PoolTestCore
    var serial = 0
    /// The number the next request gets.
    var nextRequest: UInt64 = 0
    /// The core's request ID of each request that waits, by number.
    var ids: [UInt64: UInt64] = [:]

    init(limit: Int, maximumWaiters: Int = 100, waitTimeout: Duration = .seconds(5), running: Bool = true) throws {
        core = try PoolTestCore(maximumConnections: limit, maximumWaiters: maximumWaiters, waitTimeout: waitTimeout)
        if running { #expect(core.runStarted(now: .zero) == .started(overdueBy: nil)) }
    }

    /// A request; its token is its number, returned as `id`.
    mutating func request(_ node: Int, pin: Bool = false, at now: Int = 0, cancelled: Bool = false)
        -> (id: UInt64, action: PoolRequestView, actions: [PoolTestAction])
    {
        let number = nextRequest
        nextRequest += 1
        let (requested, actions) = core.request(
            node, pin: pin, token: Int(number), now: poolInstant(now), isCancelled: cancelled)
        if case .waits(let id, _) = requested { ids[number] = id }
        return (number, PoolRequestView(requested: requested, actions: actions), actions)
    }

    /// The resumes among `actions`, with the outcomes stored for them (not taken).
    func resumes(_ actions: [PoolTestAction]) -> [(request: Int, outcome: ConnectionPoolOutcome<FakeConnection<Int>>)] {
        actions.compactMap {
            guard case .resume(let token) = $0, let id = ids[UInt64(token)], let outcome = core.outcome(of: id) else {
                return nil
            }
            return (token, outcome)
        }
    }

    /// Request `number`, still waiting, was cancelled. - Returns: the actions.
    mutating func cancel(_ number: UInt64, node: Int) -> [PoolTestAction] {
        let (outcome, actions) = core.callerResumed(ids[number] ?? .max, node: node, delivered: false)
        #expect(outcome.error == .cancelled)
        return actions
    }

    /// A new connection for `node`, as a factory would make it.
    mutating func makeConnection(_ node: Int) -> FakeConnection<Int> {
        serial += 1
        return FakeConnection(node: node, serial: serial)
    }

    /// Completes connect `id` to `node` successfully.
    mutating func succeed(_ id: UInt64, node: Int) -> (FakeConnection<Int>, [PoolTestAction]) {
        let connection = makeConnection(node)
        return (connection, core.connectFinished(id, result: .success(connection)))
    }

    /// Requests `node` and completes the connect it starts. Expects a miss that starts a connect.
    mutating func insert(_ node: Int, pin: Bool = false) -> (FakeConnection<Int>, [PoolTestAction]) {
        let (_, action, _) = request(node, pin: pin)
        guard let id = action.connectID else {
            Issue.record("expected a connect for \(node), got \(action.requested)")
            return (makeConnection(node), [])
        }
        return succeed(id, node: node)
    }

    /// Requests `node` and expects a hit.
    @discardableResult
    mutating func hit(_ node: Int, pin: Bool = false, sourceLocation: SourceLocation = #_sourceLocation)
        -> (FakeConnection<Int>, ConnectionPoolLease?)
    {
        let (_, action, _) = request(node, pin: pin)
        guard let hit = action.hit else {
            Issue.record("expected a hit for \(node), got \(action.requested)", sourceLocation: sourceLocation)
            return (makeConnection(node), nil)
        }
        return hit
    }

    /// The nodes in recency order (leased first).
    var order: [Int] { core.connections().map(\.node) }

    func expectInvariants(sourceLocation: SourceLocation = #_sourceLocation) {
        let problems = core.invariantViolations()
        #expect(problems.isEmpty, "\(problems)", sourceLocation: sourceLocation)
    }
}

/// The actions' closes: (node, serial, removal reason; nil for a discarded connection).
func poolCloses(_ actions: [PoolTestAction]) -> [(node: Int, serial: Int, reason: RemovalReason?)] {
    actions.compactMap {
        switch $0 {
        case .removed(let connection, let reason): (connection.node, connection.serial, reason)
        case .discarded(let connection): (connection.node, connection.serial, nil)
        default: nil
        }
    }
}

/// The actions' connect starts: (connect ID, node).
func poolStarts(_ actions: [PoolTestAction]) -> [(id: UInt64, node: Int)] {
    actions.compactMap {
        if case .startConnect(let id, let node) = $0 { return (id, node) }
        return nil
    }
}

func poolRejections(_ actions: [PoolTestAction]) -> [RejectionReason] {
    actions.compactMap {
        if case .rejected(let reason) = $0 { return reason }
        return nil
    }
}

func poolEvents(_ actions: [PoolTestAction]) -> [MemoryEvent] {
    actions.compactMap {
        if case .event(let event) = $0 { return event }
        return nil
    }
}

func poolCancelledConnects(_ actions: [PoolTestAction]) -> [UInt64] {
    actions.compactMap {
        if case .cancelConnect(let id) = $0 { return id }
        return nil
    }
}

extension ConnectionPoolOutcome {
    var connection: Connection? {
        if case .connected(let connection, _) = self { return connection }
        return nil
    }
    var lease: ConnectionPoolLease? {
        if case .connected(_, let lease) = self { return lease }
        return nil
    }
    var error: ConnectionPoolError? {
        if case .failed(let error) = self { return error }
        return nil
    }
}

struct PoolTestError: Error, Equatable {
    var message = "connect refused"
}

/// A one-shot gate: ``wait()`` returns once ``open()`` was called (before or after).
final class PoolGate: Sendable {
    private let state = LockedState<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let open = state.withLock { state -> Bool in
                if !state.open { state.waiters.append(continuation) }
                return state.open
            }
            if open { continuation.resume() }
        }
    }
}

typealias PoolUnderTest = ConnectionPool<Int, FakeConnection<Int>>

/// A pool on a manual clock over a scripted factory, with recording metrics.
struct PoolFixture {
    let clock = ManualClock()
    let factory: ScriptedConnectionFactory<Int>
    let metrics = RecordingMemoryMetrics()
    let pool: PoolUnderTest

    init(
        limit: Int = 3,
        maximumWaiters: Int = 10,
        waitTimeout: Duration = .seconds(5),
        honorsCancellation: Bool = false,
        behavior: @escaping @Sendable (Int) -> ScriptedConnectionFactory<Int>.Behavior = { _ in .wait }
    ) throws {
        let factory = ScriptedConnectionFactory<Int>(honorsCancellation: honorsCancellation, behavior: behavior)
        self.factory = factory
        pool = try PoolUnderTest(
            configuration: .init(maximumConnections: limit, maximumWaiters: maximumWaiters, waitTimeout: waitTimeout),
            clock: clock,
            metrics: metrics,
            factory: factory.connect
        )
    }

    /// Connects `node` through the pool, resolving the factory call successfully.
    @discardableResult
    func connect(_ node: Int) async throws -> FakeConnection<Int> {
        async let connection = pool.connection(to: node)
        let pending = await factory.nextConnect()
        #expect(pending.node == node)
        pending.succeed()
        return try await connection
    }

    /// Starts `run()` in a task (start order does not matter: nothing waits for it to start).
    func startRunning() -> Task<Void, any Error> {
        Task { try await pool.run() }
    }

    func nodes() async -> [Int] { await pool.connections().map(\.node) }

    func expectInvariants(sourceLocation: SourceLocation = #_sourceLocation) async {
        let problems = await pool.core.invariantViolations()
        #expect(problems.isEmpty, "\(problems)", sourceLocation: sourceLocation)
    }

    /// The core's invariants, and nothing left for callers: call it when no call is in progress.
    func expectQuiescent(sourceLocation: SourceLocation = #_sourceLocation) async {
        await expectInvariants(sourceLocation: sourceLocation)
        let leftOver = await pool.callerStateLeftOver()
        #expect(leftOver.isEmpty, "\(leftOver)", sourceLocation: sourceLocation)
    }
}
