/// The pure state of a ``ServiceRegistry``: two bounded ``ExpiringTable``s, this node's
/// advertisements (`local`) and the cache of discovery results (`remote`).
///
/// Invariants (checked by the model-based test):
/// - `remote.count <= remoteBudget.effectiveLimit` after every call (the cache shrinks at once);
/// - `local.count` may exceed `localBudget.effectiveLimit` only after the limit was lowered (this
///   node's advertisements are never evicted); no new name is added then.
///
/// An entry whose `expiresAt` is at or before `now` is invisible to every lookup even while it
/// is still stored; `pruneExpired(now:)` removes it. Time is a `Duration` since the registry's
/// origin.
struct ServiceRegistryCore: Sendable {
    typealias Instant = Duration

    /// One metric event for the shell to report.
    enum MetricAction: Hashable, Sendable {
        case removed(Int, RemovalReason)
        case rejected(RejectionReason)
        case event(MemoryEvent, Int)
    }

    /// What a command did, and the metric events it produced.
    struct Step<Outcome: Hashable & Sendable>: Hashable, Sendable {
        var outcome: Outcome
        var metrics: [MetricAction] = []
    }

    /// What `advertise` or `cacheProviders` did.
    enum StoreOutcome: Hashable, Sendable {
        /// A new entry.
        case added
        /// An existing entry (expired or not) got the new value and TTL.
        case refreshed
        /// Refused; nothing changed.
        case refused(ServiceRegistryError)
    }

    let configuration: ServiceRegistryConfiguration
    private(set) var local = ExpiringTable<ServiceProvider>()
    private(set) var remote = ExpiringTable<[ServiceProvider]>()
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

