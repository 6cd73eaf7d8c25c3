import MaculaMemory

/// A ``ComponentLogHandler`` that keeps every event, for tests: give it to every component whose
/// log events a test checks.
public final class RecordingComponentLog: ComponentLogHandler {
    private struct State {
        var events: [ComponentLogEvent] = []
        var unobserved: [ComponentLogEvent] = []
        var observers: [CheckedContinuation<ComponentLogEvent, Never>] = []
    }

    private let state = LockedState(State())

    /// Creates an empty log.
    public init() {}

    /// Every event logged, in order.
    public var events: [ComponentLogEvent] { state.withLock { $0.events } }

    /// The events of `kind`, in order.
    /// - Parameter kind: the kind to keep.
    /// - Returns: the events.
    public func events(of kind: ComponentLogEvent.Kind) -> [ComponentLogEvent] {
        state.withLock { $0.events.filter { $0.kind == kind } }
    }

    /// Waits for the next event and returns it. Each event is reported once, in order, including
    /// those logged before the call.
    public func nextEvent() async -> ComponentLogEvent {
        await withCheckedContinuation { (continuation: CheckedContinuation<ComponentLogEvent, Never>) in
            let ready = state.withLock { state -> ComponentLogEvent? in
                if state.unobserved.isEmpty {
                    state.observers.append(continuation)
                    return nil
                }
                return state.unobserved.removeFirst()
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Waits for the next event of `kind`, skipping (and consuming) events of other kinds.
    public func nextEvent(of kind: ComponentLogEvent.Kind) async -> ComponentLogEvent {
        while true {
            let event = await nextEvent()
            if event.kind == kind { return event }
        }
    }

    /// Records `event`.
    public func log(_ event: ComponentLogEvent) {
        let observer = state.withLock { state -> CheckedContinuation<ComponentLogEvent, Never>? in
            state.events.append(event)
            if state.observers.isEmpty {
                state.unobserved.append(event)
                return nil
            }
            return state.observers.removeFirst()
        }
        observer?.resume(returning: event)
    }
}
