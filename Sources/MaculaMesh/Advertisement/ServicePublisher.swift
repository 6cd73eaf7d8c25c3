/// One advertisement as it is published to the mesh: which service, which provider, for how long.
public struct ServiceAdvertisement: Hashable, Sendable, CustomStringConvertible {
    /// The service name.
    public var service: String
    /// This node, as it should be reached for ``service``.
    public var provider: ServiceProvider
    /// How long the advertisement lives unless it is published again; the publisher should give
    /// the remote copy (a DHT record) the same TTL, so that it expires on its own once this node
    /// stops re-advertising.
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

/// Publishes this node's advertisements to the mesh (the DHT in the original Macula). The
/// embedder supplies one to ``AdvertisementManager``; `MaculaTesting` has an in-memory
/// `RecordingServicePublisher` for tests.
///
/// - Important: ``publish(_:)`` should honor task cancellation: the manager cancels an attempt
///   that outlives `publishTimeout`, that an `advertise` with a new provider supersedes, or that
///   is still running when `run()` ends. An attempt that ignores cancellation keeps its task
///   alive until it returns; the manager never starts a second attempt for the same service in
///   the meantime, so at most one task per advertised service can be held up this way.
public protocol ServicePublisher: Sendable {
    /// Publishes `advertisement`, replacing any earlier publication of the same service by this
    /// node.
    /// - Throws: any error; the manager logs it and retries with exponential back-off (see
    ///   ``AdvertisementManagerConfiguration/publishRetryDelay``).
    func publish(_ advertisement: ServiceAdvertisement) async throws
}
