/// The pure state of a ``ServiceRegistry``: two bounded maps, each with an expiry-ordered index.
///
/// Invariants (checked by the model-based test):
/// - every key of `local` has exactly one deadline in `localExpiries`, equal to its `expiresAt`,
///   and nothing else is in that heap; likewise `remote` and `remoteExpiries`;
/// - `remote.count <= remoteBudget.effectiveLimit` after every call (the cache shrinks at once);
/// - `local.count` may exceed `localBudget.effectiveLimit` only after the limit was lowered (this
///   node's advertisements are never evicted); no new key is added then.
///
/// An entry whose `expiresAt` is at or before `now` is invisible to every lookup even while it
/// is still stored; `pruneExpired(now:)` removes it from storage.
///
/// Time is a `Duration` since the registry's origin (the clock's reading when it was created):
/// the core is not generic over the clock, so its maps and heaps are compiled for concrete types
/// (`DeadlineHeap<String, Duration>` is pre-specialized), whatever clock the actor uses.
struct ServiceRegistryCore: Sendable {
    typealias Instant = Duration

    struct LocalEntry: Sendable, Hashable {
        var provider: ServiceProvider
        var expiresAt: Instant
    }

    struct CachedEntry: Sendable, Hashable {
        var providers: [ServiceProvider]
        var expiresAt: Instant
    }

    /// What `advertise` did.
    enum AdvertiseAction: Hashable, Sendable {
        /// A new local advertisement; `expiredRemoved` expired local entries were dropped first
        /// to make room.
        case added(expiredRemoved: Int)
        /// An existing advertisement got the new provider and TTL.
        case refreshed
        /// Refused: the local map is at its effective limit `limit`.
        case rejectedAtLimit(limit: Int)
        /// Refused: the TTL is not in (0, `ConfigurationError.maximumDuration`].
        case invalidTTL
    }

    /// What `cacheProviders` did.
    enum CacheAction: Hashable, Sendable {
        /// Stored. To make room, `expiredRemoved` expired entries and `evicted` live entries
        /// (closest to expiry first) were removed; `truncated` providers beyond the per-service
        /// maximum were dropped.
        case cached(expiredRemoved: Int, evicted: Int, truncated: Int)
        /// Refused: the TTL is not in (0, `ConfigurationError.maximumDuration`].
        case invalidTTL
    }

    /// What `withdraw` or `invalidate` did.
    enum RemoveAction: Hashable, Sendable {
        /// Nothing was stored under the name (a no-op).
        case unknown
        /// The entry was removed; `expired` tells whether its TTL had already passed.
        case removed(expired: Bool)
    }

    /// What a lowered limit removed from the remote cache.
    struct Shrink: Hashable, Sendable {
        /// Entries whose TTL had passed.
        var expired = 0
        /// Live entries removed, closest to expiry first.
        var evicted = 0
    }

    /// What `pruneExpired` removed.
    struct Pruned: Hashable, Sendable {
        var local = 0
        var remote = 0
        var total: Int { local + remote }
    }

    let configuration: ServiceRegistryConfiguration
    private(set) var local: [String: LocalEntry] = [:]
    private(set) var remote: [String: CachedEntry] = [:]
    private(set) var localExpiries = DeadlineHeap<String, Instant>()
    private(set) var remoteExpiries = DeadlineHeap<String, Instant>()
    private(set) var localBudget: MemoryBudget
    private(set) var remoteBudget: MemoryBudget
    /// The largest combined size held.
    private(set) var highWaterMark = 0

    init(configuration: ServiceRegistryConfiguration) throws(ConfigurationError) {
        try configuration.validate()
        self.configuration = configuration
        self.localBudget = try MemoryBudget(baseLimit: configuration.maximumLocalServices, field: "maximumLocalServices")
        self.remoteBudget = try MemoryBudget(baseLimit: configuration.maximumCachedServices, field: "maximumCachedServices")
    }

    // MARK: Local advertisements

