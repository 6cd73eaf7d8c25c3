/// Where a component stands with its `run()`: the lifecycle every component with deadlines
/// shares, so that start order never matters.
///
/// Work that needs `run()` (a caller waiting with a deadline) is accepted before `run()` has ever
/// started and waits for it; its deadline counts from its arrival and is enforced as soon as
/// `run()` runs. Once a `run()` has ended, such work is refused with the component's `notRunning`
/// error until `run()` starts again. After `shutdown()` everything is refused.
@usableFromInline @frozen
package enum RunLifecycle: Sendable, Hashable {
    /// `run()` has never started. Work that needs it is accepted and waits.
    /// Next: `running`, `shutDown`.
    case notStarted
    /// `run()` enforces the deadlines. Next: `stopped` (it returned), `shutDown`.
    case running
    /// A `run()` returned; work that needs `run()` is refused. Next: `running`, `shutDown`.
    case stopped
    /// Terminal: everything is refused.
    case shutDown

    /// What a call to `run()` may do.
    @usableFromInline @frozen
    package enum Start: Sendable, Hashable {
        /// It runs; the lifecycle is now `running`.
        case started
        /// Another `run()` is running: refuse with `alreadyRunning`.
        case alreadyRunning
        /// The component is shut down: refuse with `shutdown`.
        case shutDown
    }

    /// `run()` starts. - Complexity: O(1).
    @usableFromInline
    package mutating func start() -> Start {
        switch self {
        case .notStarted, .stopped:
            self = .running
            return .started
        case .running:
            return .alreadyRunning
        case .shutDown:
            return .shutDown
        }
    }

    /// `run()` returned. - Returns: whether it was running (then whatever waits for `run()` must
    /// be failed with `notRunning`). - Complexity: O(1).
    @usableFromInline
    package mutating func end() -> Bool {
        guard self == .running else { return false }
        self = .stopped
        return true
    }

    /// `shutdown()` ran. - Returns: whether this was the first time. - Complexity: O(1).
    @usableFromInline
    package mutating func shutDown() -> Bool {
        guard self != .shutDown else { return false }
        self = .shutDown
        return true
    }
}

/// The one-time warning for work accepted before `run()` that is already past its deadline: the
/// sign of an embedder who forgot to run `run()`. A normal start never warns.
package struct OverdueBeforeRun: Sendable, Hashable {
    private var warned = false

    package init() {}

    /// Whether to warn now, at most once per component.
    /// - Parameters:
    ///   - lifecycle: the lifecycle before `run()` starts (or now, for an API call).
    ///   - earliestDeadline: the earliest deadline of the work waiting for `run()`, if any.
    ///   - now: the current time.
    /// - Returns: how far past its deadline the oldest work is, when a warning is due.
    /// - Complexity: O(1).
    package mutating func check(_ lifecycle: RunLifecycle, earliestDeadline: Duration?, now: Duration) -> Duration? {
        guard !warned, lifecycle == .notStarted, let earliestDeadline, earliestDeadline <= now else { return nil }
        warned = true
        return now - earliestDeadline
    }
}

/// Work accepted before `run()` started: the component counts ``MemoryEvent/waitingForRun`` and,
/// when `overdueBy` is set, logs the one-time ``ComponentLogEvent/Kind/runNotStarted`` warning.
@usableFromInline
package struct AcceptedBeforeRun: Sendable, Hashable {
    /// How far past its deadline the oldest work waiting for `run()` is, when the warning is due.
    package var overdueBy: Duration?

    package init(overdueBy: Duration?) {
        self.overdueBy = overdueBy
    }
}

extension OverdueBeforeRun {
    /// New work is accepted at `now` (check before adding its own deadline).
    /// - Returns: nil when `run()` has started; otherwise what to report for work accepted before it.
    /// - Complexity: O(1).
    package mutating func accept(_ lifecycle: RunLifecycle, earliestDeadline: Duration?, now: Duration) -> AcceptedBeforeRun? {
        guard lifecycle == .notStarted else { return nil }
        return AcceptedBeforeRun(overdueBy: check(lifecycle, earliestDeadline: earliestDeadline, now: now))
    }
}
