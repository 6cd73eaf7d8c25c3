import MaculaMemory
import MaculaMesh

/// An ``RPCDiscovery`` with no network: a table of services and their providers, plus services
/// whose discovery the test answers by hand.
///
/// ```swift
/// let discovery = InMemoryRPCDiscovery()
/// discovery.setAnswer(.providers([ServiceProvider(nodeID: "a", address: "mem://a")]), for: "calc.add")
/// discovery.setAnswer(.hold, for: "slow.service")     // answered by the test:
/// let query = await discovery.nextQuery()            // returns once the handler asks
/// query.succeed([provider])                          // the handler gets the providers
/// ```
///
/// A held discovery honors cancellation at once (the handler cancels a discovery nobody waits
/// for any more); ``cancelledCount`` counts those, and ``waitForCancellations(_:)`` waits for them.
public final class InMemoryRPCDiscovery: RPCDiscovery {
    /// How the discovery of a service answers.
    public enum Answer: Sendable {
        /// These providers, at once (empty: nobody provides the service).
        case providers([ServiceProvider])
        /// Throw an ``InMemoryRPCDiscoveryError`` with this message, at once.
        case failure(String)
        /// Wait until the test answers through ``nextQuery()``.
        case hold
    }

    /// A held discovery, answered by the test.
    public struct Query: Sendable {
        /// The service being discovered.
        public let service: String
        fileprivate let id: UInt64
        fileprivate let owner: InMemoryRPCDiscovery

        /// Answers with `providers`.
        /// - Parameter providers: the providers found.
        /// - Returns: false when the discovery had been cancelled meanwhile (nothing happens).
        @discardableResult
        public func succeed(_ providers: [ServiceProvider]) -> Bool {
            owner.resolve(id, with: .success(providers))
        }

        /// Makes the discovery throw an ``InMemoryRPCDiscoveryError`` with `message`.
        /// - Parameter message: the error's message.
        /// - Returns: false when the discovery had been cancelled meanwhile.
        @discardableResult
        public func fail(_ message: String) -> Bool {
            owner.resolve(id, with: .failure(InMemoryRPCDiscoveryError(service: service, message: message)))
        }
    }

    private struct State {
        var defaultAnswer: Answer
        var answers: [String: Answer] = [:]
        var counts: [String: Int] = [:]
        var cancelled = 0
        var held = 0
        var nextID: UInt64 = 0
        var waiting: [UInt64: CheckedContinuation<Result<[ServiceProvider], any Error>, Never>] = [:]
        /// Held discoveries not handed out yet: the state holds no ``Query``, whose `owner` would
        /// make a retain cycle.
        var unobserved: [(service: String, id: UInt64)] = []
        var queryObservers: [CheckedContinuation<Query, Never>] = []
        var cancelObservers = CountObservers()
        var holdObservers = CountObservers()
    }

    private let state: LockedState<State>

    /// Creates a discovery.
    /// - Parameter defaultAnswer: the answer for services without their own; no providers by
    ///   default.
    public init(defaultAnswer: Answer = .providers([])) {
        state = LockedState(State(defaultAnswer: defaultAnswer))
    }

    /// Sets how the discovery of `service` answers from now on.
    /// - Parameters:
    ///   - answer: the answer.
    ///   - service: the service name.
    public func setAnswer(_ answer: Answer, for service: String) {
        state.withLock { $0.answers[service] = answer }
    }

    /// How many discoveries of `service` were started (nil: of every service).
    /// - Parameter service: the service, or nil for all.
    /// - Returns: the count.
    public func discoveryCount(for service: String? = nil) -> Int {
        state.withLock { state in
            service.map { state.counts[$0] ?? 0 } ?? state.counts.values.reduce(0, +)
        }
    }

    /// How many held discoveries were cancelled before the test answered them.
    public var cancelledCount: Int { state.withLock { $0.cancelled } }

    /// Held discoveries running now (not answered, not cancelled).
    public var heldCount: Int { state.withLock { $0.waiting.count } }