    /// Advertises `service` as provided by `provider` until `now + ttl` (`configuration.localTTL`
    /// when nil): inserts it, or replaces the provider and TTL of a stored one (expired or not).
    /// At the limit, expired advertisements are removed to make room before a refusal.
    /// - Complexity: O(log n), plus O(log n) per expired entry removed.
    mutating func advertise(_ service: String, provider: ServiceProvider, ttl: Duration?, now: Instant) -> Step<StoreOutcome> {
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

    /// Removes the local advertisement of `service`; the outcome tells whether one was stored.
    /// - Complexity: O(log n).
    mutating func withdraw(_ service: String, now: Instant) -> Step<Bool> {
        Self.removal(of: local.remove(service), now: now)
    }

    /// This node's unexpired advertisement of `service`. - Complexity: O(1).
    func localProvider(for service: String, now: Instant) -> ServiceProvider? {
        local.value(of: service, now: now)
    }

    /// The names of the unexpired local advertisements, in no particular order.
    /// - Complexity: O(n).
    func localServices(now: Instant) -> [String] {
        local.names(now: now)
    }

    /// The stored expiry of the local advertisement of `service`, expired or not. - Complexity: O(1).
    func localExpiry(of service: String) -> Instant? { local.expiry(of: service) }

    // MARK: Remote cache

    /// Caches `providers` (at most `maximumProvidersPerService`, the first ones) for `service`
    /// until `now + ttl` (`configuration.cacheTTL` when nil), replacing what was cached. A new
    /// service at the limit evicts the entry closest to expiry.
    /// - Complexity: O(log n + k) for k providers, plus O(log n) per entry removed to make room.
    mutating func cacheProviders(_ providers: [ServiceProvider], for service: String, ttl: Duration?, now: Instant) -> Step<StoreOutcome> {
        let ttl = ttl ?? configuration.cacheTTL
        guard Self.isValid(ttl) else { return Step(outcome: .refused(.invalidTTL(ttl, service: service))) }
        let maximum = configuration.maximumProvidersPerService
        let truncated = max(0, providers.count - maximum)
        let kept = truncated == 0 ? providers : Array(providers.prefix(maximum))
        let events: [MetricAction] = truncated > 0 ? [.event(.providersTruncated, truncated)] : []
        if remote.replace(service, with: kept, expiresAt: now + ttl) {
            return Step(outcome: .refreshed, metrics: events)
        }
        let removals = shrinkRemote(toAtMost: remoteBudget.effectiveLimit - 1, now: now, reason: .evicted)
        remote.insert(service, kept, expiresAt: now + ttl)
        recordSize()
        return Step(outcome: .added, metrics: removals + events)
    }

    /// Drops the cached providers of `service`; the outcome tells whether any were stored.
    /// - Complexity: O(log n).
    mutating func invalidate(_ service: String, now: Instant) -> Step<Bool> {
        Self.removal(of: remote.remove(service), now: now)
    }

    /// The stored expiry of the cached providers of `service`, expired or not. - Complexity: O(1).
    func cacheExpiry(of service: String) -> Instant? { remote.expiry(of: service) }

    // MARK: Lookup

    /// Every unexpired provider of `service`: this node's own advertisement first, then the
    /// cached remote providers in the order they were cached, without any whose `nodeID` is the
    /// local provider's. Nil when neither map holds an unexpired entry (a miss); empty when only
    /// an empty result is cached.
    /// - Complexity: O(k) for k providers returned.
    func providers(for service: String, now: Instant) -> [ServiceProvider]? {
        let own = local.value(of: service, now: now)
        let cached = remote.value(of: service, now: now)
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

    /// Removes every entry of both maps whose TTL has passed at `now`; the outcome is the count.
    /// - Complexity: O(min(k log n, n)) for k entries removed; O(1) when nothing is due.
    mutating func pruneExpired(now: Instant) -> Step<Int> {
        let removed = local.removeDue(at: now) + remote.removeDue(at: now)
        return Step(outcome: removed, metrics: Self.removals(expired: removed, live: 0, liveReason: .removed))
    }

    // MARK: Limits

    /// Sets the pressure scale of both maps. The remote cache shrinks at once to its new limit
    /// (reason `pressure`); the local map keeps its entries and refuses new ones while over it.
    /// - Complexity: O(k log n) for k cached entries removed.
    mutating func setPressureScale(_ scale: Double, now: Instant) -> [MetricAction] {
        localBudget.setPressureScale(scale)
        remoteBudget.setPressureScale(scale)
        return shrinkRemote(toAtMost: remoteBudget.effectiveLimit, now: now, reason: .pressure)
    }

    /// Sets both maps' base limits; the cache shrinks at once (reason `evicted`).
    /// - Throws: ``ConfigurationError`` naming `maximumLocalServices` or `maximumCachedServices`
    ///   when one is below 1; nothing changes then.
    /// - Complexity: O(k log n) for k cached entries removed.
    mutating func setLimits(local localLimit: Int, remote remoteLimit: Int, now: Instant) throws(ConfigurationError) -> [MetricAction] {
        try ConfigurationError.require(localLimit, atLeast: 1, field: "maximumLocalServices")
        try ConfigurationError.require(remoteLimit, atLeast: 1, field: "maximumCachedServices")
        try localBudget.setBaseLimit(localLimit, field: "maximumLocalServices")
        try remoteBudget.setBaseLimit(remoteLimit, field: "maximumCachedServices")
        return shrinkRemote(toAtMost: remoteBudget.effectiveLimit, now: now, reason: .evicted)
    }

    /// Sets the combined base limit, split between the two maps in the proportion of the
    /// configured maxima (each map gets at least 1).
    /// - Throws: ``ConfigurationError`` naming `limit` when `total < 2`; nothing changes then.
    /// - Complexity: O(k log n) for k cached entries removed.
    mutating func setLimit(_ total: Int, now: Instant) throws(ConfigurationError) -> [MetricAction] {
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

    func localUsage() -> MemoryUsage { localBudget.usage(size: local.count) }
    func remoteUsage() -> MemoryUsage { remoteBudget.usage(size: remote.count) }

    // MARK: Helpers

    static func isValid(_ ttl: Duration) -> Bool {
        ttl > .zero && ttl <= ConfigurationError.maximumDuration
    }

    private static func saturatingSum(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : sum
    }

    private static func removals(expired: Int, live: Int, liveReason: RemovalReason) -> [MetricAction] {
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

    /// Removes cached entries, closest to expiry first, until at most `limit` remain; live ones
    /// are reported with `reason`, those past their TTL as expired.
    private mutating func shrinkRemote(toAtMost limit: Int, now: Instant, reason: RemovalReason) -> [MetricAction] {
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

/// A map from name to `Value`, each entry with an expiry, and one hashed index: entries live in
/// slots, `slotOf` maps a name to its slot, and the expiry heap addresses entries by slot.
///
/// Invariants: `slotOf[name] == s` exactly when `entries[s]?.name == name`; `expiries` holds
/// exactly the occupied slots, each at its entry's `expiresAt`; `free` lists exactly the
/// unoccupied slots of `entries`. An empty table holds no slots.
struct ExpiringTable<Value: Sendable>: Sendable {
    struct Entry: Sendable {
        var name: String
        var value: Value
        var expiresAt: Duration
    }

    private var slotOf: [String: Int32] = [:]
    private var entries: [Entry?] = []
    private var free: [Int32] = []
    private(set) var expiries = SlotDeadlineHeap<Duration>()

    /// Entries stored, expired or not.
    var count: Int { slotOf.count }
    var isEmpty: Bool { slotOf.isEmpty }
    /// Every stored name, expired or not.
    var names: Dictionary<String, Int32>.Keys { slotOf.keys }
    /// The earliest expiry stored. - Complexity: O(1).
    var firstExpiry: Duration? { expiries.first?.deadline }

    /// The value of `name` while `now < expiresAt`. - Complexity: O(1).
    func value(of name: String, now: Duration) -> Value? {
        guard let slot = slotOf[name], let entry = entries[Int(slot)], now < entry.expiresAt else { return nil }
        return entry.value
    }

    /// The stored expiry of `name`, expired or not. - Complexity: O(1).
    func expiry(of name: String) -> Duration? {
        slotOf[name].flatMap { entries[Int($0)]?.expiresAt }
    }

    /// The names whose entries are unexpired at `now`. - Complexity: O(n).
    func names(now: Duration) -> [String] {
        entries.compactMap { entry in entry.flatMap { now < $0.expiresAt ? $0.name : nil } }
    }

    /// Replaces the value and expiry of `name` if it is stored. - Returns: whether it was.
    /// - Complexity: O(log n).
    mutating func replace(_ name: String, with value: Value, expiresAt: Duration) -> Bool {
        guard let slot = slotOf[name] else { return false }
        entries[Int(slot)] = Entry(name: name, value: value, expiresAt: expiresAt)
        expiries.set(slot, deadline: expiresAt)
        return true
    }

    /// Stores `name`, which must not be stored yet. - Complexity: O(log n).
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

    /// Removes `name`. - Returns: the expiry it had, or nil (a no-op) when it was not stored.
    /// - Complexity: O(log n).
    mutating func remove(_ name: String) -> Duration? {
        guard let slot = slotOf.removeValue(forKey: name) else { return nil }
        expiries.remove(slot)
        defer { dropSlotsIfEmpty() }
        return release(slot).expiresAt
    }

    /// Removes the entry closest to expiry (ties: the one set first). - Returns: its expiry.
    /// - Complexity: O(log n).
    @discardableResult
    mutating func removeFirst() -> Duration? {
        guard let first = expiries.popFirst() else { return nil }
        slotOf.removeValue(forKey: release(first.slot).name)
        dropSlotsIfEmpty()
        return first.deadline
    }

    /// Removes every entry whose expiry is at or before `now`. - Returns: how many.
    /// - Complexity: O(min(k log n, n)) for k entries removed; O(1) when none is due.
    mutating func removeDue(at now: Duration) -> Int {
        guard let first = expiries.first, !(now < first.deadline) else { return 0 }
        var due: [Int32] = []
        expiries.removeDue(at: now, into: &due)
        for slot in due { slotOf.removeValue(forKey: release(slot).name) }
        dropSlotsIfEmpty()
        return due.count
    }

    /// Empties `slot` (already out of `expiries`) and returns what it held.
    private mutating func release(_ slot: Int32) -> Entry {
        free.append(slot)
        return entries[Int(slot)].take()!
    }

    /// Keeps memory proportional to what is held: an empty table drops its slots.
    private mutating func dropSlotsIfEmpty() {
        guard slotOf.isEmpty else { return }
        slotOf.removeAll(keepingCapacity: slotOf.capacity < 1024)
        entries.removeAll(keepingCapacity: entries.capacity < 1024)
        free.removeAll(keepingCapacity: free.capacity < 1024)
    }
}
