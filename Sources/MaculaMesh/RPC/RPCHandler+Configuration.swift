/// How an ``RPCHandler`` picks the provider for each attempt among those the call has not tried.
public enum RPCProviderStrategy: Sendable, Hashable {
    /// A uniformly random untried provider; seeded from ``RPCHandlerConfiguration/randomSeed`` when set.
    case random
    /// The providers in turn, from a counter per service that every attempt advances.
    case roundRobin
    /// The first untried provider, in the registry's order (this node's own advertisement first).
    case first
}

/// The settings of an ``RPCHandler``; ``RPCCallOptions`` overrides the per-call ones.
public struct RPCHandlerConfiguration: Sendable, Hashable {
    /// How long one attempt waits for its reply before the next provider is tried (5 s).
    /// In (0, ``ConfigurationError/maximumDuration``].
    public var callTimeout: Duration
    /// The longest a call may take, discovery included; nil (the default) for no overall deadline.
    /// In (0, ``ConfigurationError/maximumDuration``] when set.
    public var overallTimeout: Duration?
    /// How long a caller waits for a discovery, which uses up no attempt; nil (the default) means
    /// the attempt timeout. In (0, ``ConfigurationError/maximumDuration``] when set.
    public var discoveryTimeout: Duration?
    /// The most attempts a call makes, each on a different provider (3). At least 1.
    public var maximumAttempts: Int
    /// How each attempt picks its provider (``RPCProviderStrategy/random``).
    public var providerStrategy: RPCProviderStrategy
    /// The seed of ``RPCProviderStrategy/random``; nil (the default) seeds from the system.
    public var randomSeed: UInt64?
    /// The most pending calls plus the discoveries they wait for (10,000): the memory contract's
    /// base limit. Beyond it a call fails with ``RPCError/tooManyPendingCalls``. At least 1.
    public var maximumPendingCalls: Int
    /// The most local handlers ``RPCHandler/register(_:handler:)`` keeps (1,000). At least 1.
    public var maximumLocalProcedures: Int
    /// The name in metrics and logs (`rpc_handler`). Not empty, at most
    /// ``ConfigurationError/maximumNameLength`` UTF-8 bytes.
    public var componentName: String

    /// Creates a configuration; every parameter defaults to the value documented on its property.
    public init(
        callTimeout: Duration = .seconds(5),
        overallTimeout: Duration? = nil,
        discoveryTimeout: Duration? = nil,
        maximumAttempts: Int = 3,
        providerStrategy: RPCProviderStrategy = .random,
        randomSeed: UInt64? = nil,
        maximumPendingCalls: Int = 10_000,
        maximumLocalProcedures: Int = 1_000,
        componentName: String = "rpc_handler"
    ) {
        self.callTimeout = callTimeout
        self.overallTimeout = overallTimeout
        self.discoveryTimeout = discoveryTimeout
        self.maximumAttempts = maximumAttempts
        self.providerStrategy = providerStrategy
        self.randomSeed = randomSeed
        self.maximumPendingCalls = maximumPendingCalls
        self.maximumLocalProcedures = maximumLocalProcedures
        self.componentName = componentName
    }

    /// - Throws: ``ConfigurationError`` naming the first field that breaks its rule.
    public func validate() throws(ConfigurationError) {
        try ConfigurationError.requireDuration(callTimeout, field: "callTimeout")
        if let overallTimeout { try ConfigurationError.requireDuration(overallTimeout, field: "overallTimeout") }
        if let discoveryTimeout { try ConfigurationError.requireDuration(discoveryTimeout, field: "discoveryTimeout") }
        try ConfigurationError.require(maximumAttempts, atLeast: 1, field: "maximumAttempts")
        try ConfigurationError.require(maximumPendingCalls, atLeast: 1, field: "maximumPendingCalls")
        try ConfigurationError.require(maximumLocalProcedures, atLeast: 1, field: "maximumLocalProcedures")
        try ConfigurationError.requireName(componentName)
    }
}

/// Per-call overrides of the ``RPCHandlerConfiguration``: nil fields take the handler's.
public struct RPCCallOptions: Sendable, Hashable {
    /// The timeout of each attempt.
    public var timeout: Duration?
    /// The deadline of the whole call, from its start.
    public var overallTimeout: Duration?
    /// How long this caller waits for a discovery.
    public var discoveryTimeout: Duration?
    /// The most attempts; never more than the providers.
    public var maximumAttempts: Int?
    /// How attempts pick providers.
    public var strategy: RPCProviderStrategy?

    /// Creates options; every field defaults to nil.
    /// - Parameters:
    ///   - timeout: the timeout of each attempt.
    ///   - overallTimeout: the deadline of the whole call, from its start.
    ///   - discoveryTimeout: how long to wait for a discovery.
    ///   - maximumAttempts: the most attempts.
    ///   - strategy: how attempts pick providers.
    public init(
        timeout: Duration? = nil,
        overallTimeout: Duration? = nil,
        discoveryTimeout: Duration? = nil,
        maximumAttempts: Int? = nil,
        strategy: RPCProviderStrategy? = nil
    ) {
        self.timeout = timeout
        self.overallTimeout = overallTimeout
        self.discoveryTimeout = discoveryTimeout
        self.maximumAttempts = maximumAttempts
        self.strategy = strategy
    }
}

package struct ResolvedCallOptions: Sendable {
    var timeout: Duration
    var overallTimeout: Duration?
    var discoveryTimeout: Duration
    var maximumAttempts: Int
    var strategy: RPCProviderStrategy

    /// - Throws: ``ConfigurationError`` naming the first invalid field.
    package init(_ options: RPCCallOptions, configuration: RPCHandlerConfiguration) throws(ConfigurationError) {
        timeout = options.timeout ?? configuration.callTimeout
        overallTimeout = options.overallTimeout ?? configuration.overallTimeout
        discoveryTimeout = options.discoveryTimeout ?? configuration.discoveryTimeout ?? timeout
        maximumAttempts = options.maximumAttempts ?? configuration.maximumAttempts
        strategy = options.strategy ?? configuration.providerStrategy
        try ConfigurationError.requireDuration(timeout, field: "timeout")
        if let overallTimeout { try ConfigurationError.requireDuration(overallTimeout, field: "overallTimeout") }
        try ConfigurationError.requireDuration(discoveryTimeout, field: "discoveryTimeout")
        try ConfigurationError.require(maximumAttempts, atLeast: 1, field: "maximumAttempts")
    }
}
