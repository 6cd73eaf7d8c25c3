import MaculaMesh
import Testing

/// Compiled examples of the client manager, for the docs to cut (between `// snippet: NAME` and
/// `// end-snippet`), so that what they show compiles and runs.
@Suite("Documentation examples: ClientManager", .timeLimit(.minutes(3)))
struct ClientManagerDocumentationExamples {
    struct PeerInfo: Sendable {
        var address: String
    }

    @Test("a connection handler inside withClient leaves nothing behind")
    func scopedClient() async throws {
        let peer = "node-7"
        let streamID: UInt64 = 1
        let serve: () async throws -> Void = {}   // stands for serving the peer's connection

        // snippet: client-manager-scope
        let clients = try ClientManager<String, PeerInfo, UInt64>(
            configuration: .init(maximumClients: 10_000, maximumStreamsPerClient: 100)
        )
        let deadlines = Task { try await clients.run() }   // or add it to your ServiceGroup

        try await clients.withClient(peer, info: PeerInfo(address: "10.0.0.7"), admission: .wait(upTo: .seconds(2))) {
            try await clients.openStream(streamID, for: peer)
            try await serve()
        }   // here the peer and its streams are gone, whether it returned, threw or was cancelled
        // end-snippet

        #expect(await clients.clientCount == 0)
        #expect(await clients.streamCount == 0)
        deadlines.cancel()
        try await deadlines.value
    }

    @Test("plain calls: typed rejection at the limit, disconnect returns what it removed")
    func plainCalls() async throws {
        let clients = try ClientManager<String, PeerInfo, UInt64>(
            configuration: .init(maximumClients: 1)
        )
        // snippet: client-manager-plain
        do {
            try await clients.clientConnected("node-1", info: PeerInfo(address: "10.0.0.1"))
        } catch {
            return  // error is a ClientManagerError (.maxClientsReached when full): refuse the connection
        }
        try await clients.openStream(41, for: "node-1")
        try await clients.openStream(42, for: "node-1")
        if let removed = await clients.clientDisconnected("node-1") {
            print("closed \(removed.streams.count) streams of \(removed.client)")
        }
        // end-snippet
        #expect(await clients.clientCount == 0)
    }
}
