import MaculaMemory
import MaculaMesh

/// An ``RPCTransport`` with no network: run an ``RPCHandler`` end to end in a test or an example.
///
/// Each provider (by ``ServiceProvider/nodeID``) has a ``Behavior``: answer at once, hold the
/// request until the test answers it, drop it (the attempt times out), or fail the send. Replies
/// go to the sink set with ``deliverReplies(to:)-(RPCHandler)`` — normally the handler's
/// ``RPCHandler/handleReply(_:)``.
///
/// ```swift
/// let transport = InMemoryRPCTransport(defaultBehavior: .respond { request in .success(request.arguments) })
/// let handler = try RPCHandler(registry: registry, transport: transport, discovery: discovery)
/// transport.deliverReplies(to: handler)
/// ```
///
/// Held requests are handed out with ``nextRequest()`` — each once, in the order they were sent,
/// waiting when there is none yet — so a test never sleeps to find out what was sent.
public final class InMemoryRPCTransport: RPCTransport {
    /// What happens to a request sent to a provider.
    public enum Behavior: Sendable {
        /// Keep the request until someone answers it (``nextRequest()``, ``takeHeldRequests()``).
        case hold
        /// Lose the request: the provider never answers, so the attempt times out.
        case drop
        /// Make `send` throw an ``InMemoryRPCTransportError`` with this message: the handler fails
        /// over at once.
        case failSend(String)
        /// Answer at once: the outcome `respond` returns is delivered to the reply sink while the
        /// caller's `send` runs (in the caller's task; no task is created).
        case respond(@Sendable (RPCRequest) async -> RPCReply.Outcome)
    }

    private struct State {
        var defaultBehavior: Behavior
        var behaviors: [String: Behavior] = [:]
        var sink: (@Sendable (RPCReply) async -> Void)?
        var history: [RPCRequest] = []
        var sendCount = 0
        var held: [RPCRequest] = []
        var heldHead = 0
        var requestObservers: [CheckedContinuation<RPCRequest, Never>] = []
        var countObservers = CountObservers()
        var outstanding = 0
        var maximumOutstanding = 0
        var abandoned: [Abandoned] = []
        var abandonCount = 0
    }

    /// An attempt the handler abandoned (``RPCTransport/abandon(_:attempt:)``).
    public struct Abandoned: Hashable, Sendable {
        /// The call the attempt belongs to.
        public var callID: RPCCallID
        /// The attempt's number.
        public var attempt: Int

        /// Creates a record.
        public init(callID: RPCCallID, attempt: Int) {
            self.callID = callID
            self.attempt = attempt
        }
    }

    private let state: LockedState<State>
    private let keepsHistory: Bool

    /// Creates a transport.
    /// - Parameters:
    ///   - defaultBehavior: the behavior of every provider without its own; ``Behavior/hold``
    ///     by default.
    ///   - keepsHistory: whether ``sentRequests`` and ``abandonedAttempts`` record every request and
    ///     abandoned attempt (turn off for long or large runs: they grow with every send).
    public init(defaultBehavior: Behavior = .hold, keepsHistory: Bool = true) {
        state = LockedState(State(defaultBehavior: defaultBehavior))
        self.keepsHistory = keepsHistory
    }

    /// Sets the behavior of the provider with `nodeID`.
    /// - Parameters:
    ///   - behavior: what happens to requests sent to it from now on.
    ///   - nodeID: the provider's ``ServiceProvider/nodeID``.
    public func setBehavior(_ behavior: Behavior, for nodeID: String) {
        state.withLock { $0.behaviors[nodeID] = behavior }
    }

    /// Sets the behavior of every provider without its own.
    /// - Parameter behavior: the new default.
    public func setDefaultBehavior(_ behavior: Behavior) {
        state.withLock { $0.defaultBehavior = behavior }
    }

    /// Sends the replies of ``Behavior/respond(_:)`` providers to `sink`.
    /// - Parameter sink: receives each reply. The transport keeps it until it is replaced, so it
    ///   must not hold the handler that uses this transport strongly (that is a retain cycle).
    public func deliverReplies(to sink: @escaping @Sendable (RPCReply) async -> Void) {
        state.withLock { $0.sink = sink }
    }

    /// Sends the replies of ``Behavior/respond(_:)`` providers to `handler`.
    ///
    /// The transport holds `handler` weakly, as every transport must (see ``RPCTransport``): the
    /// handler owns its transport, so a strong reference back would keep both alive forever.
    /// Replies that arrive after the handler is gone are dropped.
    /// - Parameter handler: the handler whose ``RPCHandler/handleReply(_:)`` gets them.
    public func deliverReplies(to handler: RPCHandler) {
        deliverReplies { [weak handler] reply in await handler?.handleReply(reply) }
    }

    /// Every request sent so far, oldest first (empty when `keepsHistory` is false).
    public var sentRequests: [RPCRequest] { state.withLock { $0.history } }

