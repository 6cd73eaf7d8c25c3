import Foundation
import MaculaMemory
import MaculaTesting
import Testing

@Suite("MemoryMetricsRegistry", .timeLimit(.minutes(3)))
struct MemoryMetricsRegistryTests {
    @Test("the snapshot pulls usage from components and counts pushed events")
    func snapshot() async throws {
        let registry = MemoryMetricsRegistry()
        let pool = try FakeComponent(name: "gateway_mesh", limit: 10, entries: 4)
        try registry.register(pool)
        registry.entriesRemoved(3, reason: .evicted, component: "gateway_mesh")
        registry.entriesRemoved(2, reason: .evicted, component: "gateway_mesh")
        registry.entriesRemoved(0, reason: .dead, component: "gateway_mesh")
        registry.requestRejected(reason: .limitReached, component: "client_manager")
        registry.eventRecorded(MemoryEvent("late_reply"), count: 2, component: "rpc_handler")

        let snapshot = await registry.snapshot()
        #expect(snapshot.components.map(\.name) == ["client_manager", "gateway_mesh", "rpc_handler"])
        let mesh = try #require(snapshot.component(named: "gateway_mesh"))
        #expect(mesh.usage?.size == 4)
        #expect(mesh.usage?.effectiveLimit == 10)
        #expect(mesh.removals == [.evicted: 5])
        #expect(mesh.totalRemovals == 5)
        #expect(snapshot.component(named: "client_manager")?.usage == nil)
        #expect(snapshot.component(named: "client_manager")?.rejections == [.limitReached: 1])
        #expect(snapshot.component(named: "rpc_handler")?.events == [MemoryEvent("late_reply"): 2])
    }

    @Test("two live components cannot share a name; a dead one frees it")
    func uniqueNames() async throws {
        let registry = MemoryMetricsRegistry()
        let first = try FakeComponent(name: "gateway_mesh", limit: 10)
        try registry.register(first)
        try registry.register(first)
        #expect(throws: ConfigurationError(field: "componentName", rule: "must be unique in the registry", value: "gateway_mesh")) {
            try registry.register(try FakeComponent(name: "gateway_mesh", limit: 10))
        }
        var transient: FakeComponent? = try FakeComponent(name: "transient", limit: 1)
        try registry.register(transient!)
        transient = nil
        #expect(await registry.snapshot().component(named: "transient") == nil)
        try registry.register(try FakeComponent(name: "transient", limit: 1))
        registry.unregister(first)
        #expect(await registry.snapshot().component(named: "gateway_mesh") == nil)
    }

    @Test("the exposition parses back to the snapshot's values, with HELP and TYPE for every family")
    func exposition() async throws {
        let registry = MemoryMetricsRegistry()
        let component = try FakeComponent(name: "pool \"a\"\\b\nc", limit: 1_000, entries: 12)
        try registry.register(component)
        await component.setPressureScale(0.9)
        registry.entriesRemoved(7, reason: .pressure, component: component.componentName)
        registry.requestRejected(reason: .waitersLimitReached, component: component.componentName)
        registry.eventRecorded(MemoryEvent("failover"), count: 3, component: component.componentName)
        registry.pressureLevelChanged(from: .normal, to: .medium, reading: MemoryReading(usedBytes: 850, limitBytes: 1_000))
        // The longest name accepted, all of it characters the exposition must escape, and an open
        // reason and event spelled the same way.
        let hostile = String(repeating: "\"\\\n{}=, ", count: ConfigurationError.maximumNameLength / 8)
        #expect(hostile.utf8.count == ConfigurationError.maximumNameLength)
        let longest = try FakeComponent(name: hostile, limit: 5, entries: 2)
        try registry.register(longest)
        registry.entriesRemoved(1, reason: RemovalReason(hostile), component: hostile)
        registry.eventRecorded(MemoryEvent(hostile), count: 2, component: hostile)

        let text = await registry.prometheusText()
        #expect(text.hasSuffix("\n"))
        #expect(text.contains(#"component="pool \"a\"\\b\nc""#))
        let samples = PrometheusSamples(parsing: text)
        #expect(samples.problems.isEmpty, "\(samples.problems)")
        let labels = ["component": component.componentName]
        #expect(samples["macula_component_entries", labels] == 12)
        #expect(samples["macula_component_limit_entries", labels] == 900)
        #expect(samples["macula_component_base_limit_entries", labels] == 1_000)
        #expect(samples["macula_component_high_water_mark_entries", labels] == 12)
        #expect(samples["macula_component_pressure_scale_ratio", labels] == 0.9)
        #expect(samples["macula_component_removed_entries_total", labels.merging(["reason": "pressure"]) { $1 }] == 7)
        #expect(samples["macula_component_rejected_requests_total", labels.merging(["reason": "waiters_limit_reached"]) { $1 }] == 1)
        #expect(samples["macula_component_events_total", labels.merging(["event": "failover"]) { $1 }] == 3)
        let longestLabels = ["component": hostile]
        #expect(samples["macula_component_entries", longestLabels] == 2)
        #expect(samples["macula_component_removed_entries_total", longestLabels.merging(["reason": hostile]) { $1 }] == 1)
        #expect(samples["macula_component_events_total", longestLabels.merging(["event": hostile]) { $1 }] == 2)
        #expect(samples["macula_memory_pressure_level", [:]] == 1)
        #expect(samples["macula_memory_pressure_used_bytes", [:]] == 850)
        #expect(samples["macula_memory_pressure_limit_bytes", [:]] == 1_000)
        #expect(samples["macula_memory_pressure_level_changes_total", ["level": "medium"]] == 1)
        #expect(samples["macula_memory_pressure_level_changes_total", ["level": "high"]] == 0)
        for (name, family) in samples.families {
            #expect(name.hasPrefix("macula_"))
            #expect(family.help?.isEmpty == false)
            #expect(family.type == (name.hasSuffix("_total") ? "counter" : "gauge"))
        }
        #expect(samples.families.count == 12)

        // CI checks this sample with `promtool check metrics`.
        if let path = ProcessInfo.processInfo.environment["MACULA_EXPOSITION_SAMPLE"] {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
    }

    @Test("the multiplexer forwards every event to every sink")
    func multiplexer() {
        let first = RecordingMemoryMetrics()
        let second = RecordingMemoryMetrics()
        let both = MemoryMetricsMultiplexer([first, second])
        both.entriesRemoved(2, reason: .expired, component: "service_registry")
        both.requestRejected(reason: .limitReached, component: "client_manager")
        both.eventRecorded(MemoryEvent("failover"), count: 1, component: "rpc_handler")
        both.pressureLevelChanged(from: .normal, to: .high, reading: MemoryReading(usedBytes: 9))
        both.memoryReadingTaken(MemoryReading(usedBytes: 9), level: .high)
        #expect(first.events.count == 5)
        #expect(first.events == second.events)
        #expect(first.removed(.expired) == 2)
    }

    @Test("events pushed from many tasks at once are all counted")
    func concurrentEvents() async {
        let registry = MemoryMetricsRegistry()
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for _ in 0..<1_000 { registry.entriesRemoved(1, reason: .expired, component: "c\(task % 2)") }
                }
            }
        }
        let snapshot = await registry.snapshot()
        #expect(snapshot.component(named: "c0")?.removals[.expired] == 4_000)
        #expect(snapshot.component(named: "c1")?.removals[.expired] == 4_000)
    }
}
