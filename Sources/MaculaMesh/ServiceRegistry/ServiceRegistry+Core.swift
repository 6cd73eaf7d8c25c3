/// The pure state of a ``ServiceRegistry``: this node's advertisements (`local`) and the cache of
/// discovery results (`remote`), time a `Duration` since the registry's origin. Invariants:
/// `remote.count <= remoteBudget.effectiveLimit` after every call; `local.count` exceeds its limit
/// only after the limit was lowered, and gains no name then; an entry with `expiresAt <= now` is
/// never returned. Each command is the actor's method of the same name at `now`, at its cost.
package struct ServiceRegistryCore: Sendable {
    package typealias Instant = Duration

    /// What a command did, and the metric events it produced.
    package struct Step<Outcome: Hashable & Sendable>: Hashable, Sendable {
        package var outcome: Outcome
        package var metrics: [Report] = []
    }

    /// `refreshed`: a stored entry (expired or not) got the new value and TTL; `refused`: nothing
    /// changed.
    package enum StoreOutcome: Hashable, Sendable {
        case added
        case refreshed
        case refused(ServiceRegistryError)
    }

    package let configuration: ServiceRegistryConfiguration
    package private(set) var local = ExpiringTable<ServiceProvider>()
    package private(set) var remote = ExpiringTable<CachedProviders>()
    package private(set) var localBudget: MemoryBudget
    package private(set) var remoteBudget: MemoryBudget
    private(set) var highWaterMark = 0

    package init(configuration: ServiceRegistryConfiguration) throws(ConfigurationError) {
        try configuration.validate()
        self.configuration = configuration
        self.localBudget = try MemoryBudget(baseLimit: configuration.maximumLocalServices, field: "maximumLocalServices")
        self.remoteBudget = try MemoryBudget(baseLimit: configuration.maximumCachedServices, field: "maximumCachedServices")
    }

    /// Advertises `service` until `now + ttl`. - Complexity: O(log n), plus O(log n) per expired
    /// entry removed to make room.
    package mutating func advertise(_ service: String, provider: ServiceProvider, ttl: Duration?, now: Instant) -> Step<StoreOutcome> {
        let ttl = ttl ?? configuration.localTTL
        guard Self.isValid(ttl) else { return Step(outcome: .refused(.invalidTTL(ttl, service: service))) }
        if local.replace(service, with: provider, expiresAt: now + ttl) { return Step(outcome: .refreshed) }
        var expired = 0
        let limit = localBudget.effectiveLimit
        while local.count >= limit, let first = local.firstExpiry, !(now < first) {
            local.removeFirst()
            expired += 1
        }
        let removals = Self.removals(expired: expired, live: 0, liveReason: .removed)
        guard local.count < limit else {
            return Step(outcome: .refused(.localLimitReached(service: service, limit: limit)), metrics: removals + [.rejected(.limitReached)])
        }
        local.insert(service, provider, expiresAt: now + ttl)
        recordSize()
        return Step(outcome: .added, metrics: removals)
    }

    package mutating func withdraw(_ service: String, now: Instant) -> Step<Bool> {
        Self.removal(of: local.remove(service), now: now)
    }

    func localProvider(for service: String, now: Instant) -> ServiceProvider? {
        local.value(of: service, now: now)
    }

    func localServices(now: Instant) -> [String] {
        local.names(now: now)
    }

    func localExpiry(of service: String) -> Instant? { local.expiry(of: service) }

    /// Caches `providers` for `service` until `now + ttl`, replacing what was cached. - Complexity:
    /// O(log n + k) for k providers, plus O(log n) per entry evicted.
    package mutating func cacheProviders(_ providers: [ServiceProvider], for service: String, ttl: Duration?, now: Instant) -> Step<StoreOutcome> {
        let ttl = ttl ?? configuration.cacheTTL
        guard Self.isValid(ttl) else { return Step(outcome: .refused(.invalidTTL(ttl, service: service))) }
        let maximum = configuration.maximumProvidersPerService
        let truncated = max(0, providers.count - maximum)
        let kept = truncated == 0 ? providers : Array(providers.prefix(maximum))
        let events: [Report] = truncated > 0 ? [.event(.providersTruncated, truncated)] : []
        return store(CachedProviders(kept, expiresAt: now + ttl), for: service, now: now, events: events)
    }

    /// Merges one provider's advertisement of `service` into the cache until `now + ttl`: the
    /// provider with its `nodeID` is replaced in place, or appended; the others keep their own
    /// expiries, and those already expired are dropped. At `maximumProvidersPerService` unexpired
    /// providers the one closest to expiry (the first cached among equals) makes room, counted as
    /// one `providersTruncated`. The entry's expiry is its latest provider's. - Complexity:
    /// O(log n + k) for k providers of the service, plus O(log n) per entry evicted.
    package mutating func cacheProvider(_ provider: ServiceProvider, for service: String, ttl: Duration?, now: Instant) -> Step<StoreOutcome> {
        let ttl = ttl ?? configuration.cacheTTL
        guard Self.isValid(ttl) else { return Step(outcome: .refused(.invalidTTL(ttl, service: service))) }
        var entry = remote.storedValue(of: service) ?? CachedProviders([], expiresAt: now + ttl)
        let dropped = entry.merge(provider, expiresAt: now + ttl, now: now, maximum: configuration.maximumProvidersPerService)
        let events: [Report] = dropped ? [.event(.providersTruncated, 1)] : []
        return store(entry, for: service, now: now, events: events)
    }

    private mutating func store(_ entry: CachedProviders, for service: String, now: Instant, events: [Report]) -> Step<StoreOutcome> {
        if remote.replace(service, with: entry, expiresAt: entry.expiresAt) {
            return Step(outcome: .refreshed, metrics: events)
        }
        let removals = shrinkRemote(toAtMost: remoteBudget.effectiveLimit - 1, now: now, reason: .evicted)
        remote.insert(service, entry, expiresAt: entry.expiresAt)
        recordSize()
        return Step(outcome: .added, metrics: removals + events)
    }

    package mutating func invalidate(_ service: String, now: Instant) -> Step<Bool> {
        Self.removal(of: remote.remove(service), now: now)
    }

    func cacheExpiry(of service: String) -> Instant? { remote.expiry(of: service) }

    package func providers(for service: String, now: Instant) -> [ServiceProvider]? {
        let own = local.value(of: service, now: now)
        let cached = remote.value(of: service, now: now)?.unexpired(now: now)
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

    package mutating func pruneExpired(now: Instant) -> Step<Int> {
        let removed = local.removeDue(at: now) + remote.removeDue(at: now)
        return Step(outcome: removed, metrics: Self.removals(expired: removed, live: 0, liveReason: .removed))
    }

    package mutating func setPressureScale(_ scale: Double, now: Instant) -> [Report] {
        localBudget.setPressureScale(scale)
        remoteBudget.setPressureScale(scale)
        return shrinkRemote(toAtMost: remoteBudget.effectiveLimit, now: now, reason: .pressure)
    }

    package mutating func setLimits(local localLimit: Int, remote remoteLimit: Int, now: Instant) throws(ConfigurationError) -> [Report] {
        try ConfigurationError.require(localLimit, atLeast: 1, field: "maximumLocalServices")
        try ConfigurationError.require(remoteLimit, atLeast: 1, field: "maximumCachedServices")
        try localBudget.setBaseLimit(localLimit, field: "maximumLocalServices")
        try remoteBudget.setBaseLimit(remoteLimit, field: "maximumCachedServices")
        return shrinkRemote(toAtMost: remoteBudget.effectiveLimit, now: now, reason: .evicted)
    }

    package mutating func setLimit(_ total: Int, now: Instant) throws(ConfigurationError) -> [Report] {
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
    package static func split(_ total: Int, configuration: ServiceRegistryConfiguration) -> (local: Int, remote: Int)? {
        guard total >= 2 else { return nil }
        let localMaximum = Int128(configuration.maximumLocalServices)
        let sum = localMaximum + Int128(configuration.maximumCachedServices)
        let share = Int(Int128(total) * localMaximum / sum)
        let local = min(max(1, share), total - 1)
        return (local, total - local)
    }

    package var size: Int { local.count + remote.count }

    package func usage() -> MemoryUsage {
        MemoryUsage(
            size: size,
            effectiveLimit: Self.saturatingSum(localBudget.effectiveLimit, remoteBudget.effectiveLimit),
            baseLimit: Self.saturatingSum(localBudget.baseLimit, remoteBudget.baseLimit),
            pressureScale: remoteBudget.pressureScale,
            highWaterMark: max(highWaterMark, size)
        )
    }

    func localUsage() -> MemoryUsage { localBudget.usage(size: local.count) }
    func remoteUsage() -> MemoryUsage { remoteBudget.usage(size: remote.count) }

    static func isValid(_ ttl: Duration) -> Bool {
        ttl > .zero && ttl <= ConfigurationError.maximumDuration
    }

    private static func saturatingSum(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : sum
    }

    private static func removals(expired: Int, live: Int, liveReason: RemovalReason) -> [Report] {
        switch (expired > 0, live > 0) {
        case (false, false): []
        case (true, false): [.removed(expired, .expired)]
        case (false, true): [.removed(live, liveReason)]
        case (true, true): [.removed(expired, .expired), .removed(live, liveReason)]
        }
    }

    private static func removal(of expiresAt: Instant?, now: Instant) -> Step<Bool> {
        guard let expiresAt else { return Step(outcome: false) }
        return Step(outcome: true, metrics: [.removed(1, now < expiresAt ? .removed : .expired)])
    }

    /// Removes cached entries, closest to expiry first, until at most `limit` remain.
    private mutating func shrinkRemote(toAtMost limit: Int, now: Instant, reason: RemovalReason) -> [Report] {
        var expired = 0
        var live = 0
        while remote.count > limit, let expiresAt = remote.removeFirst() {
            if now < expiresAt { live += 1 } else { expired += 1 }
        }
        return Self.removals(expired: expired, live: live, liveReason: reason)
    }

    private mutating func recordSize() {
        localBudget.recordSize(local.count)
        remoteBudget.recordSize(remote.count)
        highWaterMark = max(highWaterMark, size)
    }
}

/// The cached providers of one service, in the order first cached, each with its own expiry; the
/// entry expires with its latest provider (an empty list, with the TTL it was cached with).
/// Invariant: `providers.count == expiries.count`, and `expiresAt` is at least every expiry.
package struct CachedProviders: Sendable {
    package private(set) var providers: [ServiceProvider]
    private(set) var expiries: [Duration]
    package private(set) var expiresAt: Duration

    /// `providers` all expiring at `expiresAt`.
    init(_ providers: [ServiceProvider], expiresAt: Duration) {
        self.providers = providers
        self.expiries = Array(repeating: expiresAt, count: providers.count)
        self.expiresAt = expiresAt
    }

    /// The providers with `now < expiry`, in order. - Complexity: O(k).
    func unexpired(now: Duration) -> [ServiceProvider] {
        guard expiries.contains(where: { !(now < $0) }) else { return providers }
        return providers.indices.compactMap { now < expiries[$0] ? providers[$0] : nil }
    }

    /// Drops the expired providers, then replaces or appends `provider` until `expiresAt`, making
    /// room at `maximum` by dropping the provider closest to expiry. - Returns: whether a live
    /// provider made room. - Complexity: O(k).
    mutating func merge(_ provider: ServiceProvider, expiresAt newExpiry: Duration, now: Duration, maximum: Int) -> Bool {
        var kept = 0
        for index in providers.indices where now < expiries[index] {
            providers[kept] = providers[index]
            expiries[kept] = expiries[index]
            kept += 1
        }
        providers.removeLast(providers.count - kept)
        expiries.removeLast(expiries.count - kept)
        var dropped = false
        if let index = providers.firstIndex(where: { $0.nodeID == provider.nodeID }) {
            providers[index] = provider
            expiries[index] = newExpiry
        } else {
            if providers.count >= maximum, let victim = expiries.indices.min(by: { expiries[$0] < expiries[$1] }) {
                providers.remove(at: victim)
                expiries.remove(at: victim)
                dropped = true
            }
            providers.append(provider)
            expiries.append(newExpiry)
        }
        expiresAt = expiries.max() ?? newExpiry
        return dropped
    }
}

/// A map from name to `Value`, an expiry per entry, one hashed index: `slotOf` maps a name to its
/// slot in `entries`; the expiry heap addresses slots. Invariants: `slotOf[name] == s` exactly when
/// `entries[s]?.name == name`; `expiries` holds exactly the occupied slots, each at its entry's
/// `expiresAt`; `free` lists exactly the unoccupied ones; an empty table holds no slots.
package struct ExpiringTable<Value: Sendable>: Sendable {
    struct Entry: Sendable {
        var name: String
        var value: Value
        var expiresAt: Duration
    }

    private var slotOf: [String: Int32] = [:]
    private var entries: [Entry?] = []
    private var free: [Int32] = []
    private(set) var expiries = SlotDeadlineHeap<Duration>()

    package var count: Int { slotOf.count }
    var isEmpty: Bool { slotOf.isEmpty }
    var names: Dictionary<String, Int32>.Keys { slotOf.keys }
    var firstExpiry: Duration? { expiries.first?.deadline }

    /// The value of `name` while `now < expiresAt`.
    func value(of name: String, now: Duration) -> Value? {
        guard let slot = slotOf[name], let entry = entries[Int(slot)], now < entry.expiresAt else { return nil }
        return entry.value
    }

    /// The value of `name`, expired or not.
    func storedValue(of name: String) -> Value? {
        slotOf[name].flatMap { entries[Int($0)]?.value }
    }

    func expiry(of name: String) -> Duration? {
        slotOf[name].flatMap { entries[Int($0)]?.expiresAt }
    }

    func names(now: Duration) -> [String] {
        entries.compactMap { entry in entry.flatMap { now < $0.expiresAt ? $0.name : nil } }
    }

    /// Replaces the value and expiry of `name` if stored. - Returns: whether it was.
    mutating func replace(_ name: String, with value: Value, expiresAt: Duration) -> Bool {
        guard let slot = slotOf[name] else { return false }
        entries[Int(slot)] = Entry(name: name, value: value, expiresAt: expiresAt)
        expiries.set(slot, deadline: expiresAt)
        return true
    }

    /// Stores `name`, which must not be stored yet.
    mutating func insert(_ name: String, _ value: Value, expiresAt: Duration) {
        let entry = Entry(name: name, value: value, expiresAt: expiresAt)
        let slot: Int32
        if let reused = free.popLast() {
            slot = reused
            entries[Int(slot)] = entry
        } else {
            precondition(entries.count < Int(Int32.max), "at most Int32.max entries")
            slot = Int32(truncatingIfNeeded: entries.count)
            entries.append(entry)
        }
        slotOf[name] = slot
        expiries.set(slot, deadline: expiresAt)
    }

    /// Removes `name`. - Returns: its expiry; nil (a no-op) when not stored.
    mutating func remove(_ name: String) -> Duration? {
        guard let slot = slotOf.removeValue(forKey: name) else { return nil }
        expiries.remove(slot)
        defer { dropSlotsIfEmpty() }
        return release(slot).expiresAt
    }

    /// Removes the entry closest to expiry (ties: the one set first). - Returns: its expiry.
    @discardableResult
    mutating func removeFirst() -> Duration? {
        guard let first = expiries.popFirst() else { return nil }
        slotOf.removeValue(forKey: release(first.slot).name)
        dropSlotsIfEmpty()
        return first.deadline
    }

    /// Removes every entry whose expiry is at or before `now`. - Returns: how many.
    mutating func removeDue(at now: Duration) -> Int {
        guard let first = expiries.first, !(now < first.deadline) else { return 0 }
        var due: [Int32] = []
        expiries.removeDue(at: now, into: &due)
        for slot in due { slotOf.removeValue(forKey: release(slot).name) }
        dropSlotsIfEmpty()
        return due.count
    }

    private mutating func release(_ slot: Int32) -> Entry {
        free.append(slot)
        return entries[Int(slot)].take()!
    }

    private mutating func dropSlotsIfEmpty() {
        guard slotOf.isEmpty else { return }
        slotOf.removeAll(keepingCapacity: slotOf.capacity < 1024)
        entries.removeAll(keepingCapacity: entries.capacity < 1024)
        free.removeAll(keepingCapacity: free.capacity < 1024)
    }
}
