import MaculaMemory
import MaculaMesh
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTP2
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

    /// A peer that goes away closes the pooled channel: the entry is removed as dead at once,
    /// not on the next hit.
    @Test func aPooledConnectionWhosePeerLeavesIsRemovedAsDead() async throws {
        let peer = try await makeNode(["--provide", "echo"])
        let running = Task { try await peer.run() }
        let port = try await peer.meshPort.futureResult.get()
        try await withNode([]) { node, _ in
            let address = "127.0.0.1:\(port)"
            let connection = try await node.pool.connection(to: address)
            await peer.stop()
            _ = try await running.value
            try await connection.channel.closeFuture.get()
            while await node.pool.info(for: address) != nil { await Task.yield() }   // the prune runs in a task
            let stats = await node.metrics.snapshot().component(named: node.pool.componentName)
            #expect(stats?.removals[.dead] == 1)
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

    /// Every open stream reset at once (their callers cancelled) while the peer's answers to them
    /// are on their way: the connection ignores those answers and goes on. A proxy holds the
    /// peer's bytes until the resets are sent. With NIO's default memory of 32 reset streams, the
    /// answers are a connection error, and the connection closes on it.
    @Test(arguments: [(200, true), (32, false)])
    func aBurstOfResetStreamsWithAnswersInFlight(resetStreams: Int, survives: Bool) async throws {
        let (ends, endsContinuation) = AsyncStream.makeStream(of: StreamEnd.self)
        try await withNode(["--provide", "echo"], observer: { endsContinuation.yield($0) }) { _, b in
            let proxy = try await HoldingProxy.start(to: b)
            let connection = try await PeerConnection.connect(
                to: "127.0.0.1:\(proxy.port)", group: MultiThreadedEventLoopGroup.singleton, timeout: .seconds(5),
                drainTimeout: .seconds(5), resetStreams: resetStreams
            )
            var streams: [any Channel] = []
            for call in 0..<100 {
                let stream = try await connection.multiplexer.openStream { stream in
                    stream.eventLoop.makeCompletedFuture {
                        try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: .http))
                        return stream
                    }
                }
                let parts = connection.requestParts(.POST, "/macula/rpc/echo", headers: [:], body: ByteBuffer(string: "\(call)"))
                for part in parts { try await stream.writeAndFlush(part) }
                streams.append(stream)
            }
            var answered = 0
            for await end in ends where end == .answered(200) {
                answered += 1
                if answered == 100 { break }                       // all answered, held by the proxy
            }
            for stream in streams { try? await stream.close() }   // RST_STREAM each
            proxy.release()                                        // the answers arrive now
            if survives {
                let (status, body) = try await connection.exchange(
                    .POST, "/macula/rpc/echo", body: ByteBuffer(string: "after"), maxBody: 64
                )
                #expect(status == .ok)
                #expect(String(buffer: body) == "after")
                #expect(connection.channel.isActive)
                await connection.close()
            } else {
                try await connection.channel.closeFuture.get()     // closed on the connection error
            }
            try await proxy.close()
        }
    }
}

/// A TCP proxy for one connection to `127.0.0.1:port`: forwards the client's bytes at once and
/// holds the server's until `release()`.
final class HoldingProxy: Sendable {
    private final class Relay: ChannelInboundHandler, @unchecked Sendable {   // confined to its event loop
        typealias InboundIn = ByteBuffer
        let peer: EventLoopFuture<any Channel>
        var held: [ByteBuffer]? = nil
        init(peer: EventLoopFuture<any Channel>, holding: Bool) {
            self.peer = peer
            held = holding ? [] : nil
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = unwrapInboundIn(data)
            if held != nil { held?.append(bytes) } else { peer.whenSuccess { $0.writeAndFlush(bytes, promise: nil) } }
        }
        func release() {
            let bytes = held ?? []
            held = nil
            peer.whenSuccess { peer in for chunk in bytes { peer.writeAndFlush(chunk, promise: nil) } }
        }
        func channelInactive(context: ChannelHandlerContext) { peer.whenSuccess { $0.close(promise: nil) } }
    }

    let port: Int
    private let listener: any Channel
    private let fromServer: NIOLockedValueBox<(relay: Relay, loop: any EventLoop)?>

    private init(port: Int, listener: any Channel, fromServer: NIOLockedValueBox<(relay: Relay, loop: any EventLoop)?>) {
        self.port = port
        self.listener = listener
        self.fromServer = fromServer
    }

    static func start(to serverPort: Int) async throws -> HoldingProxy {
        let group = MultiThreadedEventLoopGroup.singleton
        let fromServer = NIOLockedValueBox<(relay: Relay, loop: any EventLoop)?>(nil)
        let listener = try await ServerBootstrap(group: group)
            .childChannelInitializer { client in
                let server = ClientBootstrap(group: client.eventLoop).connect(host: "127.0.0.1", port: serverPort)
                let backward = Relay(peer: client.eventLoop.makeSucceededFuture(client), holding: true)
                fromServer.withLockedValue { $0 = (backward, client.eventLoop) }
                return server.flatMap { server in
                    server.pipeline.addHandler(backward).flatMap {
                        client.pipeline.addHandler(Relay(peer: client.eventLoop.makeSucceededFuture(server), holding: false))
                    }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return HoldingProxy(port: listener.localAddress?.port ?? 0, listener: listener, fromServer: fromServer)
    }

    /// Sends what the server sent so far, and everything after at once.
    func release() {
        guard let (relay, loop) = fromServer.withLockedValue({ $0 }) else { return }
        loop.execute { relay.release() }
    }

    func close() async throws { try await listener.close() }
}
