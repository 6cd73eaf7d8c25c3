/// The TTL service registry of a mesh node: this node's advertisements (never evicted: at the
/// limit a new one is refused) and a cache of discovery results (at the limit the entry closest to
/// expiry is evicted). An entry stored at `t` with TTL `d` is returned while `now < t + d`, never
/// after, even before ``prune()``. Usage and limits are the two maps' sums (saturating); pressure
/// shrinks the cache at once (reason `pressure`, or `expired`) and makes the local map refuse new
/// entries while over its limit.
public actor ServiceRegistry: MemoryManaged {
    /// The name in metrics: ``ServiceRegistryConfiguration/componentName``.
    public nonisolated let componentName: String
    /// The configuration the registry was created with.
    public nonisolated let configuration: ServiceRegistryConfiguration
    /// The clock (and origin) of every TTL, shared by the handlers and managers built on it.
    package nonisolated let clock: ComponentClock

    private let reporter: Reporter
    private var core: ServiceRegistryCore

    /// Creates an empty registry whose TTLs run on `clock` and whose removals, rejections and
    /// events go to `metrics`.
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
        self.reporter = Reporter(component: configuration.componentName, metrics: metrics, log: NoComponentLog())
    }

    private var now: Duration { clock.now }

    /// Advertises `service` as provided by `provider` until `ttl` (default `localTTL`) from now,
    /// or replaces the provider and TTL of a stored advertisement (expired or not).
    /// - Throws: ``ServiceRegistryError/invalidTTL`` when `ttl` is not in (0, 10 years];
    ///   ``ServiceRegistryError/localLimitReached`` when `service` is new and the map is at its
    ///   limit after expired advertisements were dropped. Nothing changes when it throws.
    /// - Complexity: O(log n), plus O(log n) per expired advertisement dropped.
    public func advertise(_ service: String, provider: ServiceProvider, ttl: Duration? = nil) throws(ServiceRegistryError) {
        try advertise(service, provider: provider, ttl: ttl, at: now)
    }

    /// Removes this node's advertisement of `service` (a no-op when none is stored).
    /// - Returns: whether one was stored, expired or not. - Complexity: O(log n).
    @discardableResult
    public func withdraw(_ service: String) -> Bool {
        withdraw(service, at: now)
    }

    /// This node's unexpired advertisement of `service`. - Complexity: O(1).
    public func localProvider(for service: String) -> ServiceProvider? {
        core.localProvider(for: service, now: now)
    }

    /// The unexpired services this node advertises, in no order. - Complexity: O(n).
    public func localServices() -> [String] {
        core.localServices(now: now)
    }

    /// Every unexpired provider of `service`: this node's own first, then the cached ones in the
    /// order first cached, without any with the local provider's `nodeID`; empty when none is known.
    /// - Complexity: O(k) for k providers returned.
    public func providers(for service: String) -> [ServiceProvider] {
        core.providers(for: service, now: now) ?? []
    }

    /// What ``providers(for:)`` returns, but nil on a miss (neither an advertisement nor an
    /// unexpired cached result, possibly empty): what the RPC handler asks before discovering.
    /// - Complexity: O(k) for k providers returned.
    public func cachedProviders(for service: String) -> [ServiceProvider]? {
        core.providers(for: service, now: now)
    }

    /// Caches `providers` (an empty list too: lookups then return `[]`, not nil) for `service`
    /// until `ttl` (default `cacheTTL`) from now, replacing what was cached. The first
    /// `maximumProvidersPerService` are kept, the rest counted as
    /// ``MemoryEvent/providersTruncated``. A new service in a full cache evicts the entry closest
    /// to expiry (reason ``RemovalReason/evicted``, or `expired` when past its TTL).
    /// - Throws: ``ServiceRegistryError/invalidTTL`` when `ttl` is not in (0, 10 years]; nothing
    ///   changes then.
    /// - Complexity: O(log n + k) for k providers.
    public func cacheProviders(_ providers: [ServiceProvider], for service: String, ttl: Duration? = nil) throws(ServiceRegistryError) {
        try store(core.cacheProviders(providers, for: service, ttl: ttl, now: now))
    }

    /// Caches one provider's advertisement of `service` until `ttl` (default `cacheTTL`) from now,
    /// merged by ``ServiceProvider/nodeID`` with the providers already cached: a provider with the
    /// same `nodeID` is replaced in place (address, metadata and expiry), another one is appended;
    /// every provider keeps its own expiry, is never returned after it, and the entry goes when its
    /// last provider expires. A service at `maximumProvidersPerService` unexpired providers drops
    /// the one closest to expiry to make room (the newest advertisement wins; counted as one
    /// ``MemoryEvent/providersTruncated``). A new service in a full cache evicts as
    /// ``cacheProviders(_:for:ttl:)`` does, and a later ``cacheProviders(_:for:ttl:)`` replaces
    /// the merged list.
    /// - Throws: ``ServiceRegistryError/invalidTTL`` when `ttl` is not in (0, 10 years]; nothing
    ///   changes then.
    /// - Complexity: O(log n + k) for k providers of `service`.
    public func cacheProvider(_ provider: ServiceProvider, for service: String, ttl: Duration? = nil) throws(ServiceRegistryError) {
        try store(core.cacheProvider(provider, for: service, ttl: ttl, now: now))
    }

    /// Drops the cached providers of `service` (a no-op when none are cached).
    /// - Returns: whether an entry was stored, expired or not. - Complexity: O(log n).
    @discardableResult
    public func invalidate(_ service: String) -> Bool {
        run(core.invalidate(service, now: now))
    }

    /// Local advertisements stored, unpruned expired ones included. - Complexity: O(1).
    public var localServiceCount: Int { core.local.count }

    /// Cached services stored, unpruned expired ones included. - Complexity: O(1).
    public var cachedServiceCount: Int { core.remote.count }

    /// The usage of the local advertisements alone. - Complexity: O(1).
    public func localMemoryUsage() -> MemoryUsage { core.localUsage() }

    /// The usage of the remote cache alone. - Complexity: O(1).
    public func cacheMemoryUsage() -> MemoryUsage { core.remoteUsage() }

    /// The combined usage of both maps (sums). - Complexity: O(1).
    public func memoryUsage() -> MemoryUsage { core.usage() }

    /// Sets the combined base limit, split in the proportion of the configured maxima (each map
    /// at least 1; the configured sum restores them exactly). The cache shrinks at once (reason
    /// ``RemovalReason/evicted``); local advertisements are kept, new ones refused while over.
    /// - Throws: ``ConfigurationError`` naming `limit` when `limit < 2`; nothing changes then.
    /// - Complexity: O(k log n) for k cached entries evicted.
    public func setLimit(_ limit: Int) throws(ConfigurationError) {
        report(try core.setLimit(limit, now: now))
    }

    /// Sets each map's base limit, as ``setLimit(_:)`` does for their sum.
    /// - Throws: ``ConfigurationError`` naming `maximumLocalServices` or `maximumCachedServices`
    ///   when a value is below 1; nothing changes then.
    /// - Complexity: O(k log n) for k cached entries evicted.
    public func setLimits(local: Int, cached: Int) throws(ConfigurationError) {
        report(try core.setLimits(local: local, remote: cached, now: now))
    }

    /// Sets both maps' pressure scale (see the type). - Complexity: O(k log n) for k evicted.
    public func setPressureScale(_ scale: Double) {
        report(core.setPressureScale(scale, now: now))
    }

    /// Removes every entry whose TTL has passed (reason ``RemovalReason/expired``).
    /// - Returns: how many. - Complexity: O(min(k log n, n)) for k removed; O(1) for none.
    @discardableResult
    public func prune() -> Int {
        prune(at: now)
    }

    // MARK: Internal, for AdvertisementManager: `now` is the caller's reading of `clock`

    func localExpiry(of service: String) -> Duration? { core.localExpiry(of: service) }

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

    private func report(_ reports: [Report]) {
        reporter(reports)
    }
}
