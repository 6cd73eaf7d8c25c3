/// A connection a ``ConnectionPool`` holds (a QUIC stream, a TCP channel, …); the pool closes
/// every connection it lets go of exactly once.
public protocol PooledConnection: Sendable {
    /// Whether the connection can still carry traffic; read on every hit and by
    /// ``ConnectionPool/prune()``. A dead connection is closed, removed and, on a hit, replaced.
    /// - Important: Read on the pool's hot path: cheap, never blocking (read a flag such as
    ///   `channel.isActive`, never probe the network).
    var isAlive: Bool { get }

    /// Closes the connection. Called exactly once, after the connection left the pool's state
    /// (evicted, found dead, removed, shut down); the pool awaits it before it resumes the callers
    /// of the step that removed it.
    ///
    /// An evicted connection is healthy and, unless every user holds a
    /// ``ConnectionPool/withConnection(to:isolation:_:)`` lease, may still carry requests whose
    /// replies are on their way. A connection that multiplexes requests (HTTP/2, QUIC) should drain
    /// rather than cut them: take no new request, close once those in flight end, and at a deadline
    /// of its own at the latest. Start that here and return.
    ///
    /// - Important: It starts on the pool's executor: keep its synchronous part short; it cannot
    ///   fail. Declare it `nonisolated(nonsending)` too, or every close hops off the executor.
    nonisolated(nonsending) func close() async
}
