/// A node that provides a service: where to send a request for it. Equal when every field is;
/// lookups merge this node's advertisement with cached results by ``nodeID``.
public struct ServiceProvider: Hashable, Sendable, CustomStringConvertible {
    /// The mesh node that provides the service.
    public var nodeID: String
    /// Where the node accepts requests, for example `"quic://10.0.0.7:4433"`.
    public var address: String
    /// Free-form attributes published with the advertisement (version, region, …).
    public var metadata: [String: String]

    /// Creates a provider.
    public init(nodeID: String, address: String, metadata: [String: String] = [:]) {
        self.nodeID = nodeID
        self.address = address
        self.metadata = metadata
    }

    /// `nodeID@address`, for logs.
    public var description: String { "\(nodeID)@\(address)" }
}
