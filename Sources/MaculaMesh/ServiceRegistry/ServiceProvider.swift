/// A node that provides a service: where to send a request for it.
///
/// Two providers are equal when every field is equal. The registry treats ``nodeID`` as the
/// provider's identity when it merges this node's own advertisement with cached remote results
/// (see ``ServiceRegistry/providers(for:)``).
public struct ServiceProvider: Hashable, Sendable, CustomStringConvertible {
    /// The mesh node that provides the service (the seed's `node_id`).
    public var nodeID: String
    /// Where the node accepts requests (the seed's `endpoint`), for example `"quic://10.0.0.7:4433"`.
    public var address: String
    /// Free-form attributes published with the advertisement (version, region, …).
    public var metadata: [String: String]

    /// Creates a provider.
    /// - Parameters:
    ///   - nodeID: the mesh node that provides the service.
    ///   - address: where the node accepts requests.
    ///   - metadata: free-form attributes; empty by default.
    public init(nodeID: String, address: String, metadata: [String: String] = [:]) {
        self.nodeID = nodeID
        self.address = address
        self.metadata = metadata
    }

    /// `nodeID@address`, for logs.
    public var description: String { "\(nodeID)@\(address)" }
}
