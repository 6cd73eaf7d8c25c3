import MaculaMesh
import MaculaTesting

/// Instants on the manual clock's timeline, for core tests that pass `now:` explicitly.
func instant(_ seconds: Int64, nanoseconds: Int64 = 0) -> ManualClock.Instant {
    ManualClock.Instant(offset: .seconds(seconds) + .nanoseconds(nanoseconds))
}

/// Instants as the registry core measures them: durations since the registry's origin.
func time(_ seconds: Int64, nanoseconds: Int64 = 0) -> Duration {
    .seconds(seconds) + .nanoseconds(nanoseconds)
}

func provider(_ node: String, _ address: String? = nil) -> ServiceProvider {
    ServiceProvider(nodeID: node, address: address ?? "quic://\(node):4433")
}

typealias RegistrySplitMix64 = SplitMix64

/// Metrics that remember every event, for assertions.
final class RegistryRecordingMetrics: MemoryMetrics {
    private struct State {
        var removed: [String: Int] = [:]
        var rejected: [String: Int] = [:]
        var events: [String: Int] = [:]
    }
    private let state = LockedState(State())

    func entriesRemoved(_ count: Int, reason: RemovalReason, component: String) {
        state.withLock { $0.removed["\(component)/\(reason.name)", default: 0] += count }
    }
    func requestRejected(reason: RejectionReason, component: String) {
        state.withLock { $0.rejected["\(component)/\(reason.name)", default: 0] += 1 }
    }
    func eventRecorded(_ event: MemoryEvent, count: Int, component: String) {
        state.withLock { $0.events["\(component)/\(event.name)", default: 0] += count }
    }

    func removed(_ reason: RemovalReason, component: String = "service_registry") -> Int {
        state.withLock { $0.removed["\(component)/\(reason.name)"] ?? 0 }
    }
    func rejected(_ reason: RejectionReason, component: String = "service_registry") -> Int {
        state.withLock { $0.rejected["\(component)/\(reason.name)"] ?? 0 }
    }
    func events(_ event: MemoryEvent, component: String) -> Int {
        state.withLock { $0.events["\(component)/\(event.name)"] ?? 0 }
    }
}
