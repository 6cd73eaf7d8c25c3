/// One advertisement as it is published to the mesh: which service, which provider, for how long.
public struct ServiceAdvertisement: Hashable, Sendable, CustomStringConvertible {
    /// The service name.
    public var service: String
    /// This node, as it should be reached for ``service``.
    public var provider: ServiceProvider
    /// How long the advertisement lives unless published again; the publisher should give the
    /// remote copy the same TTL.
    public var ttl: Duration

    /// Creates an advertisement.
    public init(service: String, provider: ServiceProvider, ttl: Duration) {
        self.service = service
        self.provider = provider
        self.ttl = ttl
    }

    /// `service by provider for ttl`, for logs.
    public var description: String { "\(service) by \(provider) for \(ttl)" }
}

/// Publishes this node's advertisements to the mesh, supplied by the embedder.
///
/// - Important: ``publish(_:)`` should honor task cancellation: the manager cancels an attempt on
///   timeout, on a superseding `advertise` and when `run()` ends, and starts no second attempt for
///   the service while one that ignores cancellation still runs.
public protocol ServicePublisher: Sendable {
    /// Publishes `advertisement`, replacing this node's earlier publication of the same service.
    /// - Throws: any error; the manager logs it and retries with back-off.
    func publish(_ advertisement: ServiceAdvertisement) async throws
}
