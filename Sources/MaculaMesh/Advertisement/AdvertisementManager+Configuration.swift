/// The settings of an ``AdvertisementManager``: how often it cleans up, how long advertisements
/// live, how often and how patiently it re-publishes them.
///
/// Also reachable as `AdvertisementManager<C>.Configuration`.
public struct AdvertisementManagerConfiguration: Sendable, Hashable {
    /// How often `run()` prunes the registry's expired entries. Default 60 s (the seed's).
    public var cleanupInterval: Duration = .seconds(60)
    /// The TTL of an advertisement when `advertise` gets none. Default 300 s (the seed's).
    public var advertisementTTL: Duration = .seconds(300)
    /// How long after each (re-)advertisement the manager refreshes the local TTL and publishes
    /// again. Must be shorter than every advertisement's TTL. Default 150 s: half the TTL, so one
    /// failed publish can be retried before the remote copy expires.
    public var reAdvertiseInterval: Duration = .seconds(150)
    /// How long one publish may take before it is cancelled and retried. Default 30 s.
    public var publishTimeout: Duration = .seconds(30)
    /// The delay before retrying a failed publish; it doubles with each consecutive failure, up to
    /// `reAdvertiseInterval`. Default 5 s.
    public var publishRetryDelay: Duration = .seconds(5)
    /// The most advertisements the manager keeps alive. Default 1,000 (the registry's default
    /// `maximumLocalServices`).
    public var maximumAdvertisements: Int = 1_000

    /// Creates the default configuration.
    public init() {}

    /// Checks every field.
    /// - Throws: ``ConfigurationError`` naming the first field that breaks its rule: intervals and
    ///   timeouts must be greater than zero, `advertisementTTL` at most ten years and longer than
    ///   `reAdvertiseInterval`, `maximumAdvertisements` at least 1.
    public func validate() throws(ConfigurationError) {
        try ConfigurationError.requirePositive(cleanupInterval, field: "cleanupInterval")
        try ServiceRegistryConfiguration.validateTTL(advertisementTTL, field: "advertisementTTL")
        try ConfigurationError.requirePositive(reAdvertiseInterval, field: "reAdvertiseInterval")
        guard reAdvertiseInterval < advertisementTTL else {
            throw ConfigurationError(
                field: "reAdvertiseInterval",
                rule: "must be shorter than advertisementTTL (\(advertisementTTL))",
                value: "\(reAdvertiseInterval)"
            )
        }
        try ConfigurationError.requirePositive(publishTimeout, field: "publishTimeout")
        try ConfigurationError.requirePositive(publishRetryDelay, field: "publishRetryDelay")
        try ConfigurationError.require(maximumAdvertisements, atLeast: 1, field: "maximumAdvertisements")
    }
}

extension AdvertisementManager {
    /// The manager's settings; see ``AdvertisementManagerConfiguration``.
    public typealias Configuration = AdvertisementManagerConfiguration
}
