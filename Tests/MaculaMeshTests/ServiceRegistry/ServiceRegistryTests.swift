import MaculaTesting
import Testing

@testable import MaculaMesh

@Suite("ServiceRegistry actor", .timeLimit(.minutes(3)))
struct ServiceRegistryTests {
    static func makeRegistry(
        local: Int = 1_000,
        cached: Int = 10_000,
        clock: ManualClock = ManualClock(),
        metrics: RecordingMemoryMetrics = RecordingMemoryMetrics()
    ) throws -> ServiceRegistry {
        var configuration = ServiceRegistryConfiguration()
        configuration.maximumLocalServices = local
        configuration.maximumCachedServices = cached
        return try ServiceRegistry(configuration: configuration, clock: clock, metrics: metrics)
    }

    @Test("lookups follow the clock: an expired entry is never returned, even before a prune")
    func expiryOnTheClock() async throws {
        let clock = ManualClock()
        let registry = try Self.makeRegistry(clock: clock)
        let me = provider("me")
        try await registry.advertise("echo", provider: me)
        try await registry.cacheProviders([provider("other")], for: "echo")
        #expect(await registry.providers(for: "echo") == [me, provider("other")])
        clock.advance(by: .seconds(60))  // cache TTL (60 s) is over, local (300 s) is not
        #expect(await registry.providers(for: "echo") == [me])
        #expect(await registry.cachedProviders(for: "echo") == [me])
        clock.advance(by: .seconds(240))
        #expect(await registry.providers(for: "echo") == [])
        #expect(await registry.cachedProviders(for: "echo") == nil)
        #expect(await registry.localProvider(for: "echo") == nil)
        #expect(await registry.localServices() == [])
        #expect(await registry.memoryUsage().size == 2)
        #expect(await registry.prune() == 2)
        #expect(await registry.memoryUsage().size == 0)
    }

    @Test("B, C and D advertising one service each keep their own TTL on the clock")
    func perProviderAdvertisements() async throws {
        let clock = ManualClock()
        let registry = try Self.makeRegistry(clock: clock)
        for node in ["b", "c", "d"] {
            try await registry.cacheProvider(provider(node), for: "echo", ttl: .seconds(10))
            clock.advance(by: .seconds(1))
        }
        #expect(await registry.providers(for: "echo") == [provider("b"), provider("c"), provider("d")])
        // b and d keep advertising, c has died.
        clock.advance(by: .seconds(5))
        try await registry.cacheProvider(provider("b"), for: "echo", ttl: .seconds(10))
        try await registry.cacheProvider(provider("d"), for: "echo", ttl: .seconds(10))
        clock.advance(by: .seconds(3))  // 11 s after c's advertisement
        #expect(await registry.providers(for: "echo") == [provider("b"), provider("d")])
        #expect(await registry.cachedServiceCount == 1)
        clock.advance(by: .seconds(10))
        #expect(await registry.cachedProviders(for: "echo") == nil)
        #expect(await registry.prune() == 1)
    }

