/// Why entries left a component. An open set: components add reasons as static members in
/// extensions, and the reason's `name` is the `reason` label value in metrics.
public struct RemovalReason: Hashable, Sendable, CustomStringConvertible {
    /// The label value, in snake_case.
    public let name: String
    /// Creates a reason; `name` should be snake_case, it becomes a metrics label value.
    public init(_ name: String) { self.name = name }
    public var description: String { name }

    /// Removed to make room at the limit (least recently used, closest to expiry, …), or because
    /// the operator lowered the base limit.
    public static let evicted = RemovalReason("evicted")
    /// Its time to live passed.
    public static let expired = RemovalReason("expired")
    /// Its owner disconnected.
    public static let disconnected = RemovalReason("disconnected")
    /// Its caller's task was cancelled.
    public static let callerCancelled = RemovalReason("caller_cancelled")
    /// Its deadline passed.
    public static let timedOut = RemovalReason("timed_out")
    /// Its liveness check failed.
    public static let dead = RemovalReason("dead")
    /// The pressure monitor lowered the effective limit below the size.
    public static let pressure = RemovalReason("pressure")
    /// The component shut down.
    public static let shutdown = RemovalReason("shutdown")
    /// Removed on request (`remove`, `withdraw`, `close`, …).
    public static let removed = RemovalReason("removed")
}

/// Why a component refused a request. An open set, like ``RemovalReason``.
public struct RejectionReason: Hashable, Sendable, CustomStringConvertible {
    /// The label value, in snake_case.
    public let name: String
    /// Creates a reason; `name` should be snake_case.
    public init(_ name: String) { self.name = name }
    public var description: String { name }

    /// The component is at its effective limit.
    public static let limitReached = RejectionReason("limit_reached")
    /// The queue of callers waiting for room is full.
    public static let waitersLimitReached = RejectionReason("waiters_limit_reached")
    /// A caller waited for room until its deadline.
    public static let waitTimedOut = RejectionReason("wait_timed_out")
    /// A caller would have had to wait, but the component's `run()` had ended (and not started
    /// again), so nothing would enforce its deadline.
    public static let notRunning = RejectionReason("not_running")
}

/// Something a component counts that is neither a removal nor a rejection (calls started,
/// failovers, late replies, re-advertisements, cleanup passes). An open set, like ``RemovalReason``.
public struct MemoryEvent: Hashable, Sendable, CustomStringConvertible {
    /// The label value, in snake_case.
    public let name: String
    /// Creates an event; `name` should be snake_case.
    public init(_ name: String) { self.name = name }
    public var description: String { name }

    /// Work that needs the component's `run()` (a caller waiting with a deadline) arrived before
    /// `run()` started: it was accepted and waits; its deadline counts from now and is enforced as
    /// soon as `run()` runs.
    public static let waitingForRun = MemoryEvent("waiting_for_run")
}
