import MaculaTesting
import Testing

@testable import MaculaMesh

private struct Outage: Error, CustomStringConvertible {
    var description: String { "mesh unreachable" }
}

/// A registry, a manager over it, a recording publisher and log, all on one manual clock.
private struct Fixture {
    let clock = ManualClock()
    let registry: ServiceRegistry
    let publisher: RecordingServicePublisher
    let log = RecordingComponentLog()
    let metrics = RecordingMemoryMetrics()
    let manager: AdvertisementManager

    init(
        behavior: RecordingServicePublisher.Behavior = .succeed,
        localLimit: Int = 1_000,
        configure: (inout AdvertisementManagerConfiguration) -> Void = { _ in }
    ) throws {
        var registryConfiguration = ServiceRegistryConfiguration()
        registryConfiguration.maximumLocalServices = localLimit
        registry = try ServiceRegistry(configuration: registryConfiguration, clock: clock, metrics: metrics)
        publisher = RecordingServicePublisher(behavior: behavior)
        var configuration = AdvertisementManagerConfiguration()
        configure(&configuration)
        manager = try AdvertisementManager(configuration: configuration, metrics: metrics, log: log, registry: registry, publisher: publisher)
    }

    /// Waits until the loop goes to sleep towards exactly `deadline` (skipping other reports).
    func waitForSleep(at deadline: ManualClock.Instant) async {
        while await clock.nextSleep() != deadline {}
    }

    /// Moves the clock to `deadline` the way time passes: each time the loop is asleep, to its next
    /// wake-up, so every deadline on the way is handled at its own instant. Returns once the loop
    /// has gone to sleep towards `deadline` or beyond it, with the clock at `deadline`.
    func advance(to deadline: ManualClock.Instant) async {
        while true {
            let next = await clock.nextSleep()
            if next >= deadline {
                clock.advance(to: deadline)
                return
            }
            clock.advance(to: next)
        }
    }
}

private let me = provider("me")

@Suite("AdvertisementManager actor", .timeLimit(.minutes(3)))
struct AdvertisementManagerTests {
    @Test("advancing the clock by the cleanup interval prunes exactly once and logs the count")
    func cleanupTick() async throws {
        let fixture = try Fixture()
        try await fixture.registry.advertise("stale", provider: me, ttl: .seconds(30))
        let loop = Task { try await fixture.manager.run() }
        #expect(await fixture.clock.nextSleep() == instant(60))
        fixture.clock.advance(by: .seconds(60))
        let event = await fixture.log.nextEvent(of: .cleanupFinished)
        #expect(event.level == .info)
        #expect(event.metadata["removed"] == "1" && event.component == "advertisement_manager")
        // Asleep again towards the next tick: exactly one pass ran.
        #expect(await fixture.clock.nextSleep() == instant(120))
        #expect(fixture.log.events(of: .cleanupFinished).count == 1)
        #expect(await fixture.registry.localServiceCount == 0)
        #expect(fixture.metrics.removed(.expired) == 1)
        fixture.clock.advance(by: .seconds(60))
        let quiet = await fixture.log.nextEvent(of: .cleanupFinished)
        #expect(quiet.level == .debug && quiet.metadata["removed"] == "0")
        #expect(fixture.metrics.count(.cleanupPass, component: "advertisement_manager") == 2)
        loop.cancel()
        try await loop.value
    }

    @Test("cancelling run() ends the loop cleanly; it can run again, but not twice at once")
    func cancellation() async throws {
        let fixture = try Fixture()
        let loop = Task { try await fixture.manager.run() }
        #expect(await fixture.clock.nextSleep() == instant(60))
        await #expect(throws: AdvertisementError.alreadyRunning) { try await fixture.manager.run() }
        loop.cancel()
        try await loop.value
        #expect(fixture.clock.sleeperCount == 0)
        // Not running: time passes, nothing fires.
        fixture.clock.advance(by: .seconds(600))
        #expect(fixture.log.events.isEmpty)
        let again = Task { try await fixture.manager.run() }
        #expect(await fixture.clock.nextSleep() == instant(660))
        again.cancel()
        try await again.value
    }

