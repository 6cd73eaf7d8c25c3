/// The settings of a ``ServiceRegistry``: the two maps' maxima and default TTLs.
public struct ServiceRegistryConfiguration: Sendable, Hashable {
    /// The most local advertisements. Default 1,000. At least 1.
    public var maximumLocalServices: Int
    /// The most services whose remote providers are cached. Default 10,000. At least 1.
    public var maximumCachedServices: Int
    /// The most providers kept per cached service (the first ones). Default 100. At least 1.
    public var maximumProvidersPerService: Int
    /// The default TTL of a local advertisement: 300 s. In (0, `maximumDuration`].
    public var localTTL: Duration
    /// The default TTL of a cached discovery result: 60 s. In (0, `maximumDuration`].
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

    /// Checks every rule above. - Throws: ``ConfigurationError`` naming the first field that breaks its rule.
    public func validate() throws(ConfigurationError) {
        try ConfigurationError.require(maximumLocalServices, atLeast: 1, field: "maximumLocalServices")
        try ConfigurationError.require(maximumCachedServices, atLeast: 1, field: "maximumCachedServices")
        try ConfigurationError.require(maximumProvidersPerService, atLeast: 1, field: "maximumProvidersPerService")
        try ConfigurationError.requireDuration(localTTL, field: "localTTL")
        try ConfigurationError.requireDuration(cacheTTL, field: "cacheTTL")
        try ConfigurationError.requireName(componentName)
    }

}
