/// The settings of an ``AdvertisementManager``.
public struct AdvertisementManagerConfiguration: Sendable, Hashable {
    /// How often `run()` prunes the registry (60 s). In (0, ``ConfigurationError/maximumDuration``].
    public var cleanupInterval: Duration
    /// The TTL when `advertise` gets none (300 s). Longer than `reAdvertiseInterval`, at most
    /// ``ConfigurationError/maximumDuration``.
    public var advertisementTTL: Duration
    /// How long after each advertisement the manager refreshes the local TTL and publishes again
    /// (150 s, half the TTL, so a failed publish can be retried before the remote copy expires).
    /// Shorter than every advertisement's TTL; greater than zero.
    public var reAdvertiseInterval: Duration
    /// How long one publish may take before it is cancelled and retried (30 s).
    /// In (0, ``ConfigurationError/maximumDuration``].
    public var publishTimeout: Duration
    /// The delay before retrying a failed publish (5 s), doubling per consecutive failure up to
    /// `reAdvertiseInterval`. In (0, ``ConfigurationError/maximumDuration``].
    public var publishRetryDelay: Duration
    /// The most advertisements the manager keeps alive (1,000). At least 1.
    public var maximumAdvertisements: Int
    /// The name in metrics and logs (`advertisement_manager`). Not empty, at most
    /// ``ConfigurationError/maximumNameLength`` UTF-8 bytes.
    public var componentName: String

    /// Creates a configuration; every parameter defaults to the value documented on its property.
    public init(
        cleanupInterval: Duration = .seconds(60),
        advertisementTTL: Duration = .seconds(300),
        reAdvertiseInterval: Duration = .seconds(150),
        publishTimeout: Duration = .seconds(30),
        publishRetryDelay: Duration = .seconds(5),
        maximumAdvertisements: Int = 1_000,
        componentName: String = "advertisement_manager"
    ) {
        self.cleanupInterval = cleanupInterval
        self.advertisementTTL = advertisementTTL
        self.reAdvertiseInterval = reAdvertiseInterval
        self.publishTimeout = publishTimeout
        self.publishRetryDelay = publishRetryDelay
        self.maximumAdvertisements = maximumAdvertisements
        self.componentName = componentName
    }

    /// - Throws: ``ConfigurationError`` naming the first field that breaks its rule.
    public func validate() throws(ConfigurationError) {
        try ConfigurationError.requireDuration(cleanupInterval, field: "cleanupInterval")
        try ConfigurationError.requireDuration(advertisementTTL, field: "advertisementTTL")
        try ConfigurationError.requireDuration(reAdvertiseInterval, field: "reAdvertiseInterval")
        guard reAdvertiseInterval < advertisementTTL else {
            throw ConfigurationError(
                field: "reAdvertiseInterval",
                rule: "must be shorter than advertisementTTL (\(advertisementTTL))",
                value: "\(reAdvertiseInterval)"
            )
        }
        try ConfigurationError.requireDuration(publishTimeout, field: "publishTimeout")
        try ConfigurationError.requireDuration(publishRetryDelay, field: "publishRetryDelay")
        try ConfigurationError.require(maximumAdvertisements, atLeast: 1, field: "maximumAdvertisements")
        try ConfigurationError.requireName(componentName)
    }
}
