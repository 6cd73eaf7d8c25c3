import MaculaMemory
import MaculaMesh

/// The reference model of `ServiceRegistryCore`: two plain lists, scanned for everything. Each
/// command returns the entries it removed with their reasons, so that the core's metric reports
/// can be checked to name every removed entry exactly once.
package struct ServiceRegistryModel {
    struct Entry {
        var service: String
        var providers: [ServiceProvider]
        var expiresAt: Duration
        var sequence: Int
        /// A cached entry's per-provider expiries (`expiresAt` is their latest, or the TTL of an
        /// empty list); unused for advertisements.
        var expiries: [Duration] = []
    }

    var local: [Entry] = []
    var remote: [Entry] = []
    var localBudget: MemoryBudget
    var remoteBudget: MemoryBudget
    let configuration: ServiceRegistryConfiguration
    var sequence = 0

    init(configuration: ServiceRegistryConfiguration) throws {
        localBudget = try MemoryBudget(baseLimit: configuration.maximumLocalServices)
        remoteBudget = try MemoryBudget(baseLimit: configuration.maximumCachedServices)
        self.configuration = configuration
    }

    static func valid(_ ttl: Duration) -> Bool { ttl > .zero && ttl <= ConfigurationError.maximumDuration }

    mutating func nextSequence() -> Int {
        sequence += 1
        return sequence
    }

    /// The index of the entry closest to expiry (earliest sequence among equals).
    static func victim(_ entries: [Entry]) -> Int? {
        entries.indices.min { (entries[$0].expiresAt, entries[$0].sequence) < (entries[$1].expiresAt, entries[$1].sequence) }
    }

    /// The removal reported for an entry removed at `now`: `expired` once past its TTL.
    static func reason(_ entry: Entry, now: Duration, live: RemovalReason) -> RemovalReason {
        now < entry.expiresAt ? live : .expired
    }

    /// Returns nil when refused for the limit, false for an invalid TTL, true when stored; and the
    /// removals (expired advertisements dropped to make room).
    mutating func advertise(_ service: String, _ provider: ServiceProvider, ttl: Duration?, now: Duration) -> (Bool?, [RemovalReason]) {
        let ttl = ttl ?? configuration.localTTL
        guard Self.valid(ttl) else { return (false, []) }
        if let index = local.firstIndex(where: { $0.service == service }) {
            local[index] = Entry(service: service, providers: [provider], expiresAt: now + ttl, sequence: nextSequence())
            return (true, [])
        }
        var removed: [RemovalReason] = []
        while local.count >= localBudget.effectiveLimit, let index = Self.victim(local), local[index].expiresAt <= now {
            local.remove(at: index)
            removed.append(.expired)
        }
        guard local.count < localBudget.effectiveLimit else { return (nil, removed) }
        local.append(Entry(service: service, providers: [provider], expiresAt: now + ttl, sequence: nextSequence()))
        return (true, removed)
    }

    mutating func cache(_ providers: [ServiceProvider], _ service: String, ttl: Duration?, now: Duration) -> (Bool, [RemovalReason]) {
        let ttl = ttl ?? configuration.cacheTTL
        guard Self.valid(ttl) else { return (false, []) }
        let kept = Array(providers.prefix(configuration.maximumProvidersPerService))
        let expiries = Array(repeating: now + ttl, count: kept.count)
        return (true, store(Entry(service: service, providers: kept, expiresAt: now + ttl, sequence: 0, expiries: expiries), now: now))
    }

    /// One provider merged by node ID: expired providers dropped, the same node replaced in place,
    /// a new one appended after the provider closest to expiry (first among equals) made room at
    /// the maximum. Returns false for an invalid TTL, the removals, and whether a provider made room.
    mutating func cacheOne(_ provider: ServiceProvider, _ service: String, ttl: Duration?, now: Duration) -> (Bool, [RemovalReason], Bool) {
        let ttl = ttl ?? configuration.cacheTTL
        guard Self.valid(ttl) else { return (false, [], false) }
        var pairs: [(ServiceProvider, Duration)] = []
        if let old = remote.first(where: { $0.service == service }) {
            pairs = zip(old.providers, old.expiries).filter { now < $0.1 }
        }
        var madeRoom = false
        if let same = pairs.firstIndex(where: { $0.0.nodeID == provider.nodeID }) {
            pairs[same] = (provider, now + ttl)
        } else {
            if pairs.count >= configuration.maximumProvidersPerService {
                var victim = 0
                for index in pairs.indices where pairs[index].1 < pairs[victim].1 { victim = index }
                pairs.remove(at: victim)
                madeRoom = true
            }
            pairs.append((provider, now + ttl))
        }
        let latest = pairs.map(\.1).max() ?? now + ttl
        let entry = Entry(service: service, providers: pairs.map(\.0), expiresAt: latest, sequence: 0, expiries: pairs.map(\.1))
        return (true, store(entry, now: now), madeRoom)
    }

    /// Replaces the entry of the same service, or adds it after evicting for room.
    mutating func store(_ entry: Entry, now: Duration) -> [RemovalReason] {
        var entry = entry
        entry.sequence = nextSequence()
        if let index = remote.firstIndex(where: { $0.service == entry.service }) {
            remote[index] = entry
            return []
        }
        var removed: [RemovalReason] = []
        while remote.count >= remoteBudget.effectiveLimit, let index = Self.victim(remote) {
            removed.append(Self.reason(remote.remove(at: index), now: now, live: .evicted))
        }
        remote.append(entry)
        return removed
    }

    mutating func shrink(now: Duration, reason: RemovalReason) -> [RemovalReason] {
        var removed: [RemovalReason] = []
        while remote.count > remoteBudget.effectiveLimit, let index = Self.victim(remote) {
            removed.append(Self.reason(remote.remove(at: index), now: now, live: reason))
        }
        return removed
    }

    mutating func remove(_ service: String, local isLocal: Bool, now: Duration) -> [RemovalReason] {
        var entries = isLocal ? local : remote
        guard let index = entries.firstIndex(where: { $0.service == service }) else { return [] }
        let reason = Self.reason(entries.remove(at: index), now: now, live: .removed)
        if isLocal { local = entries } else { remote = entries }
        return [reason]
    }

    mutating func prune(now: Duration) -> Int {
        let before = local.count + remote.count
        local.removeAll { $0.expiresAt <= now }
        remote.removeAll { $0.expiresAt <= now }
        return before - local.count - remote.count
    }

    func providers(_ service: String, now: Duration) -> [ServiceProvider]? {
        let own = local.first { $0.service == service && now < $0.expiresAt }?.providers.first
        let cached = remote.first { $0.service == service && now < $0.expiresAt }
            .map { entry in zip(entry.providers, entry.expiries).filter { now < $0.1 }.map(\.0) }
        if own == nil && cached == nil { return nil }
        var result: [ServiceProvider] = own.map { [$0] } ?? []
        for provider in cached ?? [] where provider.nodeID != own?.nodeID { result.append(provider) }
        return result
    }

    /// A combined limit split in the proportion of the configured maxima: the local share rounded
    /// down, at least 1, leaving at least 1 to the cache.
    func split(_ total: Int) -> (local: Int, remote: Int)? {
        guard total >= 2 else { return nil }
        let local = Int(Int128(total) * Int128(configuration.maximumLocalServices)
            / Int128(configuration.maximumLocalServices + configuration.maximumCachedServices))
        let clamped = min(max(1, local), total - 1)
        return (clamped, total - clamped)
    }
}

