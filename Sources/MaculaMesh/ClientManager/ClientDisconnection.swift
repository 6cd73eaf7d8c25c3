/// What ``ClientManager/clientDisconnected(_:)`` removed: the client, the info it was registered
/// with, and exactly the streams it had open.
public struct ClientDisconnection<ClientID: Sendable, ClientInfo: Sendable, StreamID: Sendable>: Sendable {
    /// The client that was removed.
    public let client: ClientID
    /// The info it was registered (or last re-registered) with.
    public let info: ClientInfo
    /// The streams it had open, all removed with it, in no particular order.
    public let streams: [StreamID]

    /// Creates a record of a removal.
    public init(client: ClientID, info: ClientInfo, streams: [StreamID]) {
        self.client = client
        self.info = info
        self.streams = streams
    }
}

extension ClientDisconnection: Equatable where ClientID: Equatable, ClientInfo: Equatable, StreamID: Equatable {}
extension ClientDisconnection: Hashable where ClientID: Hashable, ClientInfo: Hashable, StreamID: Hashable {}
