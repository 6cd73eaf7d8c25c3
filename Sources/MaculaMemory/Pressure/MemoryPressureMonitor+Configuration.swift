/// How a ``MemoryPressureMonitor``'s readings map to levels, and what each level does to the
/// components. Also spelled `MemoryPressureMonitor.Configuration`.
public struct MemoryPressureConfiguration: Sendable, Hashable {
    /// Where the `medium` and `high` levels begin.
    public enum Thresholds: Sendable, Hashable {
        /// Absolute bytes of the reading's `usedBytes`.
        case bytes(medium: Int, high: Int)
        /// Fractions of the reading's `limitBytes` (the cgroup limit or physical memory).
        case fractionOfLimit(medium: Double, high: Double)
    }

    /// Where `medium` and `high` begin. Default: 80 % and 90 % of the memory available.
    public var thresholds: Thresholds = .fractionOfLimit(medium: 0.80, high: 0.90)
    /// The margin, as a fraction of a level's threshold, by which a reading must fall below that
    /// threshold before the level is left. Default 0.05: a monitor at `high` with a threshold
    /// of 1 GB goes back down only below 950 MB. Must be in [0, 1).
    public var hysteresis: Double = 0.05
    /// The pressure scale applied to every component at `medium`. Default 0.9.
    public var mediumScale: Double = 0.9
    /// The pressure scale applied to every component at `high`. Default 0.8.
    public var highScale: Double = 0.8
    /// How often ``MemoryPressureMonitor/run()`` takes a reading. Default 5 seconds.
    public var checkInterval: Duration = .seconds(5)

    /// The defaults.
    public init() {}

    /// The scale for `level`.
    public func scale(for level: MemoryPressureLevel) -> Double {
        switch level {
        case .normal: 1
        case .medium: mediumScale
        case .high: highScale
        }
    }

    /// Checks every rule.
    /// - Throws: ``ConfigurationError`` naming the first field that breaks its rule.
    public func validate() throws(ConfigurationError) {
        switch thresholds {
        case .bytes(let medium, let high):
            try ConfigurationError.require(medium, atLeast: 1, field: "thresholds.medium")
            guard high > medium else {
                throw ConfigurationError(field: "thresholds.high", rule: "must be greater than thresholds.medium (\(medium))", value: "\(high)")
            }
        case .fractionOfLimit(let medium, let high):
            guard medium > 0, medium < 1 else {
                throw ConfigurationError(field: "thresholds.medium", rule: "must be a fraction in (0, 1)", value: "\(medium)")
            }
            guard high > medium, high <= 1 else {
                throw ConfigurationError(field: "thresholds.high", rule: "must be greater than thresholds.medium (\(medium)) and at most 1", value: "\(high)")
            }
        }
        guard hysteresis >= 0, hysteresis < 1 else {
            throw ConfigurationError(field: "hysteresis", rule: "must be in [0, 1)", value: "\(hysteresis)")
        }
        guard mediumScale > 0, mediumScale <= 1 else {
            throw ConfigurationError(field: "mediumScale", rule: "must be in (0, 1]", value: "\(mediumScale)")
        }
        guard highScale > 0, highScale <= mediumScale else {
            throw ConfigurationError(field: "highScale", rule: "must be in (0, mediumScale (\(mediumScale))]", value: "\(highScale)")
        }
        try ConfigurationError.requirePositive(checkInterval, field: "checkInterval")
    }
}
