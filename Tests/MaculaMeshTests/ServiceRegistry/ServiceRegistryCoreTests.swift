import MaculaTesting
import Testing

@testable import MaculaMesh

@Suite("ServiceRegistry core", .timeLimit(.minutes(3)))
struct ServiceRegistryCoreTests {
    typealias Core = ServiceRegistryCore
    typealias Step = Core.Step<Core.StoreOutcome>

    static func makeCore(local: Int = 1_000, cached: Int = 10_000, providersPerService: Int = 100) throws -> Core {
        var configuration = ServiceRegistryConfiguration()
        configuration.maximumLocalServices = local
        configuration.maximumCachedServices = cached
        configuration.maximumProvidersPerService = providersPerService
        return try Core(configuration: configuration)
    }

    @Test("an advertisement made at t with TTL d is visible while now < t + d and gone from t + d on")
    func exactTTLBoundary() throws {
        var core = try Self.makeCore()
        let me = provider("me")
        #expect(core.advertise("echo", provider: me, ttl: .seconds(5), now: time(10)) == Step(outcome: .added))
        #expect(core.providers(for: "echo", now: time(10)) == [me])
        #expect(core.providers(for: "echo", now: time(14, nanoseconds: 999_999_999)) == [me])
        #expect(core.localProvider(for: "echo", now: time(14, nanoseconds: 999_999_999)) == me)
        #expect(core.providers(for: "echo", now: time(15)) == nil)
        #expect(core.localProvider(for: "echo", now: time(15)) == nil)
        // Still stored until a prune, but never returned.
        #expect(core.local.count == 1)
        #expect(core.pruneExpired(now: time(14, nanoseconds: 999_999_999)) == Core.Step(outcome: 0))
        #expect(core.pruneExpired(now: time(15)) == Core.Step(outcome: 1, metrics: [.removed(1, .expired)]))
        #expect(core.local.isEmpty && core.local.expiries.isEmpty)
    }

    @Test("the remote cache has the same exact boundary")
    func cacheBoundary() throws {
        var core = try Self.makeCore()
        let other = provider("other")
        #expect(core.cacheProviders([other], for: "echo", ttl: .seconds(60), now: time(0)) == Step(outcome: .added))
        #expect(core.providers(for: "echo", now: time(59, nanoseconds: 999_999_999)) == [other])
        #expect(core.providers(for: "echo", now: time(60)) == nil)
        #expect(core.pruneExpired(now: time(60)) == Core.Step(outcome: 1, metrics: [.removed(1, .expired)]))
    }

    @Test("re-advertising refreshes the TTL and replaces the provider, without growing")
    func refresh() throws {
        var core = try Self.makeCore()
        #expect(core.advertise("echo", provider: provider("me"), ttl: .seconds(10), now: time(0)) == Step(outcome: .added))
        let moved = provider("me", "quic://10.0.0.9:4433")
        #expect(core.advertise("echo", provider: moved, ttl: .seconds(10), now: time(8)) == Step(outcome: .refreshed))
        #expect(core.local.count == 1 && core.local.expiries.count == 1)
        #expect(core.providers(for: "echo", now: time(17, nanoseconds: 999_999_999)) == [moved])
        #expect(core.providers(for: "echo", now: time(18)) == nil)
        // The old deadline (10) is gone from the index: a prune at 10 removes nothing.
        #expect(core.pruneExpired(now: time(10)).outcome == 0)
        #expect(core.pruneExpired(now: time(18)).outcome == 1)
    }

    @Test("re-advertising an expired, unpruned advertisement revives it")
    func refreshAfterExpiry() throws {
        var core = try Self.makeCore()
        _ = core.advertise("echo", provider: provider("me"), ttl: .seconds(1), now: time(0))
        #expect(core.providers(for: "echo", now: time(5)) == nil)
        #expect(core.advertise("echo", provider: provider("me"), ttl: .seconds(1), now: time(5)) == Step(outcome: .refreshed))
        #expect(core.providers(for: "echo", now: time(5)) == [provider("me")])
    }

