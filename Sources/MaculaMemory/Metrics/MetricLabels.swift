/// Why entries left a component, the `reason` label value. An open set: components add reasons
/// as static members in extensions.
public struct RemovalReason: Hashable, Sendable, CustomStringConvertible {
    /// The label value, in snake_case.
    public let name: String
    /// Creates a reason; `name` should be snake_case.
    public init(_ name: String) { self.name = name }
    public var description: String { name }

    /// Removed to make room at the limit, or because the operator lowered it.
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
    /// A caller would have had to wait while the component's `run()` had ended.
    public static let notRunning = RejectionReason("not_running")
}

/// Something a component counts that is neither a removal nor a rejection; an open set.
public struct MemoryEvent: Hashable, Sendable, CustomStringConvertible {
    /// The label value, in snake_case.
    public let name: String
    /// Creates an event; `name` should be snake_case.
    public init(_ name: String) { self.name = name }
    public var description: String { name }

    /// Work that needs the component's `run()` was accepted before `run()` started.
    public static let waitingForRun = MemoryEvent("waiting_for_run")
}
