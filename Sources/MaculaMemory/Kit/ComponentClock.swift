/// A component's injected clock with its type erased, so no public component type is generic over
/// its clock. Time is a `Duration` since the **origin**, the clock's reading when this value was
/// made; copies share their origin. `ContinuousClock` is read directly, any other clock through a
/// class that holds it.
@usableFromInline
package struct ComponentClock: Sendable {
    /// Any clock but `ContinuousClock`, read through closures that capture it and its origin.
    @usableFromInline
    final class Custom: Sendable {
        @usableFromInline let now: @Sendable () -> Duration
        let sleep: @Sendable (Duration) async throws -> Void

        init(now: @escaping @Sendable () -> Duration, sleep: @escaping @Sendable (Duration) async throws -> Void) {
            self.now = now
            self.sleep = sleep
        }
    }

    /// Unused when `custom` is set.
    @usableFromInline let origin: ContinuousClock.Instant
    @usableFromInline let custom: Custom?

    /// Its current reading becomes the origin.
    package init<C: Clock>(_ clock: C) where C.Duration == Duration {
        origin = ContinuousClock.now
        if clock is ContinuousClock {
            custom = nil
        } else {
            let start = clock.now
            custom = Custom(
                now: { start.duration(to: clock.now) },
                sleep: { deadline in try await clock.sleep(until: start.advanced(by: deadline), tolerance: nil) }
            )
        }
    }

    /// The time since the origin. - Complexity: O(1), one reading of the clock.
    @inlinable
    package var now: Duration {
        if let custom { return custom.now() }
        return origin.duration(to: .now)
    }

    /// Suspends until the clock reaches `deadline`, a duration since the origin.
    /// - Throws: `CancellationError` when the task is cancelled first.
    package func sleep(until deadline: Duration) async throws {
        if let custom {
            try await custom.sleep(deadline)
        } else {
            try await ContinuousClock().sleep(until: origin.advanced(by: deadline), tolerance: nil)
        }
    }
}
