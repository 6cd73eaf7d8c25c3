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

