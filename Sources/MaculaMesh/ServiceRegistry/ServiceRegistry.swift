/// The TTL service registry of a mesh node (the seed's `macula_service_registry`): this node's
/// own advertisements and a cache of remote discovery results, both bounded and both expiring.
///
/// Two separate maps:
/// - **Local advertisements** (services this node provides), default TTL 300 s, at most
///   `maximumLocalServices`. They are owned by this node and never evicted: at the limit a new
///   one is refused with ``ServiceRegistryError/localLimitReached``. Keep them alive by
///   re-advertising (``AdvertisementManager`` does it for you).
/// - **The remote cache** (providers found by discovery), default TTL 60 s, at most
///   `maximumCachedServices`. When it is full, or a lower limit makes it too big, the entry
///   closest to expiry is evicted.
///
/// An entry advertised at `t` with TTL `d` is visible while `now < t + d` and gone from `t + d`
/// on: **an expired entry is never returned, even before a prune**. ``prune()`` frees the
/// memory of expired entries in O(expired × log n) through an expiry-ordered heap per map; an
/// ``AdvertisementManager``'s `run()` calls it every cleanup interval.
///
/// ## The memory contract with two maps
/// ``memoryUsage()`` reports the **sum** of the two maps: `size` is local + cached entries
/// (expired ones not yet pruned included, they use memory), and `effectiveLimit` / `baseLimit`
/// are the sums of the two maps' limits (saturating at `Int.max`). The pressure scale applies to **both** maps:
/// - the remote cache shrinks at once to `⌊maximumCachedServices × scale⌋`, evicting the entries
///   closest to expiry (reason ``RemovalReason/pressure``, or ``RemovalReason/expired`` for
///   entries already past their TTL);
/// - the local map keeps every advertisement and refuses new ones while it holds
///   `⌊maximumLocalServices × scale⌋` or more (re-advertising an existing one still works).
///
/// ``setLimit(_:)`` sets the combined base limit, split between the maps in the proportion of the
/// configured maxima; ``setLimits(local:cached:)`` sets each map's exactly.
///
/// - Important: time comes from the injected clock. Lookups read it once per call.
public actor ServiceRegistry: MemoryManaged {
    /// The name in metrics: ``ServiceRegistryConfiguration/componentName``.
    public nonisolated let componentName: String
    /// The configuration the registry was created with (limits changed later through
    /// ``setLimit(_:)`` are reported by ``memoryUsage()``).
    public nonisolated let configuration: ServiceRegistryConfiguration
    /// The clock every TTL is measured on; the handlers and managers built on this registry share
    /// it (and its origin).
    package nonisolated let clock: ComponentClock

    private let metrics: any MemoryMetrics
    private var core: ServiceRegistryCore

    /// Creates an empty registry.
    /// - Parameters:
    ///   - configuration: limits, default TTLs and the component name.
    ///   - clock: the clock TTLs are measured on; the continuous clock by default.
    ///   - metrics: where removals and rejections are reported.
    /// - Throws: ``ConfigurationError`` naming the first invalid field of `configuration`.
    public init(
        configuration: ServiceRegistryConfiguration = .init(),
        clock: some Clock<Duration> = ContinuousClock(),
        metrics: any MemoryMetrics = NoMemoryMetrics()
    ) throws(ConfigurationError) {
        self.core = try ServiceRegistryCore(configuration: configuration)
        self.configuration = configuration
        self.componentName = configuration.componentName
        self.clock = ComponentClock(clock)
        self.metrics = metrics
    }

    /// The current time as the core measures it: the duration since the clock's origin.
    private var now: Duration { clock.now }

    // MARK: Local advertisements

    /// Advertises `service` as provided by this node until `ttl` from now. Advertising a service
    /// again replaces its provider and refreshes its TTL (also when it had just expired).
    /// - Parameters:
    ///   - service: the service name.
    ///   - provider: this node, as it should be reached for `service`.
    ///   - ttl: how long the advertisement lives; `configuration.localTTL` (300 s) by default.
    /// - Throws: ``ServiceRegistryError/invalidTTL`` when `ttl` is not in (0, 10 years];
    ///   ``ServiceRegistryError/localLimitReached`` when `service` is new and the local map is at
    ///   its effective limit (expired advertisements are dropped first to make room). Nothing
    ///   changes when it throws.
    /// - Complexity: O(log n), plus O(log n) per expired advertisement dropped to make room.
    public func advertise(_ service: String, provider: ServiceProvider, ttl: Duration? = nil) throws(ServiceRegistryError) {
        try advertise(service, provider: provider, ttl: ttl, at: now)
    }

    /// Removes this node's advertisement of `service`. Withdrawing a service that is not
    /// advertised is a no-op.
    /// - Returns: whether an advertisement was stored (expired or not) and is now removed.
    /// - Complexity: O(log n).
    @discardableResult
    public func withdraw(_ service: String) -> Bool {
        withdraw(service, at: now)
    }

    /// This node's unexpired advertisement of `service`, if any.
    /// - Complexity: O(1).
    public func localProvider(for service: String) -> ServiceProvider? {
        core.localProvider(for: service, now: now)
    }

    /// The services this node advertises now (unexpired), in no particular order.
    /// - Complexity: O(n) in the number of local advertisements: for inspection, not hot paths.
    public func localServices() -> [String] {
        core.localServices(now: now)
    }

    // MARK: Lookup

    /// Every unexpired provider of `service`, local and cached: this node's own advertisement
    /// first, then the cached remote providers in the order they were cached, skipping any whose
    /// `nodeID` equals the local provider's (a stale copy of this node's own advertisement).
    /// - Returns: the providers; empty when none is known (see ``cachedProviders(for:)`` to tell
    ///   a miss from an empty cached result).
    /// - Complexity: O(k) for k providers returned.
    public func providers(for service: String) -> [ServiceProvider] {
        core.providers(for: service, now: now) ?? []
    }

    /// The providers of `service` the registry knows, or nil on a miss: what the RPC handler
    /// asks before it decides to run a discovery.
    ///
    /// Returns the same list as ``providers(for:)`` whenever this node advertises `service` or an
    /// unexpired discovery result is cached for it — an **empty** array when the cached result is
    /// empty (a negative cache entry, if the caller chose to cache one) — and **nil** when neither
    /// exists (a miss: nothing known, discover).
    /// - Complexity: O(k) for k providers returned.
    public func cachedProviders(for service: String) -> [ServiceProvider]? {
        core.providers(for: service, now: now)
    }

    // MARK: Remote cache

    /// Caches a discovery result for `service` until `ttl` from now, replacing what was cached.
    ///
    /// An empty `providers` is cached too: later lookups then return `[]` rather than nil, so a
    /// caller that wants to discover again on an empty result should not cache it. At most
    /// `maximumProvidersPerService` providers are kept (the first ones; the rest are
    /// counted as ``MemoryEvent/providersTruncated``). When `service` is new and
    /// the cache is full, the entry closest to expiry is evicted first (reported with reason
    /// ``RemovalReason/evicted``, or ``RemovalReason/expired`` when its TTL had passed).
    /// - Parameters:
    ///   - providers: the providers discovery found, in preference order.
    ///   - service: the service name.
    ///   - ttl: how long the result lives; `configuration.cacheTTL` (60 s) by default.
    /// - Throws: ``ServiceRegistryError/invalidTTL`` when `ttl` is not in (0, 10 years];
    ///   nothing changes then.
    /// - Complexity: O(log n + k) for k providers.
    public func cacheProviders(_ providers: [ServiceProvider], for service: String, ttl: Duration? = nil) throws(ServiceRegistryError) {
        try store(core.cacheProviders(providers, for: service, ttl: ttl, now: now))
    }

    /// Drops the cached providers of `service`, for example after every one of them failed.
    /// Invalidating a service that is not cached is a no-op.
    /// - Returns: whether a cached entry (expired or not) was removed.
    /// - Complexity: O(log n).
    @discardableResult
    public func invalidate(_ service: String) -> Bool {
        run(core.invalidate(service, now: now))
    }

    // MARK: Sizes

    /// Local advertisements stored (expired ones not yet pruned included). - Complexity: O(1).
    public var localServiceCount: Int { core.local.count }

    /// Services with cached providers stored (expired ones not yet pruned included).
    /// - Complexity: O(1).
    public var cachedServiceCount: Int { core.remote.count }

    /// The usage of the local advertisements alone. - Complexity: O(1).
    public func localMemoryUsage() -> MemoryUsage { core.localUsage() }

    /// The usage of the remote cache alone. - Complexity: O(1).
    public func cacheMemoryUsage() -> MemoryUsage { core.remoteUsage() }

    // MARK: MemoryManaged

    /// The combined usage of both maps: sizes and limits are sums (see the type's documentation).
    /// - Complexity: O(1).
    public func memoryUsage() -> MemoryUsage { core.usage() }

    /// Sets the combined base limit, split between local advertisements and the remote cache in
    /// the proportion of `maximumLocalServices` to `maximumCachedServices` (each gets at least 1).
    /// Setting the configured sum restores the configured maxima exactly. The cache shrinks at once
    /// (reason ``RemovalReason/evicted``); local advertisements are kept, new ones refused while
    /// over the limit.
    /// - Throws: ``ConfigurationError`` naming `limit` when `limit < 2` (each map needs room for
    ///   one entry); nothing changes then.
    /// - Complexity: O(k log n) for k cached entries evicted.
    public func setLimit(_ limit: Int) throws(ConfigurationError) {
        report(try core.setLimit(limit, now: now))
    }

    /// Sets each map's base limit exactly.
    /// - Parameters:
    ///   - local: the most local advertisements.
    ///   - cached: the most cached services.
    /// - Throws: ``ConfigurationError`` naming `maximumLocalServices` or `maximumCachedServices`
    ///   when a value is below 1; nothing changes then.
    /// - Complexity: O(k log n) for k cached entries evicted.
    public func setLimits(local: Int, cached: Int) throws(ConfigurationError) {
        report(try core.setLimits(local: local, remote: cached, now: now))
    }

    /// Sets the pressure scale of both maps: the cache shrinks at once (reason
    /// ``RemovalReason/pressure``), local advertisements refuse new entries while over the limit.
    /// - Complexity: O(k log n) for k cached entries evicted.
    public func setPressureScale(_ scale: Double) {
        report(core.setPressureScale(scale, now: now))
    }

    /// Removes every local advertisement and cached result whose TTL has passed (the seed's
    /// `prune_expired_local_services`), and reports them with reason ``RemovalReason/expired``.
    /// - Returns: how many entries were removed.
    /// - Complexity: O(k log n) for k entries removed; O(1) when nothing has expired.
    @discardableResult
    public func prune() -> Int {
        prune(at: now)
    }

    // MARK: Internal, for AdvertisementManager (one clock reading per operation)

    /// The stored expiry of this node's advertisement of `service` (time since the clock's
    /// origin), expired or not.
    func localExpiry(of service: String) -> Duration? { core.localExpiry(of: service) }

    /// The stored expiry of the cached providers of `service` (time since the clock's origin),
    /// expired or not.
    func cacheExpiry(of service: String) -> Duration? { core.cacheExpiry(of: service) }

    func advertise(_ service: String, provider: ServiceProvider, ttl: Duration?, at now: Duration) throws(ServiceRegistryError) {
        try store(core.advertise(service, provider: provider, ttl: ttl, now: now))
    }

    func withdraw(_ service: String, at now: Duration) -> Bool {
        run(core.withdraw(service, now: now))
    }

    func prune(at now: Duration) -> Int {
        run(core.pruneExpired(now: now))
    }

    // MARK: Actions

    private func store(_ step: ServiceRegistryCore.Step<ServiceRegistryCore.StoreOutcome>) throws(ServiceRegistryError) {
        report(step.metrics)
        switch step.outcome {
        case .added, .refreshed:
            return
        case .refused(let error):
            throw error
        }
    }

    private func run<Outcome>(_ step: ServiceRegistryCore.Step<Outcome>) -> Outcome {
        report(step.metrics)
        return step.outcome
    }

    private func report(_ actions: [ServiceRegistryCore.MetricAction]) {
        for action in actions {
            switch action {
            case .removed(let count, let reason):
                metrics.entriesRemoved(count, reason: reason, component: componentName)
            case .rejected(let reason):
                metrics.requestRejected(reason: reason, component: componentName)
            case .event(let event, let count):
                metrics.eventRecorded(event, count: count, component: componentName)
            }
        }
    }
}