    @Test("an actively advertised service survives ten TTLs; an unmanaged one is gone within one interval after its TTL")
    func survivesTenTTLs() async throws {
        let fixture = try Fixture()
        try await fixture.manager.advertise("echo", provider: me)
        try await fixture.registry.advertise("direct", provider: me, ttl: .seconds(250))
        let loop = Task { try await fixture.manager.run() }
        let end = instant(3_000)  // ten TTLs of 300 s
        while fixture.clock.now < end {
            let next = await fixture.clock.nextSleep()
            // The loop is asleep: everything due until now has been handled.
            let now = fixture.clock.now
            #expect(await fixture.registry.providers(for: "echo") == [me], "at \(now)")
            let expiry = try #require(await fixture.registry.localExpiry(of: "echo"))
            #expect(expiry > next.offset, "echo would expire before the loop wakes again (at \(now))")
            if now >= instant(250) {
                #expect(await fixture.registry.localProvider(for: "direct") == nil)
            }
            if now >= instant(250 + 60) {
                #expect(await fixture.registry.localExpiry(of: "direct") == nil, "still stored at \(now)")
            }
            fixture.clock.advance(to: max(next, now))
        }
        // Published at 0, 150, …: at least twenty publishes of echo by 3,000 s.
        for _ in 0..<20 {
            #expect(await fixture.publisher.nextAttempt().service == "echo")
        }
        loop.cancel()
        try await loop.value
        #expect(await fixture.registry.localServices() == ["echo"])
    }

    @Test("unadvertising stops re-advertising at once and withdraws the local advertisement")
    func unadvertise() async throws {
        let fixture = try Fixture()
        try await fixture.manager.advertise("a", provider: me)
        try await fixture.manager.advertise("b", provider: me)
        let loop = Task { try await fixture.manager.run() }
        let first = Set([await fixture.publisher.nextAttempt().service, await fixture.publisher.nextAttempt().service])
        #expect(first == ["a", "b"])
        // Both publishes have reported back before time moves (so neither can time out).
        let done = Set([await fixture.log.nextEvent(of: .published), await fixture.log.nextEvent(of: .published)].map { $0.metadata["service"] })
        #expect(done == ["a", "b"])
        await fixture.advance(to: instant(60))
        #expect(await fixture.manager.withdraw("b"))
        #expect(await !fixture.manager.withdraw("b"))
        #expect(await !fixture.manager.withdraw("never"))
        #expect(await fixture.registry.providers(for: "b") == [])
        #expect(await fixture.registry.localExpiry(of: "b") == nil)
        #expect(await fixture.manager.advertisement(for: "b") == nil)
        #expect(fixture.metrics.removed(.removed, component: "advertisement_manager") == 1)
        // Until 900 s, "a" is published every 150 s and "b" never again.
        var now = instant(60)
        while now < instant(900) {
            now = await fixture.clock.nextSleep()
            fixture.clock.advance(to: now)
        }
        for _ in 0..<5 {
            #expect(await fixture.publisher.nextAttempt().service == "a")
        }
        #expect(fixture.publisher.attempts.filter { $0.service == "b" }.count == 1)
        #expect(await fixture.registry.providers(for: "a") == [me])
        loop.cancel()
        try await loop.value
    }

    @Test("a failing publish is retried with back-off while the local TTL keeps being refreshed")
    func failureBackOff() async throws {
        let fixture = try Fixture(behavior: .hold)
        try await fixture.manager.advertise("echo", provider: me)
        let loop = Task { try await fixture.manager.run() }
        var attemptAt = instant(0)
        for (failures, delay) in [(1, 5), (2, 10), (3, 20)] {
            #expect(await fixture.publisher.nextAttempt().service == "echo")
            fixture.publisher.completeHeld(with: .failure(Outage()))
            let event = await fixture.log.nextEvent(of: .publishFailed)
            #expect(event.level == .warning)
            #expect(event.metadata["failures"] == "\(failures)" && event.metadata["retry_in"] == "\(Duration.seconds(delay))")
            #expect(event.metadata["error"] == "mesh unreachable")
            attemptAt = attemptAt.advanced(by: .seconds(Int64(delay)))
            await fixture.advance(to: attemptAt)
        }
        // The fourth attempt succeeds; the schedule returns to every 150 s.
        #expect(await fixture.publisher.nextAttempt().service == "echo")
        fixture.publisher.completeHeld(with: .success(()))
        #expect(await fixture.log.nextEvent(of: .published).metadata["service"] == "echo")
        #expect(fixture.metrics.count(.advertisementPublishFailed, component: "advertisement_manager") == 3)
        #expect(await fixture.registry.providers(for: "echo") == [me])
        await fixture.advance(to: attemptAt.advanced(by: .seconds(150)))
        #expect(await fixture.publisher.nextAttempt().service == "echo")
        fixture.publisher.completeHeld()
        #expect(fixture.publisher.publishCount(of: "echo") == 2)
        loop.cancel()
        try await loop.value
    }

