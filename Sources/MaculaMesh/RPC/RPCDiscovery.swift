/// How an ``RPCHandler`` finds the providers of a service it has none cached for, supplied by the
/// embedder. At most one discovery per service runs at a time, as a child task of the handler's
/// `run()`, cancelled when no caller waits for it any more or `run()` ends.
///
/// - Important: the discovery must not own the handler (hold it weakly), nor itself: either is a
///   retain cycle that outlives the handler.
public protocol RPCDiscovery: Sendable {
    /// Finds the providers of `service`, in preference order. It must respond to cancellation
    /// promptly: `run()` cannot return before it does.
    /// - Returns: the providers found; empty makes the callers fail with ``RPCError/noProviders``.
    /// - Throws: any error; the callers waiting fail with ``RPCError/discoveryFailed``.
    func discover(_ service: String) async throws -> [ServiceProvider]
}
