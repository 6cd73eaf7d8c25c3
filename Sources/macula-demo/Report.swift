import Foundation
import MaculaDemoSupport
import MaculaMemory

/// The text a run prints: a header before it starts and the report after it ends.
enum Report {
    static func header(_ options: DemoOptions) -> String {
        let world = switch options.world {
        case .bounded: "bounded world (the Macula actors, through their public API)"
        case .unbounded: "unbounded world (the demo's naive stand-ins: the original's behavior)"
        }
        let spike = options.pressureSpikeMiB > 0
            ? "a \(options.pressureSpikeMiB) MiB memory spike from \(seconds(options.durationSeconds * 0.45)) to \(seconds(options.durationSeconds * 0.75))"
            : "no memory spike"
        return """
            macula-demo: \(world)
              \(seconds(options.durationSeconds)) of churn at scale \(ChartFormat.number(options.scale)) on the real clock, \(spike), seed \(options.seed)
            """
    }

    static func describe(_ configuration: MemoryPressureMonitorConfiguration, startedAt: Double, heap: Int?) -> String {
        switch configuration.thresholds {
        case .bytes(let medium, let high):
            let base = heap.map { " (heap after warm-up \(mib($0)))" } ?? ""
            return "started at \(seconds(startedAt)); thresholds on heap in use: medium \(mib(medium)), high \(mib(high))\(base); scales 0.9 / 0.8"
        case .fractionOfLimit(let medium, let high):
            return "started at \(seconds(startedAt)); thresholds: medium \(Int(medium * 100)) %, high \(Int(high * 100)) % of the memory available (the library's defaults)"
        }
    }

    static func text(_ result: RunResult, files: OutputFiles.Written?) -> String {
        var lines: [String] = [""]
        let bounded = result.options.world == .bounded
        let early = Interrupt.requested ? " (stopped early by Ctrl-C)" : ""
        lines.append("== report: \(result.options.world.rawValue) world, \(seconds(result.elapsed))\(early) ==")
        lines.append("")

        // The node's maps, as the demo sees them.
        lines.append("the node's maps        at end    limit (base)     high-water   after stop")
        for component in DemoComponent.allCases {
            guard let reading = result.finalSample.components[component] else { continue }
            let limit: String
            if let effective = reading.effectiveLimit, let base = reading.baseLimit {
                limit = effective == base ? "\(effective)" : "\(effective) (\(base))"
            } else {
                limit = "none"
            }
            let mark = reading.highWaterMark.map(String.init) ?? "-"
            let after = result.afterStop[component].map { String($0.size) } ?? "-"
            lines.append("  " + pad(component.title, 20) + pad(String(reading.size), 10) + pad(limit, 17) + pad(mark, 13) + after)
        }
        if bounded {
            lines.append("  (after stop: the workload's tasks cancelled, the pool and the RPC handler shut down; scoped")
            lines.append("  clients and pending calls are gone, clients connected without a scope stay until disconnected)")
        } else {
            lines.append("  (after stop: the workload's tasks cancelled; nothing a cancelled task owned was cleaned up)")
        }
        lines.append("")

        // Removals and refusals, from the metrics registry.
        if bounded {
            lines.append("removals and refusals (MemoryMetricsRegistry.snapshot()):")
            for component in result.snapshot.components {
                let usage = component.usage.map { "size \($0.size), limit \($0.effectiveLimit) (base \($0.baseLimit)), high-water \($0.highWaterMark)" } ?? "not registered"
                lines.append("  \(component.name): \(usage)")
                lines.append("    removed:  " + counts(component.removals.map { ($0.key.name, $0.value) }))
                if !component.rejections.isEmpty {
                    lines.append("    refused:  " + counts(component.rejections.map { ($0.key.name, $0.value) }))
                }
                if !component.events.isEmpty {
                    lines.append("    events:   " + counts(component.events.map { ($0.key.name, $0.value) }))
                }
            }
        } else {
            lines.append("removals and refusals: none — the naive stand-ins have no limits, no TTL cleanup and no")
            lines.append("  caller cleanup, so nothing is ever evicted, expired or refused (the metrics registry is empty)")
        }
        lines.append("")

        // Memory.
        let peakSample = result.samples.max { $0.residentBytes < $1.residentBytes }
        var peak = "peak \(mib(peakSample?.residentBytes ?? 0))"
        if let peakSample {
            peak += " at \(seconds(peakSample.time))" + (peakSample.spikeHeld ? " (while the spike was held)" : "")
        }
        lines.append("resident memory: start \(mib(result.residentStart)), \(peak), end \(mib(result.finalSample.residentBytes)); heap in use at end \(mib(result.finalSample.heapBytes))")
        if let growth = SoakStatistics.growth(of: result.samples, duration: result.options.durationSeconds, value: { Double($0.residentBytes) }) {
            lines.append("  growth between the first and the last quarter after warm-up: \(percent(growth.fraction)) (\(mib(Int(growth.firstMean))) → \(mib(Int(growth.lastMean))))")
        }
        lines.append("pressure monitor: \(result.monitorSetup)")
        var path = "normal"
        for change in result.pressureChanges {
            path += " → \(change.to) at \(seconds(change.time)) (heap \(mib(change.usedBytes)))"
        }
        lines.append("  levels seen: \(path)")
        if !bounded && !result.pressureChanges.isEmpty {
            lines.append("  (nothing in this world can shrink: the naive maps ignore the pressure scale)")
        }
        lines.append("")

        // The workload.
        lines.append("workload:")
        for operation in result.outcomes.keys.sorted() {
            let outcomes = result.outcomes[operation] ?? [:]
            let total = outcomes.values.reduce(0, +)
            lines.append("  " + pad(operation, 34) + pad(String(total), 8) + counts(outcomes.map { ($0.key, $0.value) }))
        }
        let ledger = result.ledger
        lines.append("connections: opened \(ledger.opens), closed \(ledger.closes) (closed twice: \(ledger.doubleCloses)); open when the workload stopped \(result.openAtEnd), after shutdown \(ledger.opens - ledger.closes)")
        if bounded {
            let log = result.advertisementLog
            let passes = log.events.filter { $0.key.hasPrefix("cleanup_finished") }.values.reduce(0, +)
            lines.append("advertisement manager: \(passes) cleanup passes removed \(log.removed) expired entries; \(result.publishes) publishes")
        }
        lines.append("tasks: the demo started \(result.tasksStarted) workload tasks in one task group; \(result.tasksRunningAfter) still running after it ended")
        lines.append("")
        if let files {
            lines.append("Prometheus exposition: \(files.exposition.path)")
            lines.append("samples (every 250 ms): \(files.samples.path)")
            lines.append("summary: \(files.summary.path)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: Formatting

    static func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
    static func seconds(_ value: Double) -> String { String(format: "%.1f s", value) }
    static func percent(_ fraction: Double) -> String { String(format: "%+.1f %%", fraction * 100) }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    /// `name count, …`, largest first.
    static func counts(_ pairs: [(String, Int)]) -> String {
        guard !pairs.isEmpty else { return "none" }
        return pairs.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
    }
}
