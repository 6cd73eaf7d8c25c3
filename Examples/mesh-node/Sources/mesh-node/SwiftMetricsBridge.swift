// The swift-metrics bridge of architecture/memory_management_monitoring.md ("Bridging to
// swift-metrics"), compiled: the region between the snippet markers is that document's block.
// snippet: swift-metrics-bridge
import Metrics
import MaculaMemory

struct SwiftMetricsBridge: MemoryMetrics {
    func entriesRemoved(_ count: Int, reason: RemovalReason, component: String) {
        Counter(label: "macula_component_removed_entries_total",
                dimensions: [("component", component), ("reason", reason.name)]).increment(by: count)
    }
    func requestRejected(reason: RejectionReason, component: String) {
        Counter(label: "macula_component_rejected_requests_total",
                dimensions: [("component", component), ("reason", reason.name)]).increment()
    }
    func eventRecorded(_ event: MemoryEvent, count: Int, component: String) {
        Counter(label: "macula_component_events_total",
                dimensions: [("component", component), ("event", event.name)]).increment(by: count)
    }
    func pressureLevelChanged(from: MemoryPressureLevel, to: MemoryPressureLevel, reading: MemoryReading) {
        Gauge(label: "macula_memory_pressure_level").record(to.rawValue)
    }
}
// end-snippet
