import MaculaMemory
import MaculaMesh
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
@testable import mesh_node

/// The three library gaps as the node uses them: an evicted pooled connection drains (gap 3),
/// abandoned attempts reset their streams (gap 2), and a provider's non-200 fails over
/// (`attemptFailed`). Each against nodes started in-process on port 0.
@Suite(.timeLimit(.minutes(1)))
struct PeerTrafficTests {
    /// A pool of one connection evicts B's for C's while a request to B is half sent: B's
    /// connection takes no new stream, finishes the open one with B's answer, then closes.
    @Test func anEvictedConnectionFinishesItsOpenStreamThenCloses() async throws {
        try await withNode(["--provide", "echo"]) { _, b in
            try await withNode(["--provide", "echo"]) { _, c in
                let pool = try PeerPool(configuration: ConnectionPoolConfiguration(maximumConnections: 1)) { address in
                    try await PeerConnection.connect(
                        to: address, group: MultiThreadedEventLoopGroup.singleton, timeout: .seconds(5), drainTimeout: .seconds(30)
                    )
                }
                let toB = try await pool.connection(to: "127.0.0.1:\(b)")
                let stream = try await toB.openStream()
                try await stream.executeThenClose { inbound, outbound in
                    let parts = toB.requestParts(.POST, "/macula/rpc/echo", headers: [:], body: ByteBuffer(string: "late"))
                    try await outbound.write(contentsOf: parts.dropLast())     // no end yet: B has not answered
                    _ = try await pool.connection(to: "127.0.0.1:\(c)")           // evicts B's connection
                    #expect(await pool.info(for: "127.0.0.1:\(b)") == nil)
                    #expect(toB.channel.isActive)
                    await #expect(throws: MeshNodeError.self) { _ = try await toB.openStream() }
                    try await outbound.write(contentsOf: parts.suffix(1))
                    let (status, body) = try await readResponse(inbound, maxBody: 64)
                    #expect(status == .ok)
                    #expect(String(buffer: body) == "late")
                }
                try await toB.channel.closeFuture.get()                        // closed once its stream ended
                await pool.shutdown()
            }
        }
    }

    @Test func aDrainingConnectionClosesAtItsDeadline() async throws {
        try await withNode(["--provide", "echo"]) { _, b in
            let connection = try await PeerConnection.connect(
                to: "127.0.0.1:\(b)", group: MultiThreadedEventLoopGroup.singleton, timeout: .seconds(5),
                drainTimeout: .milliseconds(200)
            )
            let stream = try await connection.openStream()
            try await stream.executeThenClose { inbound, outbound in
                let parts = connection.requestParts(.POST, "/macula/rpc/echo", headers: [:], body: ByteBuffer(string: "x"))
                try await outbound.write(contentsOf: parts.dropLast())         // never finished
                await connection.close()
                #expect(connection.channel.isActive)
                try await connection.channel.closeFuture.get()                 // the deadline closed it
                await #expect(throws: (any Error).self) { _ = try await readResponse(inbound, maxBody: 64) }
            }
        }
    }

    /// The provider never answers: the attempt times out, the handler abandons it, and the
    /// transport resets its stream, so the pooled connection to the provider has none open.
    @Test func anAbandonedAttemptResetsItsStream() async throws {
        let silent = try await SilentPeer.start()
        try await withNode(["--call-timeout", "0.2", "--max-attempts", "1"]) { node, port in
            let provider = "127.0.0.1:\(silent.port)"
            try await node.registry.cacheProviders([ServiceProvider(nodeID: "silent", address: provider)], for: "slow")
            let client = try await connect(port)
            let (status, _) = try await client.exchange(.POST, "/macula/rpc/slow", body: ByteBuffer(string: "x"), maxBody: 1_024)
            #expect([.badGateway, .gatewayTimeout].contains(status))
            #expect(node.transport.openAttempts == 0)
            let toProvider = try #require(await node.pool.connections().first { $0.node == provider }?.connection)
            #expect(toProvider.streams.openCount == 0)
            await client.close()
        }
        try await silent.close()
    }

    /// One provider answers every forwarded call with 404 (it does not provide the service): each
    /// such attempt fails over to the other at once, and every call succeeds.
    @Test func aProvidersNon200FailsOverToTheNextProvider() async throws {
        try await withNode(["--provide", "echo"]) { _, good in
            try await withNode([]) { _, bad in
                try await withNode(["--max-attempts", "2", "--call-timeout", "30"]) { node, port in
                    try await node.registry.cacheProviders(
                        [ServiceProvider(nodeID: "bad", address: "127.0.0.1:\(bad)"),
                         ServiceProvider(nodeID: "good", address: "127.0.0.1:\(good)")],
                        for: "echo"
                    )
                    let client = try await connect(port)
                    for call in 0..<20 {
                        let (status, body) = try await client.exchange(
                            .POST, "/macula/rpc/echo", body: ByteBuffer(string: "\(call)"), maxBody: 64
                        )
                        #expect(status == .ok)
                        #expect(String(buffer: body) == "\(call)")
                    }
                    let rpc = await node.metrics.snapshot().component(named: node.rpc.componentName)
                    #expect((rpc?.events[.attemptFailed] ?? 0) > 0)          // random order: P(never) = 2^-20
                    #expect(node.transport.openAttempts == 0)
                    #expect(await node.rpc.pendingCallCount == 0)
                    await client.close()
                }
            }
        }
    }
}
