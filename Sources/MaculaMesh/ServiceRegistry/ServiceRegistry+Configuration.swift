/// The settings of a ``ServiceRegistry``: the two maps' maxima and default TTLs.
///
/// The registry keeps two separate bounded maps: this node's **local advertisements** (entries it
/// owns: never evicted; at the limit a new one is refused) and the **remote cache** of discovery
/// results (droppable: at the limit the entry closest to expiry is evicted).
public struct ServiceRegistryConfiguration: Sendable, Hashable {
    /// The most local advertisements the registry holds (services this node provides). Default
    /// 1,000. At least 1.
    public var maximumLocalServices: Int
    /// The most services whose remote providers are cached. Default 10,000. At least 1.
    public var maximumCachedServices: Int
    /// The most providers kept for one cached service; a longer discovery result is cut to this
    /// many, in the order given. Default 100. At least 1.
    public var maximumProvidersPerService: Int
    /// The TTL of a local advertisement when `advertise` gets none. Default 300 s (the seed's).
    /// In (0, ``ConfigurationError/maximumDuration``].
    public var localTTL: Duration
    /// The TTL of a cached discovery result when `cacheProviders` gets none. Default 60 s.
    /// In (0, ``ConfigurationError/maximumDuration``].
    public var cacheTTL: Duration
    /// The name the registry uses in metrics (`service_registry`). Not empty, at most
    /// ``ConfigurationError/maximumNameLength`` UTF-8 bytes.
    public var componentName: String

    /// Creates a configuration; every parameter defaults to the value documented on its property.
    public init(
        maximumLocalServices: Int = 1_000,
        maximumCachedServices: Int = 10_000,
        maximumProvidersPerService: Int = 100,
        localTTL: Duration = .seconds(300),
        cacheTTL: Duration = .seconds(60),
        componentName: String = "service_registry"
    ) {
        self.maximumLocalServices = maximumLocalServices
        self.maximumCachedServices = maximumCachedServices
        self.maximumProvidersPerService = maximumProvidersPerService
        self.localTTL = localTTL
        self.cacheTTL = cacheTTL
        self.componentName = componentName
    }

    /// Checks every rule above.
    /// - Throws: ``ConfigurationError`` naming the first field that breaks its rule.
    public func validate() throws(ConfigurationError) {
        try ConfigurationError.require(maximumLocalServices, atLeast: 1, field: "maximumLocalServices")
        try ConfigurationError.require(maximumCachedServices, atLeast: 1, field: "maximumCachedServices")
        try ConfigurationError.require(maximumProvidersPerService, atLeast: 1, field: "maximumProvidersPerService")
        try ConfigurationError.requireDuration(localTTL, field: "localTTL")
        try ConfigurationError.requireDuration(cacheTTL, field: "cacheTTL")
        try ConfigurationError.requireName(componentName)
    }

}
