/// How much memory pressure the ``MemoryPressureMonitor`` sees.
public enum MemoryPressureLevel: Int, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    /// Below the medium threshold.
    case normal = 0
    /// At or above the medium threshold: limits scaled down.
    case medium = 1
    /// At or above the high threshold: limits scaled down further.
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
public struct MemoryReading: Sendable, Hashable, Codable {
    /// Bytes in use, by the reader's measure.
    public var usedBytes: Int
    /// The bytes available to the process, when known; thresholds given as a fraction need it.
    public var limitBytes: Int?

    /// Creates a reading.
    public init(usedBytes: Int, limitBytes: Int? = nil) {
        self.usedBytes = usedBytes
        self.limitBytes = limitBytes
    }
}
