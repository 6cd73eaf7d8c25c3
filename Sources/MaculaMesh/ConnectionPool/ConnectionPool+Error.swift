/// Why a ``ConnectionPool`` could not give a caller a connection.
///
/// Compare with the static members (`error == .timedOut`); equality looks at the kind of error
/// only, not at ``underlyingError``. The ``description`` says what to do about it.
public struct ConnectionPoolError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case shutdown
        case notRunning
        case alreadyRunning
        case limitReached
        case waitersLimitReached
        case timedOut
        case cancelled
        case connectFailed
        case nodeRemoved
    }

    private let code: Code

    /// The error the connection factory threw, for ``connectFailed``; nil for every other kind.
    public let underlyingError: (any Error)?

    private init(_ code: Code, underlyingError: (any Error)? = nil) {
        self.code = code
        self.underlyingError = underlyingError
    }

    /// The pool was shut down: ``ConnectionPool/shutdown()`` ran before or while the caller waited.
    public static let shutdown = ConnectionPoolError(.shutdown)

    /// The caller would have had to wait for a slot after a ``ConnectionPool/run()`` returned (and
    /// before one started again), or `run()` returned while it waited.
    public static let notRunning = ConnectionPoolError(.notRunning)

    /// ``ConnectionPool/run()`` was called while another call to it was still running.
    public static let alreadyRunning = ConnectionPoolError(.alreadyRunning)

    /// No free slot and ``ConnectionPoolConfiguration/maximumWaiters`` is 0, or the limit was
    /// lowered while the caller's connect was in flight and nothing could make room.
    public static let limitReached = ConnectionPoolError(.limitReached)

    /// Every slot was taken and the queue of waiting callers was full
    /// (``ConnectionPoolConfiguration/maximumWaiters``).
    public static let waitersLimitReached = ConnectionPoolError(.waitersLimitReached)

    /// No slot freed within ``ConnectionPoolConfiguration/waitTimeout``.
    public static let timedOut = ConnectionPoolError(.timedOut)

    /// The caller's task was cancelled while it waited; its connect goes on for the others.
    public static let cancelled = ConnectionPoolError(.cancelled)

    /// The factory threw ``underlyingError``; every caller of that connect gets it.
    public static let connectFailed = ConnectionPoolError(.connectFailed)

    /// ``ConnectionPool/remove(_:)`` removed the node while the caller waited for its connect.
    public static let nodeRemoved = ConnectionPoolError(.nodeRemoved)

    /// A ``connectFailed`` error carrying the factory's error.
    @usableFromInline
    static func connectFailed(_ error: any Error) -> ConnectionPoolError {
        ConnectionPoolError(.connectFailed, underlyingError: error)
    }

    public static func == (lhs: ConnectionPoolError, rhs: ConnectionPoolError) -> Bool {
        lhs.code == rhs.code
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
    }

    public var description: String {
        switch code {
        case .shutdown:
            "the connection pool is shut down; create a new pool if you need connections again"
        case .notRunning:
            "the connection pool is full and the caller would have to wait for a slot, but the pool's run() "
                + "has returned; keep it running (for example in a task group or a ServiceGroup) for as long "
                + "as the pool is in use, or set maximumWaiters to 0 to fail at once instead of waiting"
        case .alreadyRunning:
            "the connection pool's run() is already running; call it once, from one task"
        case .limitReached:
            "the connection pool is at its limit and does not queue callers (maximumWaiters is 0), or "
                + "its limit was lowered below the connections in use; raise maximumConnections or retry later"
        case .waitersLimitReached:
            "the connection pool is full and its queue of waiting callers is full too; raise "
                + "maximumWaiters or maximumConnections, or shed load"
        case .timedOut:
            "waited waitTimeout for a free slot in the connection pool without getting one; raise "
                + "maximumConnections or waitTimeout, or hold leases (withConnection) for less time"
        case .cancelled:
            "the caller's task was cancelled while it waited for a connection"
        case .connectFailed:
            if let underlyingError {
                "the connection factory failed: \(underlyingError)"
            } else {
                "the connection factory failed"
            }
        case .nodeRemoved:
            "the node was removed from the connection pool while the connect to it was in flight"
        }
    }
}
