/// Why an ``RPCHandler`` call (or `run()`, or `register`) failed. Compare with the static members:
/// two errors are equal when they have the same code; ``procedure``, ``providersTried`` and
/// ``description`` carry the context.
public struct RPCError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: UInt8, Hashable, Sendable {
        case notRunning
        case alreadyRunning
        case shutdown
        case cancelled
        case tooManyPendingCalls
        case noProviders
        case discoveryTimedOut
        case discoveryFailed
        case attemptsExhausted
        case deadlineExceeded
        case procedureFailed
        case invalidOptions
        case localLimitReached
    }

    /// Allocated only when there is some context, so an error stays 16 bytes in suspended frames.
    private final class Context: Sendable {
        let procedure: String?
        let providersTried: Int?
        let detail: String?

        init(procedure: String?, providersTried: Int?, detail: String?) {
            self.procedure = procedure
            self.providersTried = providersTried
            self.detail = detail
        }
    }

    private let code: Code
    private let context: Context?

    private init(copying other: RPCError, procedure: String) {
        self.init(other.code, procedure: procedure, providersTried: other.providersTried, detail: other.detail)
    }

    /// The procedure of the failed call, when known.
    public var procedure: String? { context?.procedure }
    /// How many providers the call tried (``attemptsExhausted`` and ``deadlineExceeded``); else nil.
    public var providersTried: Int? { context?.providersTried }
    /// The provider's or the discovery's message, the limit, or the invalid field.
    public var detail: String? { context?.detail }

    private init(_ code: Code, procedure: String? = nil, providersTried: Int? = nil, detail: String? = nil) {
        self.code = code
        if procedure == nil && providersTried == nil && detail == nil {
            context = nil
        } else {
            context = Context(procedure: procedure, providersTried: providersTried, detail: detail)
        }
    }

    /// A remote call needs the handler's `run()`, and a `run()` has returned (and none started
    /// again), or it returned while the call was pending.
    public static let notRunning = RPCError(.notRunning)
    /// `run()` was called while another `run()` of the same handler is running.
    public static let alreadyRunning = RPCError(.alreadyRunning)
    /// The handler was shut down.
    public static let shutdown = RPCError(.shutdown)
    /// The caller's task was cancelled; its call left nothing behind.
    public static let cancelled = RPCError(.cancelled)
    /// The handler holds its effective limit of pending entries (calls plus discoveries).
    public static let tooManyPendingCalls = RPCError(.tooManyPendingCalls)
    /// Discovery found no provider, or an empty result is cached.
    public static let noProviders = RPCError(.noProviders)
    /// The caller's discovery deadline passed before the discovery answered.
    public static let discoveryTimedOut = RPCError(.discoveryTimedOut)
    /// The discovery of the service failed; ``detail`` has its message.
    public static let discoveryFailed = RPCError(.discoveryFailed)
    /// Every attempt timed out or failed to send; ``providersTried`` says on how many providers.
    public static let attemptsExhausted = RPCError(.attemptsExhausted)
    /// The call's overall deadline passed; ``providersTried`` says how many providers it had tried.
    public static let deadlineExceeded = RPCError(.deadlineExceeded)
    /// The procedure ran and failed (a provider's failure reply, or a local handler threw);
    /// ``detail`` has the message.
    public static let procedureFailed = RPCError(.procedureFailed)
    /// A field of the call's ``RPCCallOptions`` is out of range; ``detail`` names it.
    public static let invalidOptions = RPCError(.invalidOptions)
    /// `register` was refused at `maximumLocalProcedures` local handlers.
    public static let localLimitReached = RPCError(.localLimitReached)

    static func notRunning(_ procedure: String) -> Self { Self(.notRunning, procedure: procedure) }
    static func shutdown(_ procedure: String) -> Self { Self(.shutdown, procedure: procedure) }
    static func cancelled(_ procedure: String) -> Self { Self(.cancelled, procedure: procedure) }
    static func tooManyPendingCalls(_ procedure: String, limit: Int) -> Self {
        Self(.tooManyPendingCalls, procedure: procedure, detail: "\(limit)")
    }
    static func noProviders(_ procedure: String) -> Self { Self(.noProviders, procedure: procedure) }
    static func discoveryTimedOut(_ procedure: String) -> Self { Self(.discoveryTimedOut, procedure: procedure) }
    static func discoveryFailed(_ procedure: String, message: String) -> Self {
        Self(.discoveryFailed, procedure: procedure, detail: message)
    }
    static func attemptsExhausted(_ procedure: String, tried: Int) -> Self {
        Self(.attemptsExhausted, procedure: procedure, providersTried: tried)
    }
    static func deadlineExceeded(_ procedure: String, tried: Int) -> Self {
        Self(.deadlineExceeded, procedure: procedure, providersTried: tried)
    }
    static func procedureFailed(_ procedure: String, message: String) -> Self {
        Self(.procedureFailed, procedure: procedure, detail: message)
    }
    static func invalidOptions(_ procedure: String, _ detail: String) -> Self {
        Self(.invalidOptions, procedure: procedure, detail: detail)
    }
    static func localLimitReached(_ procedure: String, limit: Int) -> Self {
        Self(.localLimitReached, procedure: procedure, detail: "\(limit)")
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String {
        let name = procedure.map { "call to '\($0)'" } ?? "call"
        let tried = providersTried.map { $0 == 1 ? "1 provider" : "\($0) providers" } ?? "its providers"
        switch code {
        case .notRunning:
            return "\(name) failed: the RPC handler's run() has returned, so no deadline can be kept; "
                + "keep run() running (for example in a ServiceGroup) for as long as the handler is in use"
        case .alreadyRunning:
            return "the RPC handler's run() is already running; call it from one task only"
        case .shutdown:
            return "\(name) failed: the RPC handler was shut down"
        case .cancelled:
            return "\(name) was cancelled: the caller's task was cancelled"
        case .tooManyPendingCalls:
            let limit = detail.map { " (\($0))" } ?? ""
            return "\(name) refused: the RPC handler is at its pending-call limit\(limit); "
                + "retry later, or raise maximumPendingCalls (memory pressure lowers it)"
        case .noProviders:
            return "\(name) failed: no provider offers it (discovery found none)"
        case .discoveryTimedOut:
            return "\(name) failed: discovering its providers took longer than the discovery timeout"
        case .discoveryFailed:
            return "\(name) failed: discovering its providers failed: \(detail ?? "unknown error")"
        case .attemptsExhausted:
            return "\(name) failed: tried \(tried), every attempt timed out or could not be sent"
        case .deadlineExceeded:
            return "\(name) failed: its overall deadline passed after trying \(tried)"
        case .procedureFailed:
            return "\(name) failed remotely: \(detail ?? "no message")"
        case .invalidOptions:
            return "\(name) refused: invalid call options: \(detail ?? "")"
        case .localLimitReached:
            let limit = detail.map { " (\($0))" } ?? ""
            return "cannot register \(procedure.map { "'\($0)'" } ?? "a procedure"): the local handler limit\(limit) "
                + "is reached; unregister one or raise maximumLocalProcedures"
        }
    }
}

extension RPCError {
    /// The same error, naming `procedure`.
    func attributed(to procedure: String) -> RPCError {
        RPCError(copying: self, procedure: procedure)
    }
}