    /// Advertises `service` as provided by `provider` until `now + ttl`: inserts it, or replaces
    /// the provider and refreshes the TTL of an existing advertisement (expired or not).
    /// - Complexity: O(log n), plus O(log n) per expired entry dropped to make room.
    mutating func advertise(_ service: String, provider: ServiceProvider, ttl: Duration, now: Instant) -> AdvertiseAction {
        guard Self.isValid(ttl) else { return .invalidTTL }
        let expiresAt = now + ttl
        if local[service] != nil {
            local[service] = LocalEntry(provider: provider, expiresAt: expiresAt)
            localExpiries.set(service, deadline: expiresAt)
            return .refreshed
        }
        var expiredRemoved = 0
        let limit = localBudget.effectiveLimit
        // At the limit, expired entries (which no lookup returns) make room before a refusal.
        while local.count >= limit, let first = localExpiries.first, !(now < first.deadline) {
            localExpiries.remove(first.id)
            local.removeValue(forKey: first.id)
            expiredRemoved += 1
        }
        guard local.count < limit else { return .rejectedAtLimit(limit: limit) }
        local[service] = LocalEntry(provider: provider, expiresAt: expiresAt)
        localExpiries.set(service, deadline: expiresAt)
        recordSize()
        return .added(expiredRemoved: expiredRemoved)
    }

    /// Removes the local advertisement of `service`.
    /// - Complexity: O(log n).
    mutating func withdraw(_ service: String, now: Instant) -> RemoveAction {
        guard let entry = local.removeValue(forKey: service) else { return .unknown }
        localExpiries.remove(service)
        return .removed(expired: !(now < entry.expiresAt))
    }

    /// This node's unexpired advertisement of `service`. - Complexity: O(1).
    func localProvider(for service: String, now: Instant) -> ServiceProvider? {
        guard let entry = local[service], now < entry.expiresAt else { return nil }
        return entry.provider
    }

    // MARK: Remote cache

    /// Caches `providers` (a discovery result, possibly empty) for `service` until `now + ttl`,
    /// replacing what was cached. A new service at the limit evicts the entry closest to expiry.
    /// - Complexity: O(log n + k) for k providers, plus O(log n) per entry removed to make room.
    mutating func cacheProviders(_ providers: [ServiceProvider], for service: String, ttl: Duration, now: Instant) -> CacheAction {
        guard Self.isValid(ttl) else { return .invalidTTL }
        let expiresAt = now + ttl
        let maximum = configuration.maximumProvidersPerService
        let truncated = max(0, providers.count - maximum)
        let kept = truncated == 0 ? providers : Array(providers.prefix(maximum))
        var shrink = Shrink()
        if remote[service] == nil {
            shrink = shrinkRemote(toAtMost: remoteBudget.effectiveLimit - 1, now: now)
        }
        remote[service] = CachedEntry(providers: kept, expiresAt: expiresAt)
        remoteExpiries.set(service, deadline: expiresAt)
        recordSize()
        return .cached(expiredRemoved: shrink.expired, evicted: shrink.evicted, truncated: truncated)
    }

    /// Drops the cached providers of `service`. - Complexity: O(log n).
    mutating func invalidate(_ service: String, now: Instant) -> RemoveAction {
        guard let entry = remote.removeValue(forKey: service) else { return .unknown }
        remoteExpiries.remove(service)
        return .removed(expired: !(now < entry.expiresAt))
    }

    /// The unexpired cached providers of `service`. - Complexity: O(1).
    func cachedRemoteProviders(for service: String, now: Instant) -> [ServiceProvider]? {
        guard let entry = remote[service], now < entry.expiresAt else { return nil }
        return entry.providers
    }

    // MARK: Lookup

    /// Every unexpired provider of `service`: this node's own advertisement first, then the
    /// cached remote providers in the order they were cached, without any whose `nodeID` is the
    /// local provider's (a stale copy of this node's own advertisement). Nil when neither map
    /// holds an unexpired entry (a cache miss); empty when only an empty result is cached.
    /// - Complexity: O(k) for k providers returned.
    func providers(for service: String, now: Instant) -> [ServiceProvider]? {
        let own = localProvider(for: service, now: now)
        let cached = cachedRemoteProviders(for: service, now: now)
        switch (own, cached) {
        case (nil, nil):
            return nil
        case (let own?, nil):
            return [own]
        case (nil, let cached?):
            return cached
        case (let own?, let cached?):
            var result = [own]
            result.reserveCapacity(cached.count + 1)
            for provider in cached where provider.nodeID != own.nodeID { result.append(provider) }
            return result
        }
    }

    // MARK: Expiry

    /// Removes every entry of both maps whose TTL has passed at `now`.
    /// - Complexity: O(k log n) for k entries removed (O(n) when most are: see
    ///   `DeadlineHeap.removeDue(at:)`); O(1) when nothing is due.
    mutating func pruneExpired(now: Instant) -> Pruned {
        var pruned = Pruned()
        for service in localExpiries.removeDue(at: now) {
            local.removeValue(forKey: service)
            pruned.local += 1
        }
        for service in remoteExpiries.removeDue(at: now) {
            remote.removeValue(forKey: service)
            pruned.remote += 1
        }
        return pruned
    }

