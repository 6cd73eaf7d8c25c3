/// Where a component stands with its `run()`. Work that needs `run()` is accepted before it has
/// ever started, refused with `notRunning` once one has ended (until it starts again), and
/// everything is refused after `shutdown()`.
@usableFromInline @frozen
package enum RunLifecycle: Sendable, Hashable {
    /// Next: `running`, `shutDown`.
    case notStarted
    /// Next: `stopped` (it returned), `shutDown`.
    case running
    /// Next: `running`, `shutDown`.
    case stopped
    /// Terminal.
    case shutDown

    @usableFromInline @frozen
    package enum Start: Sendable, Hashable {
        case started
        case alreadyRunning
        case shutDown
    }

    /// - Complexity: O(1).
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

    /// - Returns: whether it was running, so what waits for `run()` must fail. - Complexity: O(1).
    @usableFromInline
    package mutating func end() -> Bool {
        guard self == .running else { return false }
        self = .stopped
        return true
    }

    /// - Returns: whether this was the first time. - Complexity: O(1).
    @usableFromInline
    package mutating func shutDown() -> Bool {
        guard self != .shutDown else { return false }
        self = .shutDown
        return true
    }
}

/// The one-time warning that work accepted before `run()` is already past its deadline: the sign
/// of an embedder who forgot to run `run()`.
package struct OverdueBeforeRun: Sendable, Hashable {
    private var warned = false

    package init() {}

    /// - Parameter lifecycle: the lifecycle before `run()` starts (or now, for an API call).
    /// - Returns: how far past its deadline the oldest work is, when the warning is due (at most
    ///   once per component). - Complexity: O(1).
    package mutating func check(_ lifecycle: RunLifecycle, earliestDeadline: Duration?, now: Duration) -> Duration? {
        guard !warned, lifecycle == .notStarted, let earliestDeadline, earliestDeadline <= now else { return nil }
        warned = true
        return now - earliestDeadline
    }
}

/// Work accepted before `run()` started: count ``MemoryEvent/waitingForRun`` and, when `overdueBy`
/// is set, log the one-time ``ComponentLogEvent/Kind/runNotStarted`` warning.
@usableFromInline
package struct AcceptedBeforeRun: Sendable, Hashable {
    package var overdueBy: Duration?

    package init(overdueBy: Duration?) {
        self.overdueBy = overdueBy
    }
}

extension OverdueBeforeRun {
    /// Check before adding the new work's own deadline.
    /// - Returns: nil when `run()` has started. - Complexity: O(1).
    package mutating func accept(_ lifecycle: RunLifecycle, earliestDeadline: Duration?, now: Duration) -> AcceptedBeforeRun? {
        guard lifecycle == .notStarted else { return nil }
        return AcceptedBeforeRun(overdueBy: check(lifecycle, earliestDeadline: earliestDeadline, now: now))
    }
}
