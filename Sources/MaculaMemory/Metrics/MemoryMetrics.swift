/// The events Macula components push to metrics. Every method has a default that does nothing;
/// components call them inside their actor, so an implementation must be cheap and must not block.
/// Sizes and limits are not pushed: a ``MemoryMetricsRegistry`` pulls them.
public protocol MemoryMetrics: Sendable {
    /// `count` entries left `component` for `reason`.
    func entriesRemoved(_ count: Int, reason: RemovalReason, component: String)
    /// `component` refused a request.
    func requestRejected(reason: RejectionReason, component: String)
    /// `component` saw `count` occurrences of `event`.
    func eventRecorded(_ event: MemoryEvent, count: Int, component: String)
    /// The pressure monitor moved from `from` to `to` on `reading`.
    func pressureLevelChanged(from: MemoryPressureLevel, to: MemoryPressureLevel, reading: MemoryReading)
    /// The pressure monitor took `reading` and is at `level` after it (every check).
    func memoryReadingTaken(_ reading: MemoryReading, level: MemoryPressureLevel)
}

extension MemoryMetrics {
    public func entriesRemoved(_ count: Int, reason: RemovalReason, component: String) {}
    public func requestRejected(reason: RejectionReason, component: String) {}
    public func eventRecorded(_ event: MemoryEvent, count: Int, component: String) {}
    public func pressureLevelChanged(from: MemoryPressureLevel, to: MemoryPressureLevel, reading: MemoryReading) {}
    public func memoryReadingTaken(_ reading: MemoryReading, level: MemoryPressureLevel) {}
}

/// Metrics that go nowhere: the default for every component.
public struct NoMemoryMetrics: MemoryMetrics {
    /// Creates a sink that drops every event.
    public init() {}
}

/// Forwards every event to several sinks, in order.
public struct MemoryMetricsMultiplexer: MemoryMetrics {
    /// The sinks, called in this order.
    public let sinks: [any MemoryMetrics]

    /// Creates a multiplexer over `sinks`.
    public init(_ sinks: [any MemoryMetrics]) { self.sinks = sinks }

    public func entriesRemoved(_ count: Int, reason: RemovalReason, component: String) {
        for sink in sinks { sink.entriesRemoved(count, reason: reason, component: component) }
    }
    public func requestRejected(reason: RejectionReason, component: String) {
        for sink in sinks { sink.requestRejected(reason: reason, component: component) }
    }
    public func eventRecorded(_ event: MemoryEvent, count: Int, component: String) {
        for sink in sinks { sink.eventRecorded(event, count: count, component: component) }
    }
    public func pressureLevelChanged(from: MemoryPressureLevel, to: MemoryPressureLevel, reading: MemoryReading) {
        for sink in sinks { sink.pressureLevelChanged(from: from, to: to, reading: reading) }
    }
    public func memoryReadingTaken(_ reading: MemoryReading, level: MemoryPressureLevel) {
        for sink in sinks { sink.memoryReadingTaken(reading, level: level) }
    }
}