    @Test("a TTL of zero or less, or above the maximum, is refused and changes nothing")
    func invalidTTL() throws {
        var core = try Self.makeCore()
        for ttl: Duration in [.zero, .seconds(-1), .nanoseconds(-1), ConfigurationError.maximumDuration + .nanoseconds(1)] {
            #expect(core.advertise("echo", provider: provider("me"), ttl: ttl, now: time(0)) == Step(outcome: .refused(.invalidTTL)))
            #expect(core.cacheProviders([provider("x")], for: "echo", ttl: ttl, now: time(0)) == Step(outcome: .refused(.invalidTTL)))
        }
        #expect(core.size == 0)
        #expect(core.advertise("echo", provider: provider("me"), ttl: .nanoseconds(1), now: time(0)) == Step(outcome: .added))
        #expect(core.advertise("max", provider: provider("me"), ttl: ConfigurationError.maximumDuration, now: time(0)) == Step(outcome: .added))
    }

    @Test("local advertisements are never evicted: at the limit a new one is refused, a refresh is not")
    func localLimit() throws {
        var core = try Self.makeCore(local: 2)
        #expect(core.advertise("a", provider: provider("me"), ttl: .seconds(10), now: time(0)) == Step(outcome: .added))
        #expect(core.advertise("b", provider: provider("me"), ttl: .seconds(20), now: time(0)) == Step(outcome: .added))
        #expect(core.advertise("c", provider: provider("me"), ttl: .seconds(10), now: time(1)) == Step(outcome: .refused(.localLimitReached), metrics: [.rejected(.limitReached)]))
        #expect(core.advertise("a", provider: provider("me"), ttl: .seconds(10), now: time(1)) == Step(outcome: .refreshed))
        #expect(Set(core.local.names) == ["a", "b"])
        // Once `a` has expired, it makes room (and is counted as expired, not evicted).
        #expect(core.advertise("c", provider: provider("me"), ttl: .seconds(10), now: time(11)) == Step(outcome: .added, metrics: [.removed(1, .expired)]))
        #expect(Set(core.local.names) == ["b", "c"])
    }

    @Test("a full cache evicts the entry closest to expiry; an expired victim counts as expired")
    func cacheEvictionWhenFull() throws {
        var core = try Self.makeCore(cached: 2)
        _ = core.cacheProviders([provider("x")], for: "late", ttl: .seconds(50), now: time(0))
        _ = core.cacheProviders([provider("y")], for: "soon", ttl: .seconds(5), now: time(0))
        #expect(core.cacheProviders([provider("z")], for: "new", ttl: .seconds(60), now: time(1)) == Step(outcome: .added, metrics: [.removed(1, .evicted)]))
        #expect(Set(core.remote.names) == ["late", "new"])
        // Replacing an existing entry never evicts.
        #expect(core.cacheProviders([provider("x2")], for: "late", ttl: .seconds(1), now: time(1)) == Step(outcome: .refreshed))
        // `late` now expires at 2: at 3 it is the victim, and it had expired.
        #expect(core.cacheProviders([provider("w")], for: "other", ttl: .seconds(60), now: time(3)) == Step(outcome: .added, metrics: [.removed(1, .expired)]))
        #expect(Set(core.remote.names) == ["new", "other"])
    }

    @Test("equal expiries are evicted in the order they were cached")
    func evictionTieBreak() throws {
        var core = try Self.makeCore(cached: 3)
        for name in ["a", "b", "c"] {
            _ = core.cacheProviders([], for: name, ttl: .seconds(10), now: time(0))
        }
        _ = core.cacheProviders([], for: "d", ttl: .seconds(10), now: time(0))
        #expect(Set(core.remote.names) == ["b", "c", "d"])
        _ = core.cacheProviders([], for: "b", ttl: .seconds(10), now: time(0)) // refreshed: now the newest
        _ = core.cacheProviders([], for: "e", ttl: .seconds(10), now: time(0))
        #expect(Set(core.remote.names) == ["b", "d", "e"])
    }

