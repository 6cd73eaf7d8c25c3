/// A point-in-time view of every component's memory and the pressure state.
public struct MemorySnapshot: Sendable, Codable {
    /// One entry per component, sorted by name.
    public var components: [ComponentStats]
    /// The pressure level the monitor last reported (`normal` when no monitor reports).
    public var pressureLevel: MemoryPressureLevel
    /// The monitor's last reading, if any.
    public var pressureReading: MemoryReading?
    /// How many times the monitor entered each level.
    public var pressureLevelChanges: [MemoryPressureLevel: Int]

    /// Creates a snapshot.
    public init(
        components: [ComponentStats],
        pressureLevel: MemoryPressureLevel,
        pressureReading: MemoryReading? = nil,
        pressureLevelChanges: [MemoryPressureLevel: Int] = [:]
    ) {
        self.components = components
        self.pressureLevel = pressureLevel
        self.pressureReading = pressureReading
        self.pressureLevelChanges = pressureLevelChanges
    }

    /// The stats of the component named `name`, if it is in the snapshot.
    public func component(named name: String) -> ComponentStats? {
        components.first { $0.name == name }
    }
}

/// One component's part of a ``MemorySnapshot``.
public struct ComponentStats: Sendable, Codable {
    /// The component's name (its `component` label).
    public var name: String
    /// Size, limits and high-water mark; nil for a component that is not registered (any more).
    public var usage: MemoryUsage?
    /// Entries removed, by reason, since the registry was created.
    public var removals: [RemovalReason: Int] = [:]
    /// Requests refused, by reason.
    public var rejections: [RejectionReason: Int] = [:]
    /// Other counted events.
    public var events: [MemoryEvent: Int] = [:]

    /// Creates empty stats for `name`.
    public init(name: String, usage: MemoryUsage? = nil) {
        self.name = name
        self.usage = usage
    }

    /// Entries removed for any reason.
    public var totalRemovals: Int { removals.values.reduce(0, +) }
}
