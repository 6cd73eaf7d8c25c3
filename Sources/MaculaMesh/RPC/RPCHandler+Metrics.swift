extension MemoryEvent {
    /// A call started, local or remote.
    public static let callStarted = MemoryEvent("call_started")
    /// An attempt's timeout passed before its reply arrived.
    public static let attemptTimedOut = MemoryEvent("attempt_timed_out")
    /// The transport reported an attempt failed after its send (``RPCHandler/attemptFailed(_:attempt:)``).
    public static let attemptFailed = MemoryEvent("attempt_failed")
    /// A call moved on to another provider after a timeout, a failed send or a failed attempt.
    public static let failover = MemoryEvent("failover")
    /// A reply arrived for a call that had already ended, and was discarded.
    public static let lateReply = MemoryEvent("late_reply")
    /// A discovery started (one per service, however many callers share it).
    public static let discoveryStarted = MemoryEvent("discovery_started")
}

extension RemovalReason {
    /// A pending call ended with its reply (a result or the provider's failure).
    public static let replied = RemovalReason("replied")
    /// A pending call ended with an error other than a timeout.
    public static let callFailed = RemovalReason("call_failed")
    /// A pending entry ended because the handler's `run()` ended.
    public static let stopped = RemovalReason("stopped")
}
