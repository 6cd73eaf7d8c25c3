/// The pressure monitor's logic: readings to levels, with hysteresis.
package struct MemoryPressureCore: Sendable {
    package enum Action: Equatable, Sendable {
        case none
        /// Apply `scale` to every component and prune each.
        case applyLevel(from: MemoryPressureLevel, to: MemoryPressureLevel, scale: Double)
        /// The reading could not be judged (a fraction threshold without a known limit).
        case unjudged
    }

    /// A registered component, held weakly.
    struct WeakComponent: Sendable {
        weak var component: (any MemoryManaged)?
    }

    /// What a check asks of the actor: report, then apply `scale` to `components` (each pruned).
    package struct Check: Sendable {
        package var reports: [Report] = []
        package var scale: Double?
        package var components: [any MemoryManaged] = []
    }

    package let configuration: MemoryPressureMonitorConfiguration
    private(set) var lifecycle = RunLifecycle.notStarted
    private var components: [ObjectIdentifier: WeakComponent] = [:]
    package private(set) var level: MemoryPressureLevel = .normal
    /// A failure is warned about once, until a reading succeeds.
    package private(set) var readingFailing = false

    package init(configuration: MemoryPressureMonitorConfiguration) {
        self.configuration = configuration
    }

    /// The scale components get at the current level.
    package var scale: Double { configuration.scale(for: level) }

    /// How many registered components are alive. - Complexity: O(n).
    package var registeredCount: Int { components.values.count { $0.component != nil } }

    /// Registers `component` (again: a no-op).
    /// - Returns: the scale to apply to it now, when the level is not normal.
    /// - Complexity: O(1).
    package mutating func register(_ component: any MemoryManaged) -> Double? {
        components[ObjectIdentifier(component)] = WeakComponent(component: component)
        return level == .normal ? nil : scale
    }

    /// Unregisters the component with `id`; a no-op when unknown. - Complexity: O(1).
    package mutating func unregister(_ id: ObjectIdentifier) {
        components.removeValue(forKey: id)
    }

    /// `run()` starts. - Returns: false when another `run()` runs. - Complexity: O(1).
    mutating func runStarted() -> Bool {
        lifecycle.start() == .started
    }

    /// `run()` returned. - Complexity: O(1).
    mutating func runEnded() {
        _ = lifecycle.end()
    }

    /// One check: a reading, or the reader's error, judged. On a level change the registered
    /// components to scale come back (the dead ones are forgotten).
    /// - Complexity: O(n) for n registered components on a level change, O(1) otherwise.
    package mutating func checked(_ reading: Result<MemoryReading, MemoryReadError>, component: String) -> Check {
        var check = Check()
        switch reading {
        case .failure(let error):
            if readingFailed() {
                check.reports.append(.log(ComponentLogEvent(
                    level: .warning, kind: .memoryReadingFailed, component: component,
                    message: "\(error); the pressure level stays \(level) until a reading works",
                    metadata: ["error": error.description, "level": level.description])))
            }
        case .success(let reading):
            let action = readingTaken(reading)
            check.reports.append(.readingTaken(reading, level: level))
            guard case .applyLevel(let from, let to, let scale) = action else { break }
            check.reports.append(.levelChanged(from: from, to: to, reading: reading))
            check.reports.append(.log(ComponentLogEvent(
                level: .info, kind: .pressureLevelChanged, component: component,
                message: "memory pressure went from \(from) to \(to): components scaled to \(scale)",
                metadata: ["from": from.description, "to": to.description, "used_bytes": "\(reading.usedBytes)", "scale": "\(scale)"])))
            components = components.filter { $0.value.component != nil }
            check.scale = scale
            check.components = components.values.compactMap(\.component)
        }
        return check
    }

    /// Judges `reading`: the level rises to the highest threshold reached, or falls while the
    /// reading is below the current threshold less the margin. - Complexity: O(1).
    package mutating func readingTaken(_ reading: MemoryReading) -> Action {
        readingFailing = false
        guard let medium = threshold(.medium, reading), let high = threshold(.high, reading) else {
            return .unjudged
        }
        func bytes(of level: MemoryPressureLevel) -> Double {
            level == .high ? high : medium
        }
        let used = Double(reading.usedBytes)
        var next = level
        while next < .high, used >= bytes(of: MemoryPressureLevel(rawValue: next.rawValue + 1)!) {
            next = MemoryPressureLevel(rawValue: next.rawValue + 1)!
        }
        if next == level {
            while next > .normal, used < bytes(of: next) * (1 - configuration.hysteresis) {
                next = MemoryPressureLevel(rawValue: next.rawValue - 1)!
            }
        }
        guard next != level else { return .none }
        let previous = level
        level = next
        return .applyLevel(from: previous, to: next, scale: configuration.scale(for: next))
    }

    /// A reading failed; the level is kept.
    /// - Returns: true for the first failure after a reading that worked. - Complexity: O(1).
    package mutating func readingFailed() -> Bool {
        defer { readingFailing = true }
        return !readingFailing
    }

    private func threshold(_ level: MemoryPressureLevel, _ reading: MemoryReading) -> Double? {
        switch configuration.thresholds {
        case .bytes(let medium, let high):
            return Double(level == .high ? high : medium)
        case .fractionOfLimit(let medium, let high):
            guard let limit = reading.limitBytes, limit > 0 else { return nil }
            return Double(limit) * (level == .high ? high : medium)
        }
    }
}
