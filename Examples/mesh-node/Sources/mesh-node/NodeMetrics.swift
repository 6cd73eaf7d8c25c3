import CoreMetrics
import MaculaMemory
import Metrics
import Prometheus

/// The node's own counters, through swift-metrics (so through whatever factory the process
/// bootstrapped: swift-prometheus's in `mesh-node`, none in tests, where they are no-ops).
/// Families: `mesh_node_requests_total{route, status}`, `mesh_node_connections_total{outcome}`
/// (`accepted`, `refused`, `handshake_timed_out`, `idle_closed`), `mesh_node_open_connections`.
struct NodeMetrics: Sendable {
    /// One answered mesh request: its route (`rpc`, `providers`, `advertise`, `other`) and status code.
    func requestAnswered(route: String, status: Int) {
        Counter(label: "mesh_node_requests_total", dimensions: [("route", route), ("status", String(status))]).increment()
    }

    /// One inbound connection's fate: `accepted` or `refused` when it arrives, and later
    /// `handshake_timed_out` or `idle_closed` when the node closes it for that.
    func connection(_ outcome: String) {
        Counter(label: "mesh_node_connections_total", dimensions: [("outcome", outcome)]).increment()
    }

    /// An admitted connection opened (+1) or closed (-1).
    func openConnections(_ delta: Int) {
        let meter = Meter(label: "mesh_node_open_connections")
        if delta > 0 { meter.increment(by: Double(delta)) } else { meter.decrement(by: Double(-delta)) }
    }
}

/// The Prometheus side of swift-metrics for this node: a collector registry and the factory that
/// `MetricsSystem.bootstrap` takes.
///
/// The documented bridge (`SwiftMetricsBridge`) names its families exactly as the library's own
/// exposition does, so that a team using swift-metrics instead of `prometheusText()` keeps its
/// dashboards. Served on the same endpoint as `prometheusText()`, those names would be duplicate
/// families, so this factory renames every `macula_` family it is given to `bridged_macula_`:
/// the bridge's code stays as documented, and the combined text has each family once.
struct NodePrometheus: Sendable {
    let registry = PrometheusCollectorRegistry()

    var factory: PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.nameAndLabelSanitizer = { name, labels in
            (name.hasPrefix("macula_") ? "bridged_" + name : name, labels)
        }
        return factory
    }

    /// The help line of each family the node or the bridge makes; swift-metrics has no help text,
    /// and promtool's lint wants one for every family.
    static let help: [String: String] = [
        "mesh_node_requests_total": "Mesh requests answered, by route and status code.",
        "mesh_node_connections_total": "Inbound mesh connections, by outcome.",
        "mesh_node_open_connections": "Inbound mesh connections admitted and open now.",
        "bridged_macula_component_removed_entries_total": "The library's removals, through the swift-metrics bridge.",
        "bridged_macula_component_rejected_requests_total": "The library's rejections, through the swift-metrics bridge.",
        "bridged_macula_component_events_total": "The library's counted events, through the swift-metrics bridge.",
        "bridged_macula_memory_pressure_level": "The pressure level, through the swift-metrics bridge.",
    ]

    /// The registry's exposition with a `# HELP` line before every `# TYPE` line that has none.
    func exposition() -> String {
        var lines: [Substring] = []
        let text = registry.emitToString()
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let words = line.split(separator: " ")
            if words.count == 4, words[0] == "#", words[1] == "TYPE",
               !(lines.last.map { $0.hasPrefix("# HELP \(words[2]) ") } ?? false) {
                let name = String(words[2])
                lines.append(Substring("# HELP \(name) \(Self.help[name] ?? "From swift-metrics.")"))
            }
            lines.append(line)
        }
        return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
    }
}