    @Test("a publish that outlives the timeout is cancelled, logged and retried")
    func publishTimeout() async throws {
        let fixture = try Fixture(behavior: .hold)
        try await fixture.manager.advertise("echo", provider: me)
        let loop = Task { try await fixture.manager.run() }
        #expect(await fixture.publisher.nextAttempt().service == "echo")
        await fixture.advance(to: instant(30))
        let event = await fixture.log.nextEvent(of: .publishTimedOut)
        #expect(event.level == .warning && event.metadata["service"] == "echo")
        // The held publish saw the cancellation; its end (at 30 s: the clock has not moved)
        // schedules the retry 5 s later and wakes the loop for it.
        await fixture.waitForSleep(at: instant(35))
        fixture.clock.advance(to: instant(35))
        #expect(await fixture.publisher.nextAttempt().service == "echo")
        #expect(fixture.publisher.cancelled.map(\.service) == ["echo"])
        #expect(fixture.metrics.count(.advertisementPublishTimedOut, component: "advertisement_manager") == 1)
        fixture.publisher.completeHeld()
        loop.cancel()
        try await loop.value
    }

    @Test("advertising a changed provider cancels the publish in flight and publishes the new one")
    func supersede() async throws {
        let fixture = try Fixture(behavior: .hold)
        try await fixture.manager.advertise("echo", provider: me)
        let loop = Task { try await fixture.manager.run() }
        #expect(await fixture.publisher.nextAttempt().provider == me)
        let moved = provider("me", "quic://10.0.0.2:4433")
        try await fixture.manager.advertise("echo", provider: moved)
        #expect(await fixture.registry.localProvider(for: "echo") == moved)
        #expect(await fixture.publisher.nextAttempt().provider == moved)
        #expect(fixture.publisher.cancelled.map(\.provider) == [me])
        fixture.publisher.completeHeld()
        #expect(fixture.publisher.published.map(\.provider) == [moved])
        loop.cancel()
        try await loop.value
    }

    @Test("advertising a service again while its unadvertised publish still runs starts no second publish")
    func readvertiseWaitsForTheRunningPublish() async throws {
        let fixture = try Fixture(behavior: .holdIgnoringCancellation)
        try await fixture.manager.advertise("echo", provider: me)
        let loop = Task { try await fixture.manager.run() }
        #expect(await fixture.publisher.nextAttempt().provider == me)
        // Asleep towards the publish's timeout.
        #expect(await fixture.clock.nextSleep() == instant(30))
        for _ in 1...5 {
            // The publish is told to abort but ignores it; advertising again wakes the loop,
            // which only refreshes: the running publish is the service's one attempt.
            await fixture.manager.withdraw("echo")
            try await fixture.manager.advertise("echo", provider: me)
            #expect(await fixture.clock.nextSleep() == instant(60), "a second publish would sleep towards its timeout")
            #expect(fixture.publisher.attempts.count == 1 && fixture.publisher.heldCount == 1)
        }
        // When it finally returns, the advertisement is published again at once.
        fixture.publisher.setBehavior(.succeed)
        fixture.publisher.completeHeld()
        #expect(await fixture.publisher.nextAttempt().provider == me)
        #expect(fixture.publisher.attempts.count == 2)
        loop.cancel()
        try await loop.value
    }

    @Test("ending run() cancels and awaits every publish in flight; the next run publishes again")
    func runEndCancelsPublishes() async throws {
        let fixture = try Fixture(behavior: .hold)
        try await fixture.manager.advertise("echo", provider: me)
        let loop = Task { try await fixture.manager.run() }
        _ = await fixture.publisher.nextAttempt()
        loop.cancel()
        try await loop.value
        #expect(fixture.publisher.heldCount == 0)
        #expect(fixture.publisher.cancelled.map(\.service) == ["echo"])
        let again = Task { try await fixture.manager.run() }
        #expect(await fixture.publisher.nextAttempt().service == "echo")
        again.cancel()
        try await again.value
    }

