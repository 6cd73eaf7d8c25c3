/// How an ``RPCHandler`` finds the providers of a service it has no cached providers for:
/// supplied by the embedder (a DHT query in the Macula mesh; ``InMemoryRPCDiscovery`` in
/// MaculaTesting).
///
/// At most one discovery per service runs at a time, shared by every caller that needs it. It
/// runs as a child task of the handler's `run()`, and is cancelled when no caller waits for it
/// any more (each caller waits only until its own discovery deadline) or when `run()` ends.
///
/// - Important: the handler owns its discovery; the discovery must not own the handler (hold it
///   weakly if it needs it), nor keep a strong reference to itself in its own state: either is a
///   retain cycle that outlives the handler.
public protocol RPCDiscovery: Sendable {
    /// Finds the providers of `service`, in preference order.
    ///
    /// - Important: respond to cancellation promptly: `run()` cannot return while a discovery
    ///   ignores it.
    /// - Parameter service: the service (the procedure name).
    /// - Returns: the providers found; empty when there are none (callers then fail with
    ///   ``RPCError/noProviders`` and nothing is cached).
    /// - Throws: any error when the discovery failed; the callers waiting for it fail with
    ///   ``RPCError/discoveryFailed``.
    func discover(_ service: String) async throws -> [ServiceProvider]
}
