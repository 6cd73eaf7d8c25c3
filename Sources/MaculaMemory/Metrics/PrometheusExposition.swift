extension MemorySnapshot {
    /// The snapshot in the Prometheus text exposition format (version 0.0.4): every family has
    /// `# HELP` and `# TYPE`, names carry the `macula_` prefix, counters end in `_total`, label
    /// values are escaped. The families: `architecture/memory_management_monitoring.md`.
    public func prometheusText() -> String {
        var out = PrometheusWriter()
        let measured = components.compactMap { stats in stats.usage.map { (stats.name, $0) } }

        out.family("macula_component_entries", .gauge, "Entries the component holds now.")
        for (name, usage) in measured { out.sample("macula_component_entries", [("component", name)], usage.size) }
        out.family("macula_component_limit_entries", .gauge, "The effective limit: max(1, floor(base limit x pressure scale)).")
        for (name, usage) in measured { out.sample("macula_component_limit_entries", [("component", name)], usage.effectiveLimit) }
        out.family("macula_component_base_limit_entries", .gauge, "The limit the operator configured.")
        for (name, usage) in measured { out.sample("macula_component_base_limit_entries", [("component", name)], usage.baseLimit) }
        out.family("macula_component_high_water_mark_entries", .gauge, "The largest number of entries the component has held.")
        for (name, usage) in measured { out.sample("macula_component_high_water_mark_entries", [("component", name)], usage.highWaterMark) }
        out.family("macula_component_pressure_scale_ratio", .gauge, "The scale the memory pressure monitor applies to the base limit (1 = none).")
        for (name, usage) in measured { out.sample("macula_component_pressure_scale_ratio", [("component", name)], usage.pressureScale) }

        out.family("macula_component_removed_entries_total", .counter, "Entries removed from the component, by reason.")
        for stats in components {
            for (reason, count) in stats.removals.sorted(by: { $0.key.name < $1.key.name }) {
                out.sample("macula_component_removed_entries_total", [("component", stats.name), ("reason", reason.name)], count)
            }
        }
        out.family("macula_component_rejected_requests_total", .counter, "Requests the component refused (a limit, a wait that timed out, run() not running), by reason.")
        for stats in components {
            for (reason, count) in stats.rejections.sorted(by: { $0.key.name < $1.key.name }) {
                out.sample("macula_component_rejected_requests_total", [("component", stats.name), ("reason", reason.name)], count)
            }
        }
        out.family("macula_component_events_total", .counter, "Other events the component counted, by event.")
        for stats in components {
            for (event, count) in stats.events.sorted(by: { $0.key.name < $1.key.name }) {
                out.sample("macula_component_events_total", [("component", stats.name), ("event", event.name)], count)
            }
        }

        out.family("macula_memory_pressure_level", .gauge, "Memory pressure level: 0 normal, 1 medium, 2 high.")
        out.sample("macula_memory_pressure_level", [], pressureLevel.rawValue)
        out.family("macula_memory_pressure_used_bytes", .gauge, "The memory pressure monitor's last reading.")
        if let reading = pressureReading { out.sample("macula_memory_pressure_used_bytes", [], reading.usedBytes) }
        out.family("macula_memory_pressure_limit_bytes", .gauge, "The memory available to the process, when known.")
        if let limit = pressureReading?.limitBytes { out.sample("macula_memory_pressure_limit_bytes", [], limit) }
        out.family("macula_memory_pressure_level_changes_total", .counter, "Times the memory pressure monitor entered each level.")
        for level in MemoryPressureLevel.allCases {
            out.sample("macula_memory_pressure_level_changes_total", [("level", level.description)], pressureLevelChanges[level] ?? 0)
        }
        return out.text
    }
}

/// Writes the text exposition format.
struct PrometheusWriter {
    enum Kind: String { case gauge, counter }

    private(set) var text = ""

    mutating func family(_ name: String, _ kind: Kind, _ help: String) {
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
    }

    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Int) {
        line(name, labels, String(value))
    }

    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        let rendered: String
        if value.isNaN {
            rendered = "NaN"
        } else if value.isInfinite {
            rendered = value > 0 ? "+Inf" : "-Inf"
        } else {
            rendered = String(value)
        }
        line(name, labels, rendered)
    }

    private mutating func line(_ name: String, _ labels: [(String, String)], _ value: String) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Self.escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " \(value)\n"
    }

    /// Label values escape backslash, double quote and newline.
    static func escapeLabel(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for character in value.unicodeScalars {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// HELP text escapes backslash and newline.
    static func escapeHelp(_ value: String) -> String {
        value.replacingOccurrences("\\", with: "\\\\").replacingOccurrences("\n", with: "\\n")
    }
}

extension String {
    fileprivate func replacingOccurrences(_ target: Character, with replacement: String) -> String {
        var out = ""
        for character in self {
            if character == target { out += replacement } else { out.append(character) }
        }
        return out
    }
}