    @Test("pressure shrinks the cache at once and makes the local map refuse new entries")
    func pressureShrink() throws {
        var core = try Self.makeCore(local: 4, cached: 10)
        for index in 0..<10 {
            _ = core.cacheProviders([provider("n\(index)")], for: "s\(index)", ttl: .seconds(Int64(10 + index)), now: time(0))
        }
        for index in 0..<4 {
            _ = core.advertise("l\(index)", provider: provider("me"), ttl: .seconds(100), now: time(0))
        }
        let shrink = core.setPressureScale(0.5, now: time(1))
        #expect(shrink == [.removed(5, .pressure)])
        // The five closest to expiry went.
        #expect(Set(core.remote.names) == Set((5..<10).map { "s\($0)" }))
        #expect(core.remoteUsage().effectiveLimit == 5)
        // Local entries are kept; the local limit is now 2, so new ones are refused, refreshes are not.
        #expect(core.local.count == 4)
        #expect(core.advertise("new", provider: provider("me"), ttl: .seconds(10), now: time(1)) == Step(outcome: .refused(.localLimitReached), metrics: [.rejected(.limitReached)]))
        #expect(core.advertise("l0", provider: provider("me"), ttl: .seconds(10), now: time(1)) == Step(outcome: .refreshed))
        // The cache keeps its reduced limit on insertion.
        #expect(core.cacheProviders([], for: "fresh", ttl: .seconds(100), now: time(1)) == Step(outcome: .added, metrics: [.removed(1, .evicted)]))
        #expect(core.remote.count == 5)
        // Relief restores the limits; nothing comes back, but there is room again.
        #expect(core.setPressureScale(1, now: time(1)).isEmpty)
        #expect(core.usage().effectiveLimit == 14)
        #expect(core.advertise("new", provider: provider("me"), ttl: .seconds(10), now: time(1)) == Step(outcome: .refused(.localLimitReached), metrics: [.rejected(.limitReached)]))
        #expect(core.withdraw("l1", now: time(1)) == Core.Step(outcome: true, metrics: [.removed(1, .removed)]))
        #expect(core.advertise("new", provider: provider("me"), ttl: .seconds(10), now: time(1)) == Step(outcome: .added))
    }

    @Test("a shrink counts victims already past their TTL as expired")
    func shrinkCountsExpired() throws {
        var core = try Self.makeCore(cached: 4)
        _ = core.cacheProviders([], for: "old1", ttl: .seconds(1), now: time(0))
        _ = core.cacheProviders([], for: "old2", ttl: .seconds(2), now: time(0))
        _ = core.cacheProviders([], for: "live1", ttl: .seconds(30), now: time(0))
        _ = core.cacheProviders([], for: "live2", ttl: .seconds(40), now: time(0))
        #expect(try core.setLimits(local: 10, remote: 1, now: time(5)) == [.removed(2, .expired), .removed(1, .evicted)])
        #expect(Array(core.remote.names) == ["live2"])
    }

