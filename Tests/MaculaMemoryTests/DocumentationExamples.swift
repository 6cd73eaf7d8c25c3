import MaculaMemory
import Testing

/// The Swift examples in README.md and architecture/ are cut from this file (between
/// `// snippet: NAME` and `// end-snippet`), so they compile and run; `.ci/check-docs.py` checks
/// that the documents still say exactly this.
@Suite("Documentation examples: MaculaMemory", .timeLimit(.minutes(3)))
struct MemoryDocumentationExamples {
    @Test("README: metrics and memory pressure in a few lines")
    func metricsAndPressure() async throws {
        let component = try FakeComponent(name: "gateway_mesh", limit: 1_000, entries: 10)
        // snippet: metrics-and-pressure
        let registry = MemoryMetricsRegistry()
        let monitor = try MemoryPressureMonitor(metrics: registry)   // heap in use vs. cgroup or RAM
        try registry.register(component)                             // any MemoryManaged actor
        await monitor.register(component)                            // scaled to 90 % / 80 % under pressure
        let exposition = await registry.prometheusText()             // serve it at /metrics
        // end-snippet
        #expect(exposition.contains(#"macula_component_entries{component="gateway_mesh"} 10"#))
        #expect(await monitor.registeredCount == 1)
    }
}
