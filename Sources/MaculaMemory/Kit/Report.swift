/// What a core asks its actor to report: one vocabulary for every component's metrics and the
/// shared log warning.
@usableFromInline @frozen
package enum Report: Sendable, Hashable {
    case removed(Int, RemovalReason)
    case rejected(RejectionReason)
    case event(MemoryEvent, Int)
    /// Work accepted before `run()` started is past its deadline by this much (logged once).
    case runNotStarted(overdueBy: Duration)
    /// The pressure monitor took `reading` and judged `level`.
    case readingTaken(MemoryReading, level: MemoryPressureLevel)
    /// The pressure level changed on `reading`.
    case levelChanged(from: MemoryPressureLevel, to: MemoryPressureLevel, reading: MemoryReading)
    /// A log event of the component's own kinds.
    case log(ComponentLogEvent)
}

/// Where an actor sends a core's ``Report``s: its metrics hook and log handler, under its name.
@usableFromInline
package struct Reporter: Sendable {
    package let component: String
    package let metrics: any MemoryMetrics
    package let log: any ComponentLogHandler

    package init(component: String, metrics: any MemoryMetrics, log: any ComponentLogHandler) {
        self.component = component
        self.metrics = metrics
        self.log = log
    }

    /// Reports `report`; a count of zero reports nothing. - Complexity: O(1).
    @usableFromInline
    package func callAsFunction(_ report: Report) {
        switch report {
        case .removed(let count, let reason):
            if count > 0 { metrics.entriesRemoved(count, reason: reason, component: component) }
        case .rejected(let reason):
            metrics.requestRejected(reason: reason, component: component)
        case .event(let event, let count):
            if count > 0 { metrics.eventRecorded(event, count: count, component: component) }
        case .runNotStarted(let overdueBy):
            log.warnRunNotStarted(component: component, overdueBy: overdueBy)
        case .readingTaken(let reading, let level):
            metrics.memoryReadingTaken(reading, level: level)
        case .levelChanged(let from, let to, let reading):
            metrics.pressureLevelChanged(from: from, to: to, reading: reading)
        case .log(let event):
            log.log(event)
        }
    }

    /// Reports each of `reports` in order. - Complexity: O(k) for k reports.
    package func callAsFunction(_ reports: some Sequence<Report>) {
        for report in reports { self(report) }
    }
}
