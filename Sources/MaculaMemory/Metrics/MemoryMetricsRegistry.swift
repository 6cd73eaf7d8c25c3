
/// The built-in metrics registry: counts every event the components push (under one lock, O(1)
/// each) and pulls sizes and limits from the registered components for a ``MemorySnapshot`` and
/// the Prometheus text. Components are held weakly; a deallocated one leaves the snapshot and its
/// counters stay.
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
    /// - Throws: ``ConfigurationError`` for `componentName` when the name is invalid or another live
    ///   component is registered under it.
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
