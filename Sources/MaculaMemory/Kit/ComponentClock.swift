/// A component's injected clock with its type erased, so that no public component type is generic
/// over its clock.
///
/// Time is a `Duration` since the component's **origin**, the clock's reading when this value was
/// made: every core in the package measures time that way, whatever the clock. Values copied from
/// one another share their origin (the RPC handler and the advertisement manager use their
/// registry's clock, so the three agree on every instant).
///
/// `ContinuousClock`, the default, is read directly; any other clock through a closure.
@usableFromInline
package struct ComponentClock: Sendable {
    @usableFromInline
    enum Source: Sendable {
        case continuous(origin: ContinuousClock.Instant)
        case other(now: @Sendable () -> Duration, sleep: @Sendable (Duration) async throws -> Void)
    }

    @usableFromInline let source: Source

    /// Wraps `clock`; its current reading becomes the origin.
    package init<C: Clock>(_ clock: C) where C.Duration == Duration {
        if clock is ContinuousClock {
            source = .continuous(origin: ContinuousClock.now)
        } else {
            let origin = clock.now
            source = .other(
                now: { origin.duration(to: clock.now) },
                sleep: { deadline in try await clock.sleep(until: origin.advanced(by: deadline), tolerance: nil) }
            )
        }
    }

    /// The time since the origin. - Complexity: O(1), one reading of the clock.
    @inlinable
    package var now: Duration {
        switch source {
        case .continuous(let origin): origin.duration(to: .now)
        case .other(let now, _): now()
        }
    }

    /// Suspends until the clock reaches `deadline` (a duration since the origin); returns at once
    /// when it already has.
    /// - Throws: `CancellationError` when the task is cancelled first.
    package func sleep(until deadline: Duration) async throws {
        switch source {
        case .continuous(let origin):
            try await ContinuousClock().sleep(until: origin.advanced(by: deadline), tolerance: nil)
        case .other(_, let sleep):
            try await sleep(deadline)
        }
    }
}