    @Test("removals, evictions, pressure and rejections reach the metrics with their reasons")
    func metrics() async throws {
        let clock = ManualClock()
        let metrics = RecordingMemoryMetrics()
        let registry = try Self.makeRegistry(local: 2, cached: 4, clock: clock, metrics: metrics)
        try await registry.advertise("a", provider: provider("me"))
        try await registry.advertise("b", provider: provider("me"))
        await #expect(throws: ServiceRegistryError.localLimitReached) {
            try await registry.advertise("c", provider: provider("me"))
        }
        #expect(metrics.rejected(.limitReached) == 1)
        #expect(await registry.withdraw("a"))
        #expect(await !registry.withdraw("a"))
        #expect(metrics.removed(.removed) == 1)
        for index in 0..<5 {
            try await registry.cacheProviders([], for: "s\(index)", ttl: .seconds(Int64(10 + index)))
        }
        #expect(metrics.removed(.evicted) == 1)
        await registry.setPressureScale(0.5)
        #expect(await registry.cachedServiceCount == 2)
        #expect(metrics.removed(.pressure) == 2)
        try await registry.setLimits(local: 2, cached: 1)
        #expect(metrics.removed(.evicted) == 2)
        #expect(await registry.invalidate("s4"))
        #expect(await !registry.invalidate("s4"))
        #expect(metrics.removed(.removed) == 2)
        clock.advance(by: .seconds(1_000))
        #expect(await registry.prune() == 1)
        #expect(metrics.removed(.expired) == 1)
        try await registry.cacheProviders(Array(repeating: provider("x"), count: 150), for: "big")
        #expect(metrics.count(.providersTruncated, component: "service_registry") == 50)
    }

    @Test("errors are typed, compare by code, and say what to do")
    func errors() async throws {
        let registry = try Self.makeRegistry(local: 1)
        let invalid = await #expect(throws: ServiceRegistryError.invalidTTL) {
            try await registry.advertise("echo", provider: provider("me"), ttl: .zero)
        }
        #expect(invalid?.service == "echo")
        #expect(invalid?.description.contains("greater than zero") == true)
        await #expect(throws: ServiceRegistryError.invalidTTL) {
            try await registry.cacheProviders([], for: "echo", ttl: .seconds(-5))
        }
        try await registry.advertise("a", provider: provider("me"))
        let full = await #expect(throws: ServiceRegistryError.localLimitReached) {
            try await registry.advertise("b", provider: provider("me"))
        }
        #expect(full?.description.contains("maximumLocalServices") == true)
        #expect(ServiceRegistryError.invalidTTL != ServiceRegistryError.localLimitReached)
    }

    @Test("bad configuration throws a ConfigurationError naming the field")
    func configurationValidation() throws {
        func field(_ change: (inout ServiceRegistryConfiguration) -> Void) -> String? {
            var configuration = ServiceRegistryConfiguration()
            change(&configuration)
            do {
                _ = try ServiceRegistry(configuration: configuration, clock: ManualClock())
                return nil
            } catch {
                return error.field
            }
        }
        #expect(field { _ in } == nil)
        #expect(field { $0.maximumLocalServices = 0 } == "maximumLocalServices")
        #expect(field { $0.maximumCachedServices = -1 } == "maximumCachedServices")
        #expect(field { $0.maximumProvidersPerService = 0 } == "maximumProvidersPerService")
        #expect(field { $0.localTTL = .zero } == "localTTL")
        #expect(field { $0.cacheTTL = .seconds(-1) } == "cacheTTL")
        #expect(field { $0.cacheTTL = ConfigurationError.maximumDuration * 2 } == "cacheTTL")
    }

    @Test("the MemoryManaged view is the sum of both maps; setLimit splits, scale applies to both")
    func memoryManaged() async throws {
        let registry: any MemoryManaged = try Self.makeRegistry(local: 100, cached: 900)
        #expect(registry.componentName == "service_registry")
        var usage = await registry.memoryUsage()
        #expect(usage.baseLimit == 1_000 && usage.effectiveLimit == 1_000 && usage.size == 0)
        try await registry.setLimit(500)
        usage = await registry.memoryUsage()
        #expect(usage.baseLimit == 500)
        await registry.setPressureScale(0.5)
        usage = await registry.memoryUsage()
        #expect(usage.effectiveLimit == 250 && usage.pressureScale == 0.5)
        await #expect(throws: ConfigurationError.self) { try await registry.setLimit(1) }
    }

    @Test("the ContinuousClock initializer works end to end")
    func continuousClock() async throws {
        let registry = try ServiceRegistry()
        try await registry.advertise("echo", provider: provider("me"))
        #expect(await registry.providers(for: "echo") == [provider("me")])
        #expect(await registry.localServices() == ["echo"])
        #expect(await registry.prune() == 0)
    }

    @Test("many tasks hammering one registry leave it within its limits and consistent")
    func hammer() async throws {
        let registry = try Self.makeRegistry(local: 50, cached: 100)
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var random = SplitMix64(seed: UInt64(worker))
                    for step in 0..<2_000 {
                        let service = "s\(random.next() % 200)"
                        switch random.next() % 6 {
                        case 0: try? await registry.advertise(service, provider: provider("w\(worker)"))
                        case 1: await registry.withdraw(service)
                        case 2: try? await registry.cacheProviders([provider("n\(step)")], for: service)
                        case 3: await registry.invalidate(service)
                        case 4: _ = await registry.providers(for: service)
                        default: await registry.setPressureScale(random.next() % 2 == 0 ? 1 : 0.5)
                        }
                    }
                }
            }
        }
        await registry.setPressureScale(1)
        #expect(await registry.localServiceCount <= 50)
        #expect(await registry.cachedServiceCount <= 100)
        let usage = await registry.memoryUsage()
        #expect(usage.size == (await registry.localServiceCount) + (await registry.cachedServiceCount))
    }
}
