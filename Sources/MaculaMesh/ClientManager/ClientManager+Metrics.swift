// The label values the client manager adds to the open metric sets of MaculaMemory.

extension RejectionReason {
    /// A client already had its maximum number of streams open when it opened another.
    public static let streamLimitReached = RejectionReason("stream_limit_reached")
}

extension MemoryEvent {
    /// Streams removed together with their client (disconnect, end of a `withClient` scope,
    /// liveness check, shutdown). Explicit ``ClientManager/closeStream(_:)`` calls are not counted.
    public static let streamsRemoved = MemoryEvent("streams_removed")
}