    /// Waits for the next held discovery. Each is handed out once, in the order it started,
    /// including those that started before the call.
    /// - Returns: the query to answer.
    public func nextQuery() async -> Query {
        await withCheckedContinuation { (continuation: CheckedContinuation<Query, Never>) in
            let ready = state.withLock { state -> Query? in
                if state.unobserved.isEmpty {
                    state.queryObservers.append(continuation)
                    return nil
                }
                let next = state.unobserved.removeFirst()
                return Query(service: next.service, id: next.id, owner: self)
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Waits until at least `count` held discoveries were cancelled in total.
    /// - Parameter count: the number of cancellations to wait for.
    public func waitForCancellations(_ count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { $0.cancelObservers.add(continuation, count: count, current: $0.cancelled) }
            if ready { continuation.resume() }
        }
    }

    /// Waits until at least `count` discoveries were held in total (answered, cancelled or still
    /// running), without handing any out as ``nextQuery()`` does.
    /// - Parameter count: the number of held discoveries to wait for.
    public func waitForHolds(_ count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { $0.holdObservers.add(continuation, count: count, current: $0.held) }
            if ready { continuation.resume() }
        }
    }

    /// Answers per the service's ``Answer``.
    /// - Parameter service: the service to discover.
    /// - Returns: its providers.
    /// - Throws: ``InMemoryRPCDiscoveryError`` for a failing service; `CancellationError` when a
    ///   held discovery is cancelled.
    public func discover(_ service: String) async throws -> [ServiceProvider] {
        let (answer, id) = state.withLock { state -> (Answer, UInt64) in
            state.counts[service, default: 0] += 1
            state.nextID += 1
            return (state.answers[service] ?? state.defaultAnswer, state.nextID)
        }
        switch answer {
        case .providers(let providers):
            return providers
        case .failure(let message):
            throw InMemoryRPCDiscoveryError(service: service, message: message)
        case .hold:
            let result = await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Result<[ServiceProvider], any Error>, Never>) in
                    var observer: CheckedContinuation<Query, Never>?
                    var holdsReached: [CheckedContinuation<Void, Never>] = []
                    let cancelled = state.withLock { state -> Bool in
                        if Task.isCancelled { return true }
                        state.waiting[id] = continuation
                        if state.queryObservers.isEmpty {
                            state.unobserved.append((service, id))
                        } else {
                            observer = state.queryObservers.removeFirst()
                        }
                        state.held += 1
                        holdsReached = state.holdObservers.reached(state.held)
                        return false
                    }
                    if cancelled {
                        countCancellation()
                        continuation.resume(returning: .failure(CancellationError()))
                    }
                    observer?.resume(returning: Query(service: service, id: id, owner: self))
                    for reached in holdsReached { reached.resume() }
                }
            } onCancel: {
                cancel(id)
            }
            return try result.get()
        }
    }

    fileprivate func resolve(_ id: UInt64, with result: Result<[ServiceProvider], any Error>) -> Bool {
        let continuation = state.withLock { $0.waiting.removeValue(forKey: id) }
        continuation?.resume(returning: result)
        return continuation != nil
    }

    private func cancel(_ id: UInt64) {
        // A cancelled query stays in the queue of ``nextQuery()``: every discovery that started
        // is handed out once (its `succeed` then returns false).
        let continuation = state.withLock { $0.waiting.removeValue(forKey: id) }
        guard let continuation else { return }
        countCancellation()
        continuation.resume(returning: .failure(CancellationError()))
    }

    private func countCancellation() {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.cancelled += 1
            return state.cancelObservers.reached(state.cancelled)
        }
        for continuation in ready { continuation.resume() }
    }
}

/// The error a failing ``InMemoryRPCDiscovery`` throws.
public struct InMemoryRPCDiscoveryError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The service whose discovery failed.
    public let service: String
    /// The configured message.
    public let message: String

    /// Creates the error.
    /// - Parameters:
    ///   - service: the service whose discovery failed.
    ///   - message: the configured message.
    public init(service: String, message: String) {
        self.service = service
        self.message = message
    }

    public var description: String { "in-memory discovery of '\(service)' failed: \(message)" }
}
