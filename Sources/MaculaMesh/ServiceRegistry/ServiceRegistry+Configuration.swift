/// The settings of a ``ServiceRegistry``: the two maps' maxima and default TTLs.
///
/// The registry keeps two separate bounded maps: this node's **local advertisements** (entries it
/// owns: never evicted; at the limit a new one is refused) and the **remote cache** of discovery
/// results (droppable: at the limit the entry closest to expiry is evicted).
///
/// Also reachable as `ServiceRegistry<C>.Configuration`.
public struct ServiceRegistryConfiguration: Sendable, Hashable {
    /// The most local advertisements the registry holds (services this node provides). Default 1,000.
    public var maximumLocalServices: Int = 1_000
    /// The most services whose remote providers are cached. Default 10,000.
    public var maximumCachedServices: Int = 10_000
    /// The most providers kept for one cached service; a longer discovery result is cut to this
    /// many, in the order given. Default 100.
    public var maximumProvidersPerService: Int = 100
    /// The TTL of a local advertisement when `advertise` gets none. Default 300 s (the seed's).
    public var localTTL: Duration = .seconds(300)
    /// The TTL of a cached discovery result when `cacheProviders` gets none. Default 60 s.
    public var cacheTTL: Duration = .seconds(60)

    /// The longest TTL accepted anywhere: ten years. Longer values are refused, so that an
    /// instant plus a TTL can never overflow.
    public static let maximumTTL: Duration = .seconds(10 * 365 * 86_400)

    /// Creates the default configuration (1,000 local services, 10,000 cached services, 100
    /// providers per cached service, local TTL 300 s, cache TTL 60 s).
    public init() {}

    /// Checks every field.
    /// - Throws: ``ConfigurationError`` naming the first field that breaks its rule.
    public func validate() throws(ConfigurationError) {
        try ConfigurationError.require(maximumLocalServices, atLeast: 1, field: "maximumLocalServices")
        try ConfigurationError.require(maximumCachedServices, atLeast: 1, field: "maximumCachedServices")
        try ConfigurationError.require(maximumProvidersPerService, atLeast: 1, field: "maximumProvidersPerService")
        try Self.validateTTL(localTTL, field: "localTTL")
        try Self.validateTTL(cacheTTL, field: "cacheTTL")
    }

    /// Throws unless `0 < ttl <= maximumTTL`.
    package static func validateTTL(_ ttl: Duration, field: String) throws(ConfigurationError) {
        try ConfigurationError.requirePositive(ttl, field: field)
        guard ttl <= maximumTTL else {
            throw ConfigurationError(field: field, rule: "must be at most \(maximumTTL)", value: "\(ttl)")
        }
    }
}

extension ServiceRegistry {
    /// The registry's settings; see ``ServiceRegistryConfiguration``.
    public typealias Configuration = ServiceRegistryConfiguration
}
