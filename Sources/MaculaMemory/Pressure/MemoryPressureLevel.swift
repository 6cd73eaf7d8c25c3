/// How much memory pressure the ``MemoryPressureMonitor`` sees.
public enum MemoryPressureLevel: Int, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    /// Below the medium threshold: every component runs at its base limit.
    case normal = 0
    /// Above the medium threshold: limits are scaled down (default 0.9).
    case medium = 1
    /// Above the high threshold: limits are scaled down further (default 0.8).
    case high = 2

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .normal: "normal"
        case .medium: "medium"
        case .high: "high"
        }
    }
}

/// One measurement of the process's memory.
public struct MemoryReading: Sendable, Hashable {
    /// Bytes in use by the measure the reader takes (heap in use, resident set, cgroup usage).
    public var usedBytes: Int
    /// The bytes available to the process, when known (the cgroup's `memory.max`, or physical
    /// memory). Needed for thresholds given as a fraction.
    public var limitBytes: Int?

    /// Creates a reading.
    public init(usedBytes: Int, limitBytes: Int? = nil) {
        self.usedBytes = usedBytes
        self.limitBytes = limitBytes
    }
}
