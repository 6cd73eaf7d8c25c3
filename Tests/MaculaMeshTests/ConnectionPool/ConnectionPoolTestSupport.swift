@testable import MaculaMesh
import MaculaTesting
import Synchronization
import Testing

// Helpers shared by the connection pool's tests. Names start with `Pool` so that they cannot
// collide with other mechanisms' helpers in this test target.

typealias PoolTestCore = ConnectionPoolCore<Int, FakeConnection<Int>, Int, ManualClock.Instant>
typealias PoolTestAction = PoolTestCore.Action

/// The instant `seconds` after the manual clock's start.
func poolInstant(_ seconds: Int) -> ManualClock.Instant {
    ManualClock.Instant(offset: .seconds(seconds))
}

/// Drives a core synchronously the way the actor does, with request IDs as waiter payloads and
/// connections numbered in creation order.
struct PoolCoreDriver {
    var core: PoolTestCore
    var nextRequest: UInt64 = 0
    var serial = 0

    init(limit: Int, maximumWaiters: Int = 100, waitTimeout: Duration = .seconds(5), running: Bool = true) throws {
        core = try PoolTestCore(maximumConnections: limit, maximumWaiters: maximumWaiters, waitTimeout: waitTimeout)
        if running { #expect(core.runStarted() == nil) }
    }

    /// A request; the waiter payload is the request ID.
    mutating func request(_ node: Int, pin: Bool = false, at now: Int = 0, cancelled: Bool = false)
        -> (id: UInt64, action: PoolTestCore.RequestAction, actions: [PoolTestAction])
    {
        let id = nextRequest
        nextRequest += 1
        let (action, actions) = core.request(
            node, pin: pin, id: id,
            waiter: { cancelled ? nil : Int(id) },
            now: { poolInstant(now) }
        )
        return (id, action, actions)
    }

    /// A new connection for `node`, as a factory would make it.
    mutating func makeConnection(_ node: Int) -> FakeConnection<Int> {
        serial += 1
        return FakeConnection(node: node, serial: serial)
    }

    /// Completes connect `id` to `node` successfully.
    mutating func succeed(_ id: UInt64, node: Int) -> (FakeConnection<Int>, [PoolTestAction]) {
        let connection = makeConnection(node)
        return (connection, core.connectFinished(id, node: node, result: .success(connection)))
    }

    /// Requests `node` and completes the connect it starts; returns the new connection and every
    /// action of the completion. Expects a miss that starts a connect.
    mutating func insert(_ node: Int, pin: Bool = false) -> (FakeConnection<Int>, [PoolTestAction]) {
        let (_, action, _) = request(node, pin: pin)
        guard case .startConnect(let id) = action else {
            Issue.record("expected a connect for \(node), got \(action)")
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
        guard case .hit(let connection, let lease) = action else {
            Issue.record("expected a hit for \(node), got \(action)", sourceLocation: sourceLocation)
            return (makeConnection(node), nil)
        }
        return (connection, lease)
    }

    /// The nodes in recency order (leased first).
    var order: [Int] { core.connections().map(\.node) }

    func expectInvariants(sourceLocation: SourceLocation = #_sourceLocation) {
        let problems = core.invariantViolations()
        #expect(problems.isEmpty, "\(problems)", sourceLocation: sourceLocation)
    }
}

extension PoolTestCore.RequestAction {
    var connectID: UInt64? {
        if case .startConnect(let id) = self { return id }
        return nil
    }
    var isJoined: Bool {
        if case .joinedConnect = self { return true }
        return false
    }
    var isQueued: Bool {
        if case .queued = self { return true }
        return false
    }
    var rejection: ConnectionPoolError? {
        if case .rejected(let error) = self { return error }
        return nil
    }
}

/// The actions' closes: (node, serial, reason).
func poolCloses(_ actions: [PoolTestAction]) -> [(node: Int, serial: Int, reason: RemovalReason?)] {
    actions.compactMap {
        if case .close(let connection, let reason) = $0 { return (connection.node, connection.serial, reason) }
        return nil
    }
}

/// The actions' resumes: (request ID, outcome).
func poolResumes(_ actions: [PoolTestAction]) -> [(request: Int, outcome: ConnectionPoolOutcome<FakeConnection<Int>>)] {
    actions.compactMap {
        if case .resume(let waiter, let outcome) = $0 { return (waiter, outcome) }
        return nil
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
        if case .reject(let reason) = $0 { return reason }
        return nil
    }
}

func poolEvents(_ actions: [PoolTestAction]) -> [MemoryEvent] {
    actions.compactMap {
        if case .record(let event) = $0 { return event }
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

/// A metrics sink that remembers everything, for assertions.
final class PoolRecordingMetrics: MemoryMetrics {
    private let state = Mutex<(removals: [String: Int], rejections: [String: Int], events: [String: Int])>(([:], [:], [:]))

    func entriesRemoved(_ count: Int, reason: RemovalReason, component: String) {
        state.withLock { $0.removals[reason.name, default: 0] += count }
    }
    func requestRejected(reason: RejectionReason, component: String) {
        state.withLock { $0.rejections[reason.name, default: 0] += 1 }
    }
    func eventRecorded(_ event: MemoryEvent, count: Int, component: String) {
        state.withLock { $0.events[event.name, default: 0] += count }
    }

    func removals(_ reason: RemovalReason) -> Int { state.withLock { $0.removals[reason.name, default: 0] } }
    func rejections(_ reason: RejectionReason) -> Int { state.withLock { $0.rejections[reason.name, default: 0] } }
    func events(_ event: MemoryEvent) -> Int { state.withLock { $0.events[event.name, default: 0] } }
}

struct PoolTestError: Error, Equatable {
    var message = "connect refused"
}
