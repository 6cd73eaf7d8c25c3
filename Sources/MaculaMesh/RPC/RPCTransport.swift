/// Identifies one pending call of an ``RPCHandler``: the key a reply is matched by (the seed's
/// `call_id`).
///
/// The handler chooses the ID; a transport carries it in the request and gives it back in the
/// reply. It encodes a table slot and that slot's generation, so a reply to a call that has
/// already ended (a late reply) never matches a newer call that reuses the slot.
public struct RPCCallID: Hashable, Sendable, CustomStringConvertible {
    /// The ID as one number, for the wire.
    public let rawValue: UInt64

    /// Recreates an ID from its wire form. An ID the handler did not issue matches no call: a
    /// reply carrying it is discarded and counted as a late reply.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    init(slot: Int, generation: UInt32) {
        rawValue = UInt64(generation) << 32 | UInt64(UInt32(truncatingIfNeeded: slot))
    }

    /// The table slot (the low 32 bits).
    var slot: Int { Int(UInt32(truncatingIfNeeded: rawValue)) }
    /// The slot's generation (the high 32 bits).
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

/// A provider's answer to a request, handed to ``RPCHandler/handleReply(_:)`` (the seed's
/// `handle_incoming_reply`).
public struct RPCReply: Sendable, Hashable {
    /// What the provider answered.
    public enum Outcome: Sendable, Hashable {
        /// The procedure ran; its encoded result.
        case success([UInt8])
        /// The procedure ran and failed; the provider's message. The caller gets
        /// ``RPCError/procedureFailed``: the handler does not fail over, the provider did answer.
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

/// How an ``RPCHandler`` sends requests: supplied by the embedder (a QUIC stream, an HTTP/2
/// connection, …; ``InMemoryRPCTransport`` in MaculaTesting for tests and examples).
///
/// The handler calls ``send(_:)`` in the **caller's own task**: no task is created per call. The
/// reply does not come back from `send`: whoever receives it hands it to
/// ``RPCHandler/handleReply(_:)``, which matches it to its call by ``RPCReply/callID``.
///
/// - Important: the handler owns its transport; the transport, and whatever receives its replies,
///   must not own the handler. Hold it weakly (`{ [weak handler] reply in await
///   handler?.handleReply(reply) }`): a strong reference back is a retain cycle that keeps the
///   handler, its registry and every cached provider alive after the embedder lets them go.
public protocol RPCTransport: Sendable {
    /// Hands `request` to the network for `request.provider`.
    ///
    /// - Important: return as soon as the request is handed off; never wait for the reply. The
    ///   attempt's timeout runs meanwhile, but the handler cannot interrupt a `send` that hangs:
    ///   the caller's failover (and its own timeout) wait until `send` returns. `send` runs in
    ///   the caller's task, so a cancelled caller cancels it.
    /// - Parameter request: the attempt to send.
    /// - Throws: any error when the request could not be sent; the handler then excludes that
    ///   provider and fails over to the next one at once.
    func send(_ request: RPCRequest) async throws
}