    /// Every attempt the handler abandoned, in order (empty when `keepsHistory` is false).
    public var abandonedAttempts: [Abandoned] { state.withLock { $0.abandoned } }

    /// How many attempts the handler abandoned so far (counted whatever `keepsHistory` says).
    public var abandonCount: Int { state.withLock { $0.abandonCount } }

    /// Records the abandoned attempt (in ``abandonedAttempts`` only when `keepsHistory` is true);
    /// a held request of it stays held.
    public func abandon(_ callID: RPCCallID, attempt: Int) {
        state.withLock { state in
            state.abandonCount += 1
            if keepsHistory { state.abandoned.append(Abandoned(callID: callID, attempt: attempt)) }
        }
    }

    /// How many requests were sent so far (whatever happened to them).
    public var sendCount: Int { state.withLock { $0.sendCount } }

    /// How many ``send(_:)`` calls are in progress now: entered and not returned. A held or
    /// dropped request's send returns at once; a responding provider's send returns once its
    /// reply was delivered.
    public var outstandingCount: Int { state.withLock { $0.outstanding } }

    /// The most ``send(_:)`` calls that were in progress at once since the transport was made.
    public var maximumOutstandingCount: Int { state.withLock { $0.maximumOutstanding } }

    /// The held requests nobody has taken yet, oldest first.
    public var heldRequests: [RPCRequest] { state.withLock { Array($0.held[$0.heldHead...]) } }

    /// Removes and returns every held request not taken yet, oldest first.
    /// - Returns: the requests.
    public func takeHeldRequests() -> [RPCRequest] {
        state.withLock { state in
            let taken = Array(state.held[state.heldHead...])
            state.held.removeAll()
            state.heldHead = 0
            return taken
        }
    }

    /// Waits for the next held request and takes it. Each held request is handed out once, in the
    /// order it was sent, including those sent before the call.
    /// - Returns: the request.
    public func nextRequest() async -> RPCRequest {
        await withCheckedContinuation { (continuation: CheckedContinuation<RPCRequest, Never>) in
            let ready = state.withLock { state -> RPCRequest? in
                guard state.heldHead < state.held.count else {
                    state.requestObservers.append(continuation)
                    return nil
                }
                return Self.popHeld(&state)
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Waits until at least `count` requests were sent in total.
    /// - Parameter count: the number of sends to wait for.
    public func waitForSends(_ count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { $0.countObservers.add(continuation, count: count, current: $0.sendCount) }
            if ready { continuation.resume() }
        }
    }

    /// Carries out the behavior of `request.provider`.
    /// - Parameter request: the attempt to send.
    /// - Throws: ``InMemoryRPCTransportError`` for a ``Behavior/failSend(_:)`` provider.
    public func send(_ request: RPCRequest) async throws {
        var handOut: (CheckedContinuation<RPCRequest, Never>, RPCRequest)?
        var counted: [CheckedContinuation<Void, Never>] = []
        let (behavior, sink) = state.withLock { state -> (Behavior, (@Sendable (RPCReply) async -> Void)?) in
            state.sendCount += 1
            state.outstanding += 1
            state.maximumOutstanding = max(state.maximumOutstanding, state.outstanding)
            if keepsHistory { state.history.append(request) }
            let behavior = state.behaviors[request.provider.nodeID] ?? state.defaultBehavior
            if case .hold = behavior {
                state.held.append(request)
                if !state.requestObservers.isEmpty, let next = Self.popHeld(&state) {
                    handOut = (state.requestObservers.removeFirst(), next)
                }
            }
            counted = state.countObservers.reached(state.sendCount)
            return (behavior, state.sink)
        }
        defer { state.withLock { $0.outstanding -= 1 } }
        if let (observer, next) = handOut { observer.resume(returning: next) }
        for continuation in counted { continuation.resume() }
        switch behavior {
        case .hold, .drop:
            return
        case .failSend(let message):
            throw InMemoryRPCTransportError(message: message, provider: request.provider)
        case .respond(let respond):
            let outcome = await respond(request)
            await sink?(RPCReply(callID: request.callID, outcome: outcome))
        }
    }

    private static func popHeld(_ state: inout State) -> RPCRequest? {
        guard state.heldHead < state.held.count else { return nil }
        let request = state.held[state.heldHead]
        state.heldHead += 1
        if state.heldHead == state.held.count {
            state.held.removeAll(keepingCapacity: true)
            state.heldHead = 0
        }
        return request
    }
}

/// The error a ``InMemoryRPCTransport/Behavior/failSend(_:)`` provider's send throws.
public struct InMemoryRPCTransportError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The configured message.
    public let message: String
    /// The provider the request was for.
    public let provider: ServiceProvider

    /// Creates the error.
    /// - Parameters:
    ///   - message: the configured message.
    ///   - provider: the provider the request was for.
    public init(message: String, provider: ServiceProvider) {
        self.message = message
        self.provider = provider
    }

    public var description: String { "in-memory send to \(provider) failed: \(message)" }
}
