/// The pressure monitor's logic: readings to levels, with hysteresis.
package struct MemoryPressureCore: Sendable {
    package enum Action: Equatable, Sendable {
        case none
        /// Apply `scale` to every component and prune each.
        case applyLevel(from: MemoryPressureLevel, to: MemoryPressureLevel, scale: Double)
        /// The reading could not be judged (a fraction threshold without a known limit).
        case unjudged
    }

    package let configuration: MemoryPressureMonitorConfiguration
    package private(set) var level: MemoryPressureLevel = .normal
    /// A failure is warned about once, until a reading succeeds.
    package private(set) var readingFailing = false

    package init(configuration: MemoryPressureMonitorConfiguration) {
        self.configuration = configuration
    }

    /// The scale components get at the current level.
    package var scale: Double { configuration.scale(for: level) }

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