    @Test("the combined limit is split in the proportion of the configured maxima")
    func limitSplit() throws {
        var core = try Self.makeCore(local: 1_000, cached: 10_000)
        _ = try core.setLimit(5_500, now: time(0))
        #expect(core.localUsage().baseLimit == 500 && core.remoteUsage().baseLimit == 5_000)
        _ = try core.setLimit(11_000, now: time(0))
        #expect(core.localUsage().baseLimit == 1_000 && core.remoteUsage().baseLimit == 10_000)
        _ = try core.setLimit(2, now: time(0))
        #expect(core.localUsage().baseLimit == 1 && core.remoteUsage().baseLimit == 1)
        _ = try core.setLimit(5, now: time(0))
        #expect(core.localUsage().baseLimit == 1 && core.remoteUsage().baseLimit == 4)
        #expect(core.usage().baseLimit == 5)
        #expect(throws: ConfigurationError.self) { _ = try core.setLimit(1, now: time(0)) }
        #expect(core.usage().baseLimit == 5)
        #expect(Core.split(Int.max, configuration: core.configuration) != nil)
        let error = #expect(throws: ConfigurationError.self) {
            _ = try core.setLimits(local: 0, remote: 5, now: time(0))
        }
        #expect(error?.field == "maximumLocalServices")
        #expect(core.usage().baseLimit == 5)
    }

    @Test("lookups put this node first, drop its stale remote copy, and tell a miss from an empty result")
    func lookupOrder() throws {
        var core = try Self.makeCore()
        let me = provider("me")
        let staleMe = provider("me", "quic://old:1")
        #expect(core.providers(for: "echo", now: time(0)) == nil)
        _ = core.cacheProviders([provider("b"), staleMe, provider("a")], for: "echo", ttl: .seconds(60), now: time(0))
        #expect(core.providers(for: "echo", now: time(0)) == [provider("b"), staleMe, provider("a")])
        _ = core.advertise("echo", provider: me, ttl: .seconds(300), now: time(0))
        #expect(core.providers(for: "echo", now: time(0)) == [me, provider("b"), provider("a")])
        // The cache expires first: only this node remains.
        #expect(core.providers(for: "echo", now: time(60)) == [me])
        _ = core.cacheProviders([], for: "nobody", ttl: .seconds(60), now: time(0))
        #expect(core.providers(for: "nobody", now: time(0)) == [])
        #expect(core.providers(for: "nobody", now: time(60)) == nil)
    }

    @Test("a discovery result longer than the per-service maximum is cut, keeping the first ones")
    func truncation() throws {
        var core = try Self.makeCore(providersPerService: 2)
        let all = [provider("a"), provider("b"), provider("c")]
        #expect(core.cacheProviders(all, for: "echo", ttl: .seconds(1), now: time(0)) == Step(outcome: .added, metrics: [.event(.providersTruncated, 1)]))
        #expect(core.providers(for: "echo", now: time(0)) == [provider("a"), provider("b")])
    }

    @Test("withdrawing or invalidating an unknown service is a no-op; a known one reports whether it had expired")
    func removal() throws {
        var core = try Self.makeCore()
        #expect(core.withdraw("nothing", now: time(0)) == Core.Step(outcome: false))
        #expect(core.invalidate("nothing", now: time(0)) == Core.Step(outcome: false))
        _ = core.advertise("a", provider: provider("me"), ttl: .seconds(5), now: time(0))
        _ = core.advertise("b", provider: provider("me"), ttl: .seconds(5), now: time(0))
        _ = core.cacheProviders([], for: "c", ttl: .seconds(5), now: time(0))
        #expect(core.withdraw("a", now: time(4)) == Core.Step(outcome: true, metrics: [.removed(1, .removed)]))
        #expect(core.withdraw("b", now: time(5)) == Core.Step(outcome: true, metrics: [.removed(1, .expired)]))
        #expect(core.invalidate("c", now: time(1)) == Core.Step(outcome: true, metrics: [.removed(1, .removed)]))
        #expect(core.size == 0 && core.local.expiries.isEmpty && core.remote.expiries.isEmpty)
        #expect(core.pruneExpired(now: time(100)).outcome == 0)
    }

    @Test("prune removes exactly the expired entries of both maps and nothing else")
    func pruneBothMaps() throws {
        var core = try Self.makeCore()
        for index in 0..<100 {
            _ = core.advertise("l\(index)", provider: provider("me"), ttl: .seconds(Int64(index + 1)), now: time(0))
            _ = core.cacheProviders([], for: "r\(index)", ttl: .seconds(Int64(index + 1)), now: time(0))
        }
        #expect(core.pruneExpired(now: time(0)).outcome == 0)
        #expect(core.pruneExpired(now: time(30)) == Core.Step(outcome: 60, metrics: [.removed(60, .expired)]))
        #expect(core.local.count == 70 && core.remote.count == 70)
        #expect(core.local.names.allSatisfy { Int($0.dropFirst())! >= 30 })
        #expect(core.usage().highWaterMark == 200)
        #expect(core.usage().size == 140)
    }

    @Test("the high-water mark and sizes add up across the two maps")
    func usageSums() throws {
        var core = try Self.makeCore(local: 3, cached: 7)
        _ = core.advertise("a", provider: provider("me"), ttl: .seconds(5), now: time(0))
        _ = core.cacheProviders([], for: "b", ttl: .seconds(5), now: time(0))
        _ = core.cacheProviders([], for: "c", ttl: .seconds(5), now: time(0))
        let usage = core.usage()
        #expect(usage.size == 3 && usage.effectiveLimit == 10 && usage.baseLimit == 10 && usage.highWaterMark == 3)
        #expect(core.localUsage().size == 1 && core.remoteUsage().size == 2)
    }

    // MARK: One advertisement per provider

    @Test("providers advertised one at a time are merged by node ID, each with its own expiry")
    func perProviderMerge() throws {
        var core = try Self.makeCore()
        #expect(core.cacheProvider(provider("b"), for: "echo", ttl: .seconds(10), now: time(0)) == Step(outcome: .added))
        #expect(core.cacheProvider(provider("c"), for: "echo", ttl: .seconds(10), now: time(2)) == Step(outcome: .refreshed))
        #expect(core.cacheProvider(provider("d"), for: "echo", ttl: .seconds(10), now: time(4)) == Step(outcome: .refreshed))
        #expect(core.providers(for: "echo", now: time(4)) == [provider("b"), provider("c"), provider("d")])
        // b re-advertises with a new address: replaced in place, not appended.
        #expect(core.cacheProvider(provider("b", "quic://b:5000"), for: "echo", ttl: .seconds(10), now: time(5)) == Step(outcome: .refreshed))
        #expect(core.providers(for: "echo", now: time(5)) == [provider("b", "quic://b:5000"), provider("c"), provider("d")])
        #expect(core.remote.count == 1)
        // c stops advertising: gone at its own expiry (12), although b and d advertised later.
        #expect(core.providers(for: "echo", now: time(12)) == [provider("b", "quic://b:5000"), provider("d")])
        #expect(core.providers(for: "echo", now: time(14)) == [provider("b", "quic://b:5000")])
        #expect(core.cacheExpiry(of: "echo") == time(15))
        // The entry goes when its last provider expires.
        #expect(core.providers(for: "echo", now: time(15)) == nil)
        #expect(core.pruneExpired(now: time(14)) == Core.Step(outcome: 0))
        #expect(core.pruneExpired(now: time(15)) == Core.Step(outcome: 1, metrics: [.removed(1, .expired)]))
        #expect(core.remote.count == 0)
    }

    @Test("a shorter re-advertisement moves the entry's expiry back to its latest remaining provider")
    func entryExpiryFollowsLatestProvider() throws {
        var core = try Self.makeCore()
        _ = core.cacheProvider(provider("b"), for: "echo", ttl: .seconds(30), now: time(0))
        _ = core.cacheProvider(provider("c"), for: "echo", ttl: .seconds(10), now: time(0))
        _ = core.cacheProvider(provider("b"), for: "echo", ttl: .seconds(5), now: time(1))
        #expect(core.cacheExpiry(of: "echo") == time(10))
        #expect(core.providers(for: "echo", now: time(6)) == [provider("c")])
        #expect(core.pruneExpired(now: time(10)) == Core.Step(outcome: 1, metrics: [.removed(1, .expired)]))
    }

    @Test("at the per-service maximum the provider closest to expiry makes room; expired ones first go for free")
    func perServiceBound() throws {
        var core = try Self.makeCore(providersPerService: 2)
        _ = core.cacheProvider(provider("b"), for: "echo", ttl: .seconds(20), now: time(0))
        _ = core.cacheProvider(provider("c"), for: "echo", ttl: .seconds(10), now: time(0))
        // Full: c (closest to expiry) makes room for d, counted once.
        #expect(core.cacheProvider(provider("d"), for: "echo", ttl: .seconds(20), now: time(1))
            == Step(outcome: .refreshed, metrics: [.event(.providersTruncated, 1)]))
        #expect(core.providers(for: "echo", now: time(1)) == [provider("b"), provider("d")])
        // A refresh of a provider already there never drops another.
        #expect(core.cacheProvider(provider("b"), for: "echo", ttl: .seconds(20), now: time(2)) == Step(outcome: .refreshed))
        // Once d has expired, e takes its place without dropping a live provider.
        #expect(core.cacheProvider(provider("e"), for: "echo", ttl: .seconds(5), now: time(21)) == Step(outcome: .refreshed))
        #expect(core.providers(for: "echo", now: time(21)) == [provider("b"), provider("e")])
    }

    @Test("cacheProvider refuses an invalid TTL and changes nothing; cacheProviders replaces a merged list")
    func mergeAndReplace() throws {
        var core = try Self.makeCore()
        _ = core.cacheProvider(provider("b"), for: "echo", ttl: .seconds(10), now: time(0))
        #expect(core.cacheProvider(provider("c"), for: "echo", ttl: .zero, now: time(0)) == Step(outcome: .refused(.invalidTTL)))
        #expect(core.providers(for: "echo", now: time(0)) == [provider("b")])
        _ = core.cacheProviders([provider("x")], for: "echo", ttl: .seconds(3), now: time(1))
        #expect(core.providers(for: "echo", now: time(1)) == [provider("x")])
        _ = core.cacheProvider(provider("y"), for: "echo", ttl: .seconds(10), now: time(2))
        #expect(core.providers(for: "echo", now: time(4)) == [provider("y")])
    }

    @Test("a new service merged into a full cache evicts like a discovery result")
    func mergeEvicts() throws {
        var core = try Self.makeCore(cached: 1)
        _ = core.cacheProvider(provider("b"), for: "one", ttl: .seconds(10), now: time(0))
        #expect(core.cacheProvider(provider("b"), for: "two", ttl: .seconds(10), now: time(1)) == Step(outcome: .added, metrics: [.removed(1, .evicted)]))
        #expect(core.providers(for: "one", now: time(1)) == nil)
    }
}
