/// The settings of a ``MemoryPressureMonitor``.
public struct MemoryPressureMonitorConfiguration: Sendable, Hashable {
    /// Where the `medium` and `high` levels begin.
    public enum Thresholds: Sendable, Hashable {
        /// Absolute bytes of the reading's `usedBytes`.
        case bytes(medium: Int, high: Int)
        /// Fractions of the reading's `limitBytes`.
        case fractionOfLimit(medium: Double, high: Double)
    }

    /// Default: 80 % and 90 % of the memory available.
    public var thresholds: Thresholds
    /// The fraction of a level's threshold by which a reading must fall below it to leave the
    /// level (0.05). In [0, 1).
    public var hysteresis: Double
    /// The pressure scale of every component at `medium` (0.9).
    public var mediumScale: Double
    /// The pressure scale of every component at `high` (0.8).
    public var highScale: Double
    /// How often ``MemoryPressureMonitor/run()`` takes a reading (5 s).
    /// In (0, ``ConfigurationError/maximumDuration``].
    public var checkInterval: Duration
    /// The name in its log events (`memory_pressure_monitor`). Not empty, at most
    /// ``ConfigurationError/maximumNameLength`` UTF-8 bytes.
    public var componentName: String

    /// Creates a configuration; every parameter defaults to the value documented on its property.
    public init(
        thresholds: Thresholds = .fractionOfLimit(medium: 0.80, high: 0.90),
        hysteresis: Double = 0.05,
        mediumScale: Double = 0.9,
        highScale: Double = 0.8,
        checkInterval: Duration = .seconds(5),
        componentName: String = "memory_pressure_monitor"
    ) {
        self.thresholds = thresholds
        self.hysteresis = hysteresis
        self.mediumScale = mediumScale
        self.highScale = highScale
        self.checkInterval = checkInterval
        self.componentName = componentName
    }

    /// - Parameter level: a pressure level.
    /// - Returns: 1 at `normal`, ``mediumScale`` at `medium`, ``highScale`` at `high`.
    public func scale(for level: MemoryPressureLevel) -> Double {
        switch level {
        case .normal: 1
        case .medium: mediumScale
        case .high: highScale
        }
    }

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
        try ConfigurationError.requireDuration(checkInterval, field: "checkInterval")
        try ConfigurationError.requireName(componentName)
    }
}
