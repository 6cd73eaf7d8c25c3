/// Identifies one pending call of an ``RPCHandler``: the handler chooses it, a transport carries
/// it in the request and gives it back in the reply. A slot plus a generation, so a late reply never
/// matches a newer call that reuses the slot.
public struct RPCCallID: Hashable, Sendable, CustomStringConvertible {
    /// The ID as one number, for the wire.
    public let rawValue: UInt64

    /// Recreates an ID from its wire form; one the handler did not issue matches no call.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    init(slot: Int, generation: UInt32) {
        rawValue = UInt64(generation) << 32 | UInt64(UInt32(truncatingIfNeeded: slot))
    }

    var slot: Int { Int(UInt32(truncatingIfNeeded: rawValue)) }
    var generation: UInt32 { UInt32(truncatingIfNeeded: rawValue >> 32) }

    public var description: String { "call-\(rawValue)" }
}

/// One attempt of a remote call, as the handler gives it to the ``RPCTransport``.
public struct RPCRequest: Sendable, Hashable {
    /// The call this attempt belongs to; the reply must carry it.
    public var callID: RPCCallID
    /// The procedure to run (also the service name the providers were looked up under).
    public var procedure: String
    /// The encoded arguments, passed through untouched.
    public var arguments: [UInt8]
    /// The provider this attempt goes to.
    public var provider: ServiceProvider
    /// 1 for the first attempt, 2 for the first failover, and so on.
    public var attempt: Int

    /// Creates a request.
    /// Creates a request.
    /// - Parameters:
    ///   - callID: the call the attempt belongs to.
    ///   - procedure: the procedure to run.
    ///   - arguments: the encoded arguments.
    ///   - provider: where the attempt goes.
    ///   - attempt: the attempt number, from 1.
    public init(callID: RPCCallID, procedure: String, arguments: [UInt8], provider: ServiceProvider, attempt: Int) {
        self.callID = callID
        self.procedure = procedure
        self.arguments = arguments
        self.provider = provider
        self.attempt = attempt
    }
}

/// A provider's answer to a request, handed to ``RPCHandler/handleReply(_:)``.
public struct RPCReply: Sendable, Hashable {
    /// What the provider answered.
    public enum Outcome: Sendable, Hashable {
        /// The procedure ran; its encoded result.
        case success([UInt8])
        /// The procedure ran and failed; the caller gets ``RPCError/procedureFailed``, with no failover.
        case failure(String)
    }

    /// The call the reply answers: the ``RPCRequest/callID`` of the request.
    public var callID: RPCCallID
    /// What the provider answered.
    public var outcome: Outcome

    /// Creates a reply.
    /// - Parameters:
    ///   - callID: the ``RPCRequest/callID`` of the request it answers.
    ///   - outcome: the result or the provider's failure.
    public init(callID: RPCCallID, outcome: Outcome) {
        self.callID = callID
        self.outcome = outcome
    }

    /// A successful reply carrying `result`.
    /// - Parameters:
    ///   - callID: the call it answers.
    ///   - result: the encoded result.
    /// - Returns: the reply.
    public static func success(_ callID: RPCCallID, _ result: [UInt8]) -> RPCReply {
        RPCReply(callID: callID, outcome: .success(result))
    }

    /// A reply saying the procedure failed with `message`.
    /// - Parameters:
    ///   - callID: the call it answers.
    ///   - message: the provider's message.
    /// - Returns: the reply.
    public static func failure(_ callID: RPCCallID, _ message: String) -> RPCReply {
        RPCReply(callID: callID, outcome: .failure(message))
    }
}

/// How an ``RPCHandler`` sends requests, supplied by the embedder. ``send(_:)`` runs in the
/// caller's own task; the reply does not come back from it: whoever receives the reply hands it to
/// ``RPCHandler/handleReply(_:)``.
///
/// - Important: the transport, and whatever receives its replies, must hold the handler weakly: a
///   strong reference back is a retain cycle that keeps the handler and its registry alive.
public protocol RPCTransport: Sendable {
    /// Hands `request` to the network for `request.provider` and returns without waiting for the
    /// reply. The handler cannot interrupt a `send` that hangs: the caller's failover waits for it.
    /// - Throws: any error when the request could not be sent; the handler then fails over at once.
    func send(_ request: RPCRequest) async throws

    /// Says that attempt `attempt` of `callID` will never be answered, so the transport can release
    /// what it holds for it (an HTTP/2 transport resets the stream). Called exactly once for every
    /// attempt handed to ``send(_:)`` whose reply the handler did not take: it timed out (failover
    /// or failure), the transport reported it failed (``RPCHandler/attemptFailed(_:attempt:)``),
    /// its `send` threw, its caller was cancelled, its call passed its overall deadline, or the
    /// handler's `run()` ended or it shut down; always after that attempt's `send` returned. Called
    /// on the handler's executor: it must not block (hop to the transport's own executor). The
    /// default does nothing.
    func abandon(_ callID: RPCCallID, attempt: Int)
}

extension RPCTransport {
    /// Does nothing: a transport that holds nothing per attempt needs no notice.
    public func abandon(_ callID: RPCCallID, attempt: Int) {}
}
