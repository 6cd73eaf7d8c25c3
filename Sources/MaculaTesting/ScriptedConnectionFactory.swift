import MaculaMemory
import MaculaMesh

/// A connection factory for tests whose calls the test resolves by hand: each call is reported
/// to ``nextConnect()`` and waits until the test calls ``PendingConnect/succeed()`` or
/// ``PendingConnect/fail(_:)``. A `behavior` can answer some calls at once instead.
///
/// ```swift
/// let factory = ScriptedConnectionFactory<Int>()
/// let pool = try ConnectionPool(clock: clock, factory: factory.connect)
/// async let connection = pool.connection(to: 7)
/// let pending = await factory.nextConnect()     // the pool called the factory for node 7
/// let made = pending.succeed()                  // …and now the connect completes
/// #expect(try await connection === made)
/// ```
public final class ScriptedConnectionFactory<NodeID: Hashable & Sendable>: Sendable {
    /// How the factory answers one call.
    public enum Behavior: Sendable {
        /// Wait until the test resolves the call (reported by ``nextConnect()``).
        case wait
        /// Return a new connection at once, without suspending.
        case succeed
        /// Throw the error at once, without suspending.
        case fail(any Error)
    }

    /// One call that waits for the test.
    public final class PendingConnect: Sendable {
        /// The node the pool asked for.
        public let node: NodeID
        /// The serial number the connection gets if the call succeeds.
        public let serial: Int
        private let factory: ScriptedConnectionFactory
        private let honorsCancellation: Bool
        private let state = LockedState<(continuation: CheckedContinuation<FakeConnection<NodeID>, any Error>?, resolved: Bool, cancelled: Bool)>((nil, false, false))

        fileprivate init(node: NodeID, serial: Int, factory: ScriptedConnectionFactory) {
            self.node = node
            self.serial = serial
            self.factory = factory
            self.honorsCancellation = factory.honorsCancellation
        }

        /// Whether the task running the call was cancelled (the pool abandoned the connect).
        public var isCancelled: Bool { state.withLock { $0.cancelled } }

        /// Completes the call with a new connection and returns it.
        /// - Returns: the connection, or nil when the call was already resolved (a no-op).
        @discardableResult
        public func succeed() -> FakeConnection<NodeID>? {
            guard let continuation = take() else { return nil }
            let connection = factory.makeConnection(node: node, serial: serial)
            continuation.resume(returning: connection)
            return connection
        }

        /// Fails the call with `error`; a no-op when the call was already resolved.
        public func fail(_ error: any Error) {
            take()?.resume(throwing: error)
        }

        fileprivate func store(_ continuation: CheckedContinuation<FakeConnection<NodeID>, any Error>) {
            let cancelledEarly = state.withLock { state -> Bool in
                state.continuation = continuation
                return state.cancelled
            }
            if cancelledEarly && honorsCancellation { fail(CancellationError()) }
        }

        fileprivate func markCancelled() {
            state.withLock { $0.cancelled = true }
            if honorsCancellation { fail(CancellationError()) }
        }

        /// Takes the continuation if the call is not resolved yet, marking it resolved.
        private func take() -> CheckedContinuation<FakeConnection<NodeID>, any Error>? {
            state.withLock { state in
                guard !state.resolved, let continuation = state.continuation else { return nil }
                state.resolved = true
                state.continuation = nil
                return continuation
            }
        }
    }

    private struct State {
        var serial = 0
        var calls: [NodeID: Int] = [:]
        var connections: [FakeConnection<NodeID>] = []
        var unobserved: [PendingConnect] = []
        var observers: [CheckedContinuation<PendingConnect, Never>] = []
        var outstanding = 0
        var maximumOutstanding = 0
    }

    private let state = LockedState(State())
    private let behavior: @Sendable (NodeID) -> Behavior
    private let honorsCancellation: Bool

    /// Creates a factory.
    /// - Parameters:
    ///   - honorsCancellation: when true, a waiting call whose task is cancelled throws
    ///     `CancellationError` at once; when false (the default) it keeps waiting for the test,
    ///     which can see ``PendingConnect/isCancelled``.
    ///   - behavior: how to answer each call; by default every call waits for the test.
    public init(
        honorsCancellation: Bool = false,
        behavior: @escaping @Sendable (NodeID) -> Behavior = { _ in .wait }
    ) {
        self.honorsCancellation = honorsCancellation
        self.behavior = behavior
    }

    /// The factory function to hand to a pool.
    public nonisolated(nonsending) func connect(to node: NodeID) async throws -> FakeConnection<NodeID> {
        let serial = state.withLock { state -> Int in
            state.serial += 1
            state.calls[node, default: 0] += 1
            state.outstanding += 1
            state.maximumOutstanding = max(state.maximumOutstanding, state.outstanding)
            return state.serial
        }
        defer { state.withLock { $0.outstanding -= 1 } }
        switch behavior(node) {
        case .succeed:
            return makeConnection(node: node, serial: serial)
        case .fail(let error):
            throw error
        case .wait:
            break
        }
        let pending = PendingConnect(node: node, serial: serial, factory: self)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                pending.store(continuation)
                let observer = state.withLock { state -> CheckedContinuation<PendingConnect, Never>? in
                    if state.observers.isEmpty {
                        state.unobserved.append(pending)
                        return nil
                    }
                    return state.observers.removeFirst()
                }
                observer?.resume(returning: pending)
            }
        } onCancel: {
            pending.markCancelled()
        }
    }

    /// Waits until a call waits for the test and returns it. Each call is reported once, in the
    /// order the calls began, including calls that began before this one.
    public func nextConnect() async -> PendingConnect {
        await withCheckedContinuation { (continuation: CheckedContinuation<PendingConnect, Never>) in
            let ready = state.withLock { state -> PendingConnect? in
                if state.unobserved.isEmpty {
                    state.observers.append(continuation)
                    return nil
                }
                return state.unobserved.removeFirst()
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// How many times the factory was called, in all.
    public var callCount: Int { state.withLock { $0.serial } }

    /// How many calls are in progress now: entered and not returned (waiting for the test, or
    /// answering at once).
    public var outstandingCount: Int { state.withLock { $0.outstanding } }

    /// The most calls that were in progress at once since the factory was made.
    public var maximumOutstandingCount: Int { state.withLock { $0.maximumOutstanding } }

    /// How many times the factory was called for `node`.
    public func callCount(for node: NodeID) -> Int { state.withLock { $0.calls[node, default: 0] } }

    /// Every connection the factory made, oldest first.
    public var connections: [FakeConnection<NodeID>] { state.withLock { $0.connections } }

    fileprivate func makeConnection(node: NodeID, serial: Int) -> FakeConnection<NodeID> {
        let connection = FakeConnection(node: node, serial: serial)
        state.withLock { $0.connections.append(connection) }
        return connection
    }
}
