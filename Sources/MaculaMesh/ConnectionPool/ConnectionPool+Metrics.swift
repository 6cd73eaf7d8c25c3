extension MemoryEvent {
    /// A caller missed while a connect to its node was in flight, and shares it.
    public static let connectShared = MemoryEvent("connect_shared")
    /// A caller found no free slot and waits for one.
    public static let callerQueued = MemoryEvent("caller_queued")
    /// A connection factory call threw (once per connect, however many callers shared it).
    public static let connectFailed = MemoryEvent("connect_failed")
    /// A connect succeeded but its connection was closed without entering the pool.
    public static let connectDiscarded = MemoryEvent("connect_discarded")
}
