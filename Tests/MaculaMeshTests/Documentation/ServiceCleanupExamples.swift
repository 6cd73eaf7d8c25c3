import MaculaMesh
import MaculaTesting
import Testing

/// The Swift examples of architecture/memory_management_service_cleanup.md, compiled and run.
@Suite("Documentation examples: service cleanup", .timeLimit(.minutes(3)))
struct ServiceCleanupExamples {
    @Test("an advertised service survives, an unmanaged one is pruned")
    func serviceCleanup() async throws {
        let clock = ManualClock()
        let publisher = RecordingServicePublisher()
        let log = RecordingComponentLog()
        let here = ServiceProvider(nodeID: "node-a", address: "10.0.0.1:4433")
        // snippet: service-cleanup
        let registry = try ServiceRegistry(clock: clock)              // local TTL 300 s, cache TTL 60 s
        let manager = try AdvertisementManager(log: log, registry: registry, publisher: publisher)
        try await manager.advertise("billing.charge", provider: here) // re-advertised every 150 s
        try await registry.advertise("legacy.report", provider: here) // nobody keeps this one alive
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await manager.run() }                 // one sleeper: cleanup + re-advertise
            while clock.now.offset < .seconds(360) {                  // a test's 360 s on the manual clock
                clock.advance(to: await clock.nextSleep())
            }
            // snippet-pause
            #expect(await registry.providers(for: "billing.charge") == [here])
            #expect(await registry.providers(for: "legacy.report").isEmpty)
            #expect(await registry.localServiceCount == 1)
            #expect(log.events(of: .cleanupFinished).contains { $0.level == .info && $0.metadata["removed"] == "1" })
            // snippet-resume
            group.cancelAll()                                         // stop: run() cancels its publishes
            try await group.waitForAll()                              // … and returns once they are done
        }
        // end-snippet
        #expect(publisher.publishCount(of: "billing.charge") >= 2)
    }
}
