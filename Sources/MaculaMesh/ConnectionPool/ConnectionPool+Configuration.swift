/// The settings of a ``ConnectionPool``, with the seed's defaults.
public struct ConnectionPoolConfiguration: Sendable, Hashable {
    /// The most connections the pool holds, the base limit (the seed's `max_connections`, 1,000).
    /// At least 1, at most 2,147,483,647.
    public var maximumConnections: Int

    /// How many callers may wait at once for a free slot (1,000); beyond it
    /// ``ConnectionPoolError/waitersLimitReached``. 0: nobody waits (``ConnectionPoolError/limitReached``
    /// at once), and the pool needs no ``ConnectionPool/run()``. At least 0.
    public var maximumWaiters: Int

    /// How long a caller waits for a free slot, from its arrival, before
    /// ``ConnectionPoolError/timedOut`` (5 seconds); not a connect timeout.
    /// In (0, ``ConfigurationError/maximumDuration``].
    public var waitTimeout: Duration

    /// The name in metrics and logs (`gateway_mesh`), one per pool. Not empty, at most
    /// ``ConfigurationError/maximumNameLength`` UTF-8 bytes.
    public var componentName: String

    /// Creates a configuration; every parameter defaults to the seed's value.
    public init(
        maximumConnections: Int = 1_000,
        maximumWaiters: Int = 1_000,
        waitTimeout: Duration = .seconds(5),
        componentName: String = "gateway_mesh"
    ) {
        self.maximumConnections = maximumConnections
        self.maximumWaiters = maximumWaiters
        self.waitTimeout = waitTimeout
        self.componentName = componentName
    }

    /// - Throws: ``ConfigurationError`` naming the first field that breaks its rule above.
    public func validate() throws(ConfigurationError) {
        try validateConnectionPoolLimit(maximumConnections)
        try ConfigurationError.require(maximumWaiters, atLeast: 0, field: "maximumWaiters")
        try ConfigurationError.requireDuration(waitTimeout, field: "waitTimeout")
        try ConfigurationError.requireName(componentName)
    }
}

/// The connection limit is at least 1 and fits the core's 32-bit slot indices.
func validateConnectionPoolLimit(_ value: Int) throws(ConfigurationError) {
    try ConfigurationError.require(value, atLeast: 1, field: "maximumConnections")
    guard value <= Int(Int32.max) else {
        throw ConfigurationError(field: "maximumConnections", rule: "must be at most \(Int32.max)", value: "\(value)")
    }
}
