/// How an ``RPCHandler`` picks the provider for each attempt among those not yet tried by the call.
public enum RPCProviderStrategy: Sendable, Hashable {
    /// A uniformly random untried provider. The generator is seeded from
    /// ``RPCHandlerConfiguration/randomSeed`` when it is set, so tests replay exactly.
    case random
    /// The providers in turn: a counter per service advances on every attempt, and the attempt
    /// takes the first untried provider from there.
    case roundRobin
    /// The first untried provider, in the order the registry returns them (this node's own
    /// advertisement first, then the discovered providers in their preference order).
    case first
}

/// The settings of an ``RPCHandler``; each per-call field can be overridden by
/// ``RPCCallOptions``.
public struct RPCHandlerConfiguration: Sendable, Hashable {
    /// How long one attempt waits for its reply before the provider is excluded and the next one
    /// is tried. Default 5 s (the seed's call timeout). In (0, ``ConfigurationError/maximumDuration``].
    public var callTimeout: Duration
    /// The longest a call may take over all of its attempts and its discovery; nil (the default)
    /// for no overall deadline. In (0, ``ConfigurationError/maximumDuration``] when set.
    public var overallTimeout: Duration?
    /// How long a caller waits for the discovery of a service with no cached providers; nil (the
    /// default) means ``callTimeout`` (the call's own attempt timeout when it overrides it).
    /// Waiting for discovery does not use up an attempt. In (0, ``ConfigurationError/maximumDuration``] when set.
    public var discoveryTimeout: Duration?
    /// The most attempts a call makes, each on a different provider; the smaller of this and the
    /// number of providers. Default 3. At least 1.
    public var maximumAttempts: Int
    /// How each attempt picks its provider. Default ``RPCProviderStrategy/random``.
    public var providerStrategy: RPCProviderStrategy
    /// The seed of the generator behind ``RPCProviderStrategy/random``; nil (the default) seeds it
    /// from the system generator.
    public var randomSeed: UInt64?
    /// The most pending entries: calls waiting for a discovery, a send or a reply, plus the
    /// discoveries they wait for (one per service). Beyond it a call fails at once with
    /// ``RPCError/tooManyPendingCalls``. Default 10,000. This is the memory contract's base limit.
    /// At least 1.
    public var maximumPendingCalls: Int
    /// The most local handlers ``RPCHandler/register(_:handler:)`` keeps. Default 1,000. At least 1.
    public var maximumLocalProcedures: Int
    /// The name the handler uses in metrics and logs (`rpc_handler`). Not empty, at most
    /// ``ConfigurationError/maximumNameLength`` UTF-8 bytes.
    public var componentName: String

    /// Creates a configuration; every parameter defaults to the value documented on its property
    /// (5 s per attempt, no overall deadline, discovery timeout equal to the call timeout, at most
    /// 3 attempts, random providers, 10,000 pending calls, 1,000 local procedures).
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

    /// Checks every rule above.
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
    /// The timeout of each attempt (the configuration's ``RPCHandlerConfiguration/callTimeout``
    /// when nil).
    public var timeout: Duration?
    /// The deadline of the whole call, from its start (the configuration's
    /// ``RPCHandlerConfiguration/overallTimeout`` when nil).
    public var overallTimeout: Duration?
    /// How long this caller waits for a discovery (the configuration's
    /// ``RPCHandlerConfiguration/discoveryTimeout`` when nil, and the attempt timeout when that is
    /// nil too).
    public var discoveryTimeout: Duration?
    /// The most attempts (the configuration's ``RPCHandlerConfiguration/maximumAttempts`` when
    /// nil); always at most the number of providers.
    public var maximumAttempts: Int?
    /// How attempts pick providers (the configuration's
    /// ``RPCHandlerConfiguration/providerStrategy`` when nil).
    public var strategy: RPCProviderStrategy?

    /// Creates options; every field defaults to nil (the handler's configuration).
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

/// The options of one call with every default filled in and checked: what the core works with.
struct ResolvedCallOptions: Sendable {
    var timeout: Duration
    var overallTimeout: Duration?
    var discoveryTimeout: Duration
    var maximumAttempts: Int
    var strategy: RPCProviderStrategy

    /// Fills `options` from `configuration`.
    /// - Returns: the options, or the name and rule of the first invalid field.
    init(_ options: RPCCallOptions, configuration: RPCHandlerConfiguration) throws(ConfigurationError) {
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