/// `ServiceRegistryCore` and ``ServiceRegistryModel`` side by side: advertisements, withdrawals,
/// cached discovery results, invalidations, prunes, limit and pressure changes and clock advances,
/// with valid, default and invalid TTLs, compared after every step (every lookup, both sizes, the
/// limits, and the removals reported).
package struct ServiceRegistryModelRun {
    package private(set) var core: ServiceRegistryCore
    var model: ServiceRegistryModel
    package private(set) var step = 0
    /// How many times each operation ran.
    package private(set) var counts: [String: Int] = [:]
    package private(set) var now: Duration = .zero
    let services = (0..<16).map { "service-\($0)" }
    let nodes = ["me", "a", "b", "c", "d"]

    /// Local advertisements 6, cached services 8, 3 providers per service.
    package init() throws {
        var configuration = ServiceRegistryConfiguration()
        configuration.maximumLocalServices = 6
        configuration.maximumCachedServices = 8
        configuration.maximumProvidersPerService = 3
        core = try ServiceRegistryCore(configuration: configuration)
        model = try ServiceRegistryModel(configuration: configuration)
    }

    static func provider(_ node: String) -> ServiceProvider {
        ServiceProvider(nodeID: node, address: "quic://\(node):4433")
    }

    func randomTTL(_ random: inout ModelRandom) -> Duration? {
        // Small TTLs in whole seconds so that expiries collide often; sometimes invalid or extreme.
        switch random.next() % 16 {
        case 0: .zero
        case 1: .seconds(-3)
        case 2: nil
        case 3: ConfigurationError.maximumDuration
        case 4: ConfigurationError.maximumDuration + .nanoseconds(1)
        default: .seconds(Int64(random.next() % 8) + 1)
        }
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    package mutating func randomOperation(_ random: inout ModelRandom) throws(Divergence) {
        step += 1
        let step = self.step
        let service = services[Int(random.next() % UInt64(services.count))]
        let sizeBefore = core.size
        var added = 0
        var expected: [RemovalReason] = []
        var reports: [Report] = []
        let label: String
        switch random.next() % 100 {
        case 0..<25:
            label = "advertise"
            let node = nodes[Int(random.next() % UInt64(nodes.count))]
            let ttl = randomTTL(&random)
            let (stored, removed) = model.advertise(service, Self.provider(node), ttl: ttl, now: now)
            let result = core.advertise(service, provider: Self.provider(node), ttl: ttl, now: now)
            expected = removed
            reports = result.metrics
            switch (result.outcome, stored) {
            case (.added, true): added = 1
            case (.refreshed, true): break
            case (.refused(let error), false) where error == .invalidTTL: break
            case (.refused(let error), nil) where error == .localLimitReached:
                try check(reports.contains(.rejected(.limitReached)), "step \(step): a refusal at the limit is reported")
            default: throw Divergence("step \(step): advertise \(service) ttl \(String(describing: ttl)): core \(result.outcome), model \(String(describing: stored))")
            }
        case 25..<35:
            label = "withdraw"
            expected = model.remove(service, local: true, now: now)
            let result = core.withdraw(service, now: now)
            reports = result.metrics
            try check(result.outcome == !expected.isEmpty, "step \(step): withdraw \(service): core \(result.outcome)")
        case 48..<60:
            label = "cacheOne"
            let node = nodes[Int(random.next() % UInt64(nodes.count))]
            let candidate = ServiceProvider(nodeID: node, address: "quic://\(node):\(random.next() % 3)")
            let ttl = randomTTL(&random)
            let (stored, removed, madeRoom) = model.cacheOne(candidate, service, ttl: ttl, now: now)
            let result = core.cacheProvider(candidate, for: service, ttl: ttl, now: now)
            expected = removed
            reports = result.metrics
            switch (result.outcome, stored) {
            case (.added, true): added = 1
            case (.refreshed, true): break
            case (.refused(let error), false) where error == .invalidTTL: break
            default: throw Divergence("step \(step): cacheOne \(service) ttl \(String(describing: ttl)): core \(result.outcome), model \(stored)")
            }
            try check(reports.contains(.event(.providersTruncated, 1)) == madeRoom,
                      "step \(step): cacheOne \(service): a provider made room: model \(madeRoom), reports \(reports)")
        case 35..<48:
            label = "cache"
            let count = Int(random.next() % 5)
            let list = (0..<count).map { _ in Self.provider(nodes[Int(random.next() % UInt64(nodes.count))]) }
            let ttl = randomTTL(&random)
            let (stored, removed) = model.cache(list, service, ttl: ttl, now: now)
            let result = core.cacheProviders(list, for: service, ttl: ttl, now: now)
            expected = removed
            reports = result.metrics
            switch (result.outcome, stored) {
            case (.added, true): added = 1
            case (.refreshed, true): break
            case (.refused(let error), false) where error == .invalidTTL: break
            default: throw Divergence("step \(step): cache \(service) ttl \(String(describing: ttl)): core \(result.outcome), model \(stored)")
            }
            let truncated = max(0, count - model.configuration.maximumProvidersPerService)
            if stored, truncated > 0 {
                try check(reports.contains(.event(.providersTruncated, truncated)), "step \(step): cache \(service): \(truncated) truncated providers not reported: \(reports)")
            }
        case 60..<67:
            label = "invalidate"
            expected = model.remove(service, local: false, now: now)
            let result = core.invalidate(service, now: now)
            reports = result.metrics
            try check(result.outcome == !expected.isEmpty, "step \(step): invalidate \(service): core \(result.outcome)")
        case 67..<75:
            label = "prune"
            let removed = model.prune(now: now)
            expected = Array(repeating: .expired, count: removed)
            let result = core.pruneExpired(now: now)
            reports = result.metrics
            try check(result.outcome == removed, "step \(step): prune removed \(result.outcome), model \(removed)")
        case 75..<78:
            label = "pressure"
            let scale = [1.0, 0.75, 0.5, 0.2, 0, -1, 2, .nan][Int(random.next() % 8)]
            model.localBudget.setPressureScale(scale)
            model.remoteBudget.setPressureScale(scale)
            expected = model.shrink(now: now, reason: .pressure)
            reports = core.setPressureScale(scale, now: now)
        case 78..<80:
            label = "setLimits"
            let localLimit = Int(random.next() % 7)
            let remoteLimit = Int(random.next() % 9)
            var modelThrew = false
            if localLimit >= 1, remoteLimit >= 1 {
                do {
                    try model.localBudget.setBaseLimit(localLimit)
                    try model.remoteBudget.setBaseLimit(remoteLimit)
                } catch {
                    modelThrew = true
                }
                expected = model.shrink(now: now, reason: .evicted)
            } else {
                modelThrew = true
            }
            do {
                reports = try core.setLimits(local: localLimit, remote: remoteLimit, now: now)
                try check(!modelThrew, "step \(step): setLimits(\(localLimit), \(remoteLimit)) was accepted")
            } catch let error as Divergence {
                throw error
            } catch {
                try check(modelThrew, "step \(step): setLimits(\(localLimit), \(remoteLimit)) threw \(error)")
            }
        case 80..<82:
            label = "setLimit"
            let total = Int(random.next() % 16)
            let split = model.split(total)
            if let split {
                try? model.localBudget.setBaseLimit(split.local)
                try? model.remoteBudget.setBaseLimit(split.remote)
                expected = model.shrink(now: now, reason: .evicted)
            }
            do {
                reports = try core.setLimit(total, now: now)
                try check(split != nil, "step \(step): setLimit(\(total)) was accepted")
            } catch let error as Divergence {
                throw error
            } catch {
                try check(split == nil, "step \(step): setLimit(\(total)) threw \(error)")
            }
        default:
            label = "advance"
            now += random.next() % 8 == 0 ? .nanoseconds(1) : .seconds(Int64(random.next() % 3))
        }
        counts[label, default: 0] += 1
        try compareRemovals(step: step, label: label, expected: expected, reports: reports, sizeBefore: sizeBefore, added: added)
        try compareState(step: step, label: label)
    }

    /// Every entry that left is reported exactly once, with the model's reason.
    func compareRemovals(step: Int, label: String, expected: [RemovalReason], reports: [Report], sizeBefore: Int, added: Int) throws(Divergence) {
        var reported: [String: Int] = [:]
        var total = 0
        for case .removed(let count, let reason) in reports {
            try check(count > 0, "step \(step): \(label): a removal of \(count) entries reported")
            reported["\(reason)", default: 0] += count
            total += count
        }
        var wanted: [String: Int] = [:]
        for reason in expected { wanted["\(reason)", default: 0] += 1 }
        try check(reported == wanted, "step \(step): \(label): removals reported \(reported), model \(wanted)")
        try check(sizeBefore + added - core.size == total,
                  "step \(step): \(label): size went from \(sizeBefore) (+\(added)) to \(core.size), \(total) removals reported")
    }

    /// Every lookup, both sizes, the limits and the cache's bound agree.
    func compareState(step: Int, label: String) throws(Divergence) {
        for name in services {
            let actual = core.providers(for: name, now: now)
            let wanted = model.providers(name, now: now)
            try check(actual == wanted, "step \(step): \(label): providers(for: \(name)) \(String(describing: actual)), model \(String(describing: wanted))")
        }
        try check(core.local.count == model.local.count, "step \(step): \(label): \(core.local.count) local, model \(model.local.count)")
        try check(core.remote.count == model.remote.count, "step \(step): \(label): \(core.remote.count) cached, model \(model.remote.count)")
        try check(core.localBudget.effectiveLimit == model.localBudget.effectiveLimit, "step \(step): \(label): local limit")
        try check(core.remoteBudget.effectiveLimit == model.remoteBudget.effectiveLimit, "step \(step): \(label): cache limit")
        try check(core.remote.count <= core.remoteBudget.effectiveLimit,
                  "step \(step): \(label): \(core.remote.count) cached over the limit \(core.remoteBudget.effectiveLimit)")
        let usage = core.usage()
        try check(usage.effectiveLimit == model.localBudget.effectiveLimit + model.remoteBudget.effectiveLimit, "step \(step): \(label): usage limit")
    }
}
