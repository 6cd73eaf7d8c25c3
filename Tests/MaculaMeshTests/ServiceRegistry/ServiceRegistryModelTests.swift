import MaculaTesting
import Testing

@testable import MaculaMesh

/// A naive reference: two plain lists, scanned for everything.
private struct NaiveRegistryModel {
    struct Entry {
        var service: String
        var providers: [ServiceProvider]
        var expiresAt: Duration
        var sequence: Int
    }

    var local: [Entry] = []
    var remote: [Entry] = []
    var localBudget: MemoryBudget
    var remoteBudget: MemoryBudget
    let providersPerService: Int
    var sequence = 0

    init(local: Int, remote: Int, providersPerService: Int) throws {
        localBudget = try MemoryBudget(baseLimit: local)
        remoteBudget = try MemoryBudget(baseLimit: remote)
        self.providersPerService = providersPerService
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

    /// Returns nil when refused for the limit, false for an invalid TTL, true when stored.
    mutating func advertise(_ service: String, _ provider: ServiceProvider, ttl: Duration, now: Duration) -> Bool? {
        guard Self.valid(ttl) else { return false }
        if let index = local.firstIndex(where: { $0.service == service }) {
            local[index] = Entry(service: service, providers: [provider], expiresAt: now + ttl, sequence: nextSequence())
            return true
        }
        while local.count >= localBudget.effectiveLimit, let index = Self.victim(local), local[index].expiresAt <= now {
            local.remove(at: index)
        }
        guard local.count < localBudget.effectiveLimit else { return nil }
        local.append(Entry(service: service, providers: [provider], expiresAt: now + ttl, sequence: nextSequence()))
        return true
    }

    mutating func cache(_ providers: [ServiceProvider], _ service: String, ttl: Duration, now: Duration) -> Bool {
        guard Self.valid(ttl) else { return false }
        let kept = Array(providers.prefix(providersPerService))
        if let index = remote.firstIndex(where: { $0.service == service }) {
            remote[index] = Entry(service: service, providers: kept, expiresAt: now + ttl, sequence: nextSequence())
            return true
        }
        while remote.count >= remoteBudget.effectiveLimit, let index = Self.victim(remote) { remote.remove(at: index) }
        remote.append(Entry(service: service, providers: kept, expiresAt: now + ttl, sequence: nextSequence()))
        return true
    }

    mutating func shrink() {
        while remote.count > remoteBudget.effectiveLimit, let index = Self.victim(remote) { remote.remove(at: index) }
    }

    mutating func prune(now: Duration) -> Int {
        let before = local.count + remote.count
        local.removeAll { $0.expiresAt <= now }
        remote.removeAll { $0.expiresAt <= now }
        return before - local.count - remote.count
    }

    func providers(_ service: String, now: Duration) -> [ServiceProvider]? {
        let own = local.first { $0.service == service && now < $0.expiresAt }?.providers.first
        let cached = remote.first { $0.service == service && now < $0.expiresAt }?.providers
        if own == nil && cached == nil { return nil }
        var result: [ServiceProvider] = own.map { [$0] } ?? []
        for provider in cached ?? [] where provider.nodeID != own?.nodeID { result.append(provider) }
        return result
    }
}

@Suite("ServiceRegistry model", .timeLimit(.minutes(3)))
struct ServiceRegistryModelTests {
    @Test("thousands of random operations agree with a naive list model after every step")
    func randomOperationsMatchTheModel() async throws {
        var random = SplitMix64(seed: 0x5EED_0005)
        let clock = ManualClock()
        var configuration = ServiceRegistryConfiguration()
        configuration.maximumLocalServices = 6
        configuration.maximumCachedServices = 8
        configuration.maximumProvidersPerService = 3
        let registry = try ServiceRegistry(configuration: configuration, clock: clock)
        var model = try NaiveRegistryModel(local: 6, remote: 8, providersPerService: 3)
        let services = (0..<16).map { "service-\($0)" }
        let nodes = ["me", "a", "b", "c", "d"]
        func pick<T>(_ array: [T]) -> T { array[Int(random.next() % UInt64(array.count))] }
        func randomTTL() -> Duration {
            // Small TTLs in whole seconds so that expiries collide often; sometimes invalid.
            switch random.next() % 12 {
            case 0: .zero
            case 1: .seconds(-3)
            default: .seconds(Int64(random.next() % 8) + 1)
            }
        }

        for step in 0..<5_000 {
            let now = clock.now.offset
            let service = pick(services)
            switch random.next() % 100 {
            case 0..<25:
                let node = pick(nodes)
                let ttl = randomTTL()
                let expected = model.advertise(service, provider(node), ttl: ttl, now: now)
                do {
                    try await registry.advertise(service, provider: provider(node), ttl: ttl)
                    #expect(expected == true, "step \(step): advertise \(service) should have been refused")
                } catch {
                    #expect(expected == (error == .invalidTTL ? false : nil), "step \(step): advertise \(service) threw \(error)")
                }
            case 25..<35:
                let stored = model.local.contains { $0.service == service }
                model.local.removeAll { $0.service == service }
                #expect(await registry.withdraw(service) == stored, "step \(step)")
            case 35..<60:
                let count = Int(random.next() % 5)
                let list = (0..<count).map { _ in provider(pick(nodes)) }
                let ttl = randomTTL()
                let expected = model.cache(list, service, ttl: ttl, now: now)
                do {
                    try await registry.cacheProviders(list, for: service, ttl: ttl)
                    #expect(expected, "step \(step)")
                } catch {
                    #expect(!expected && error == .invalidTTL, "step \(step)")
                }
            case 60..<67:
                let stored = model.remote.contains { $0.service == service }
                model.remote.removeAll { $0.service == service }
                #expect(await registry.invalidate(service) == stored, "step \(step)")
            case 67..<75:
                #expect(await registry.prune() == model.prune(now: now), "step \(step)")
            case 75..<78:
                let scale = pick([1.0, 0.75, 0.5, 0.2])
                model.localBudget.setPressureScale(scale)
                model.remoteBudget.setPressureScale(scale)
                model.shrink()
                await registry.setPressureScale(scale)
            case 78..<80:
                let localLimit = Int(random.next() % 6) + 1
                let remoteLimit = Int(random.next() % 8) + 1
                try model.localBudget.setBaseLimit(localLimit)
                try model.remoteBudget.setBaseLimit(remoteLimit)
                model.shrink()
                try await registry.setLimits(local: localLimit, cached: remoteLimit)
            default:
                clock.advance(by: .seconds(Int64(random.next() % 3)))
            }

            // After every step: every lookup, both sizes and the limits agree.
            let checkNow = clock.now.offset
            for name in services {
                let actual = await registry.cachedProviders(for: name)
                let expected = model.providers(name, now: checkNow)
                #expect(actual == expected, "step \(step): providers(for: \(name))")
                if actual != expected { return }
            }
            #expect(await registry.localServiceCount == model.local.count, "step \(step)")
            #expect(await registry.cachedServiceCount == model.remote.count, "step \(step)")
            let usage = await registry.memoryUsage()
            #expect(usage.effectiveLimit == model.localBudget.effectiveLimit + model.remoteBudget.effectiveLimit)
            #expect(model.remote.count <= model.remoteBudget.effectiveLimit)
        }
    }
}
