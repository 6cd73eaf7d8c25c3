/// A connection that a ``ConnectionPool`` can hold: the embedder's type (a QUIC stream, a TCP
/// channel, an HTTP/2 connection to another mesh node).
///
/// The pool asks two things of it: whether it is still usable, and to close it. It never closes a
/// connection twice, and it closes every connection it lets go of, whatever the reason (evicted,
/// removed, found dead, shed under memory pressure, shut down).
public protocol PooledConnection: Sendable {
    /// Whether the connection can still carry traffic.
    ///
    /// The pool reads this on every hit and in ``ConnectionPool/prune()``; a connection that answers
    /// `false` is closed, removed and, on a hit, replaced by a new one.
    ///
    /// - Important: It must be cheap and must not block: the pool reads it inside its actor, on its
    ///   hot path. Read a flag your connection keeps up to date (for example `channel.isActive`);
    ///   do not probe the network here.
    var isAlive: Bool { get }

    /// Closes the connection and releases what it holds.
    ///
    /// The pool calls it exactly once per connection, after the connection has left the pool's
    /// state, and awaits it before it resumes the callers of the step that removed it (several
    /// closes from one step run concurrently).
    ///
    /// - Important: It is `nonisolated(nonsending)`: it starts on the pool's executor and runs
    ///   there until it first suspends, so keep its synchronous part short. It cannot fail: log
    ///   what goes wrong, the pool could not act on it.
    /// - Note: Declare your implementation `nonisolated(nonsending) func close() async` as well.
    ///   Unless your module enables the `NonisolatedNonsendingByDefault` upcoming feature, a
    ///   plain `func close() async` is `@concurrent`: every close then leaves the pool's executor
    ///   and comes back, even one that never suspends.
    nonisolated(nonsending) func close() async
}
