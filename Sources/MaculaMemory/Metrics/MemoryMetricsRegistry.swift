
/// The built-in metrics registry: counts every event the components push, knows the registered
/// components, and produces a ``MemorySnapshot`` (the seed's `get_stats`) and the Prometheus text
/// exposition.
///
/// Events are counted under one lock, in O(1) each. Sizes, limits and high-water marks are not
/// pushed: ``snapshot()`` pulls them from the registered components, so a change of size costs a
/// component no metrics call. Components are held weakly: a component that is deallocated drops
/// out of the snapshot, and its counters stay.
///
/// ```swift
/// let registry = MemoryMetricsRegistry()
/// let pool = ConnectionPool(…, metrics: registry)
/// try registry.register(pool)
/// let text = await registry.prometheusText()
/// ```
public final class MemoryMetricsRegistry: MemoryMetrics, Sendable {
    private struct WeakComponent: Sendable {
        weak var component: (any MemoryManaged)?
    }

    private struct LabelPair<Reason: Hashable & Sendable>: Hashable, Sendable {
        var component: String
        var reason: Reason
    }

    private struct State: Sendable {
        var components: [String: WeakComponent] = [:]
        var removals: [LabelPair<RemovalReason>: Int] = [:]
        var rejections: [LabelPair<RejectionReason>: Int] = [:]
        var events: [LabelPair<MemoryEvent>: Int] = [:]
        var pressureLevel: MemoryPressureLevel = .normal
        var pressureReading: MemoryReading?
        var pressureLevelChanges: [MemoryPressureLevel: Int] = [:]
    }

    private let state = LockedState(State())

    /// Creates an empty registry.
    public init() {}

    /// Adds `component` to the snapshot, under its ``MemoryManaged/componentName``.
    /// - Throws: ``ConfigurationError`` for `componentName` when it is empty or longer than
    ///   ``ConfigurationError/maximumNameLength`` UTF-8 bytes, or when another live component is
    ///   already registered under that name (give each instance its own name).
    /// - Complexity: O(1).
    public func register(_ component: any MemoryManaged) throws(ConfigurationError) {
        let name = component.componentName
        try ConfigurationError.requireName(name)
        let clash = state.withLock { state -> Bool in
            if let existing = state.components[name]?.component, existing !== component { return true }
            state.components[name] = WeakComponent(component: component)
            return false
        }
        if clash {
            throw ConfigurationError(field: "componentName", rule: "must be unique in the registry", value: name)
        }
    }

    /// Removes `component` from the snapshot; its counters stay. A component that is not
    /// registered is a no-op. - Complexity: O(1).
    public func unregister(_ component: any MemoryManaged) {
        state.withLock { state in
            if let existing = state.components[component.componentName], existing.component === component || existing.component == nil {
                state.components[component.componentName] = nil
            }
        }
    }

    public func entriesRemoved(_ count: Int, reason: RemovalReason, component: String) {
        guard count > 0 else { return }
        state.withLock { $0.removals[LabelPair(component: component, reason: reason), default: 0] += count }
    }

    public func requestRejected(reason: RejectionReason, component: String) {
        state.withLock { $0.rejections[LabelPair(component: component, reason: reason), default: 0] += 1 }
    }

    public func eventRecorded(_ event: MemoryEvent, count: Int, component: String) {
        guard count > 0 else { return }
        state.withLock { $0.events[LabelPair(component: component, reason: event), default: 0] += count }
    }

    public func pressureLevelChanged(from: MemoryPressureLevel, to: MemoryPressureLevel, reading: MemoryReading) {
        state.withLock { state in
            state.pressureLevel = to
            state.pressureReading = reading
            state.pressureLevelChanges[to, default: 0] += 1
        }
    }

    public func memoryReadingTaken(_ reading: MemoryReading, level: MemoryPressureLevel) {
        state.withLock { state in
            state.pressureLevel = level
            state.pressureReading = reading
        }
    }

    /// The stats of every component (registered, or seen in an event) and the pressure state.
    ///
    /// Usage is read from each live registered component in one isolated step per component.
    /// - Complexity: O(components + counter series).
    public func snapshot() async -> MemorySnapshot {
        let (components, frozen) = state.withLock { state in
            (state.components.compactMap { name, weak in weak.component.map { (name, $0) } }, state)
        }
        var usages: [String: MemoryUsage] = [:]
        for (name, component) in components {
            usages[name] = await component.memoryUsage()
        }
        var stats: [String: ComponentStats] = [:]
        func entry(_ name: String) -> ComponentStats { stats[name] ?? ComponentStats(name: name) }
        for (name, usage) in usages {
            var item = entry(name)
            item.usage = usage
            stats[name] = item
        }
        for (key, count) in frozen.removals {
            var item = entry(key.component)
            item.removals[key.reason] = count
            stats[key.component] = item
        }
        for (key, count) in frozen.rejections {
            var item = entry(key.component)
            item.rejections[key.reason] = count
            stats[key.component] = item
        }
        for (key, count) in frozen.events {
            var item = entry(key.component)
            item.events[key.reason] = count
            stats[key.component] = item
        }
        return MemorySnapshot(
            components: stats.values.sorted { $0.name < $1.name },
            pressureLevel: frozen.pressureLevel,
            pressureReading: frozen.pressureReading,
            pressureLevelChanges: frozen.pressureLevelChanges
        )
    }

    /// The Prometheus text exposition of ``snapshot()``. See ``MemorySnapshot/prometheusText()``.
    public func prometheusText() async -> String {
        await snapshot().prometheusText()
    }
}
