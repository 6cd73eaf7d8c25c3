
extension RejectionReason {
    /// A client already had its maximum number of streams open when it opened another.
    public static let streamLimitReached = RejectionReason("stream_limit_reached")
}

extension MemoryEvent {
    /// Streams removed together with their client; ``ClientManager/closeStream(_:)`` is not counted.
    public static let streamsRemoved = MemoryEvent("streams_removed")
}