    // MARK: Limits

    /// Sets the pressure scale of both maps. The remote cache shrinks at once to its new limit;
    /// the local map keeps its entries and refuses new ones while over it.
    /// - Complexity: O(k log n) for k cached entries removed.
    mutating func setPressureScale(_ scale: Double, now: Instant) -> Shrink {
        localBudget.setPressureScale(scale)
        remoteBudget.setPressureScale(scale)
        return shrinkRemote(toAtMost: remoteBudget.effectiveLimit, now: now)
    }

    /// Sets both maps' base limits.
    /// - Throws: ``ConfigurationError`` naming `maximumLocalServices` or `maximumCachedServices`
    ///   when one is below 1; nothing changes then.
    /// - Complexity: O(k log n) for k cached entries removed.
    mutating func setLimits(local localLimit: Int, remote remoteLimit: Int, now: Instant) throws(ConfigurationError) -> Shrink {
        try ConfigurationError.require(localLimit, atLeast: 1, field: "maximumLocalServices")
        try ConfigurationError.require(remoteLimit, atLeast: 1, field: "maximumCachedServices")
        try localBudget.setBaseLimit(localLimit, field: "maximumLocalServices")
        try remoteBudget.setBaseLimit(remoteLimit, field: "maximumCachedServices")
        return shrinkRemote(toAtMost: remoteBudget.effectiveLimit, now: now)
    }

    /// Sets the combined base limit, split between the two maps in the proportion of the
    /// configured maxima (each map gets at least 1).
    /// - Throws: ``ConfigurationError`` naming `limit` when `total < 2`; nothing changes then.
    mutating func setLimit(_ total: Int, now: Instant) throws(ConfigurationError) -> Shrink {
        guard let split = Self.split(total, configuration: configuration) else {
            throw ConfigurationError(
                field: "limit",
                rule: "must be at least 2 (one local advertisement and one cached service)",
                value: "\(total)"
            )
        }
        return try setLimits(local: split.local, remote: split.remote, now: now)
    }

    /// Splits a combined limit in the proportion of the configured maxima; nil when `total < 2`.
    static func split(_ total: Int, configuration: ServiceRegistryConfiguration) -> (local: Int, remote: Int)? {
        guard total >= 2 else { return nil }
        let localMaximum = Int128(configuration.maximumLocalServices)
        let sum = localMaximum + Int128(configuration.maximumCachedServices)
        let share = Int(Int128(total) * localMaximum / sum)
        let local = min(max(1, share), total - 1)
        return (local, total - local)
    }

    // MARK: Usage

    /// Entries stored in both maps, expired or not.
    var size: Int { local.count + remote.count }

    /// The combined usage: sizes, effective and base limits are sums of the two maps' (a limit
    /// sum saturates at `Int.max`).
    func usage() -> MemoryUsage {
        MemoryUsage(
            size: size,
            effectiveLimit: Self.saturatingSum(localBudget.effectiveLimit, remoteBudget.effectiveLimit),
            baseLimit: Self.saturatingSum(localBudget.baseLimit, remoteBudget.baseLimit),
            pressureScale: remoteBudget.pressureScale,
            highWaterMark: max(highWaterMark, size)
        )
    }

    private static func saturatingSum(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : sum
    }

    func localUsage() -> MemoryUsage { localBudget.usage(size: local.count) }
    func remoteUsage() -> MemoryUsage { remoteBudget.usage(size: remote.count) }

    // MARK: Helpers

    static func isValid(_ ttl: Duration) -> Bool {
        ttl > .zero && ttl <= ConfigurationError.maximumDuration
    }

    /// Removes cached entries, closest to expiry first, until at most `limit` remain.
    private mutating func shrinkRemote(toAtMost limit: Int, now: Instant) -> Shrink {
        var shrink = Shrink()
        while remote.count > limit, let victim = remoteExpiries.popFirst() {
            remote.removeValue(forKey: victim.id)
            if now < victim.deadline { shrink.evicted += 1 } else { shrink.expired += 1 }
        }
        return shrink
    }

    private mutating func recordSize() {
        localBudget.recordSize(local.count)
        remoteBudget.recordSize(remote.count)
        highWaterMark = max(highWaterMark, size)
    }
}