    @Test("limits and TTLs are checked; nothing is kept when the manager or the registry refuses")
    func refusals() async throws {
        let fixture = try Fixture(localLimit: 2) { $0.maximumAdvertisements = 3 }
        let tooShort = await #expect(throws: AdvertisementError.invalidTTL) {
            try await fixture.manager.advertise("a", provider: me, ttl: .seconds(150))
        }
        #expect(tooShort?.description.contains("reAdvertiseInterval") == true)
        try await fixture.manager.advertise("a", provider: me)
        try await fixture.manager.advertise("b", provider: me, ttl: .seconds(200))
        // The registry's local limit (2) refuses the third.
        let full = await #expect(throws: AdvertisementError.limitReached) {
            try await fixture.manager.advertise("c", provider: me)
        }
        #expect(full?.description.contains("maximumLocalServices") == true)
        #expect(await fixture.manager.advertisement(for: "c") == nil)
        #expect(await fixture.manager.advertisements().count == 2)
        // Pressure on the manager: its limit is now 1, new advertisements are refused, refreshes are not.
        await fixture.manager.setPressureScale(0.5)
        try await fixture.manager.advertise("a", provider: me)
        #expect(await fixture.manager.withdraw("b"))
        await #expect(throws: AdvertisementError.limitReached) {
            try await fixture.manager.advertise("d", provider: me)
        }
        #expect(fixture.metrics.rejected(.limitReached, component: "advertisement_manager") == 1)
        let usage = await fixture.manager.memoryUsage()
        #expect(usage.size == 1 && usage.effectiveLimit == 1 && usage.baseLimit == 3 && usage.highWaterMark == 2)
        try await fixture.manager.setLimit(10)
        await #expect(throws: ConfigurationError.self) { try await fixture.manager.setLimit(0) }
        #expect(await fixture.manager.prune() == 0)
    }

    @Test("bad configuration throws a ConfigurationError naming the field")
    func configurationValidation() throws {
        func field(_ change: (inout AdvertisementManagerConfiguration) -> Void) -> String? {
            var configuration = AdvertisementManagerConfiguration()
            change(&configuration)
            do {
                let registry = try ServiceRegistry(clock: ManualClock())
                _ = try AdvertisementManager(configuration: configuration, registry: registry, publisher: RecordingServicePublisher())
                return nil
            } catch {
                return error.field
            }
        }
        #expect(field { _ in } == nil)
        #expect(field { $0.cleanupInterval = .zero } == "cleanupInterval")
        #expect(field { $0.advertisementTTL = .seconds(-1) } == "advertisementTTL")
        #expect(field { $0.reAdvertiseInterval = .zero } == "reAdvertiseInterval")
        #expect(field { $0.reAdvertiseInterval = .seconds(300) } == "reAdvertiseInterval")
        #expect(field { $0.publishTimeout = .zero } == "publishTimeout")
        #expect(field { $0.publishRetryDelay = .seconds(-5) } == "publishRetryDelay")
        #expect(field { $0.maximumAdvertisements = 0 } == "maximumAdvertisements")
    }

    @Test("concurrent advertise and unadvertise calls keep the manager and the registry in agreement")
    func hammer() async throws {
        let fixture = try Fixture()
        let loop = Task { try await fixture.manager.run() }
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var random = SplitMix64(seed: 0xAD00 + UInt64(worker))
                    for _ in 0..<500 {
                        let service = "s\(random.next() % 30)"
                        if random.next() % 3 == 0 {
                            await fixture.manager.withdraw(service)
                        } else {
                            try? await fixture.manager.advertise(service, provider: provider("n\(random.next() % 3)"))
                        }
                    }
                }
            }
            group.addTask {
                for _ in 0..<10 { fixture.clock.advance(by: .seconds(10)) }
            }
        }
        let kept = Set(await fixture.manager.advertisements().map(\.service))
        #expect(Set(await fixture.registry.localServices()) == kept)
        for service in kept {
            #expect(await fixture.registry.localProvider(for: service) == fixture.manager.advertisement(for: service)?.provider)
        }
        for service in kept { await fixture.manager.withdraw(service) }
        #expect(await fixture.manager.memoryUsage().size == 0)
        #expect(await fixture.registry.localServiceCount == 0)
        loop.cancel()
        try await loop.value
        #expect(fixture.publisher.heldCount == 0)
    }
}
