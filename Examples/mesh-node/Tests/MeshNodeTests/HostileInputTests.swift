import Logging
import MaculaMesh
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import Testing
@testable import mesh_node

/// Bad input and hostile peers (issue 15), each against a node started in-process on port 0 and
/// spoken to with NIO clients. No test sleeps: each waits on an event (a response, a closed
/// channel's future, a stream's end reported by the node), bounded by its time limit.
@Suite(.timeLimit(.minutes(1)))
struct HostileInputTests {
    @Test func bodyOverMaxBodyIs413AndTheNodeStaysHealthy() async throws {
        try await withNode(["--provide", "echo", "--max-body", "16"]) { node, port in
            let client = try await connect(port)
            let (status, _) = try await client.exchange(
                .POST, "/macula/rpc/echo", body: ByteBuffer(repeating: 0x61, count: 100), maxBody: 1_024
            )
            #expect(status == .payloadTooLarge)
            let (okStatus, body) = try await client.exchange(
                .POST, "/macula/rpc/echo", body: ByteBuffer(string: "small"), maxBody: 1_024
            )
            #expect(okStatus == .ok)
            #expect(String(buffer: body) == "small")
            await client.close()
        }
    }

    /// Silent (nothing) and slow (part of the preface, then nothing): both closed, slot freed.
    @Test(arguments: ["", "PRI * HTTP/2.0"])
    func aConnectionWithoutPrefaceIsClosedAndFreesItsSlot(_ sent: String) async throws {
        try await withNode(["--handshake-timeout", "0.2", "--max-clients", "1", "--provide", "echo"]) { node, port in
            let silent = try await ClientBootstrap(group: .singletonMultiThreadedEventLoopGroup)
                .connect(host: "127.0.0.1", port: port).get()
            if !sent.isEmpty { try await silent.writeAndFlush(ByteBuffer(string: sent)) }
            try await silent.closeFuture.get()           // closed by the node, not by us
            let client = try await connect(port)          // the only client slot is free again
            let (status, _) = try await client.exchange(.POST, "/macula/rpc/echo", body: ByteBuffer(string: "x"), maxBody: 64)
            #expect(status == .ok)
            await client.close()
        }
    }

    @Test func aConnectionAboveTheClientLimitIsRefusedAndAdmittedOnesAreUnaffected() async throws {
        try await withNode(["--max-clients", "1", "--provide", "echo"]) { node, port in
            let admitted = try await connect(port)
            let (status, _) = try await admitted.exchange(.POST, "/macula/rpc/echo", body: ByteBuffer(string: "x"), maxBody: 64)
            #expect(status == .ok)
            let refused = try await connect(port)
            try await refused.channel.closeFuture.get()   // GOAWAY, then closed by the node
            let (again, _) = try await admitted.exchange(.POST, "/macula/rpc/echo", body: ByteBuffer(string: "y"), maxBody: 64)
            #expect(again == .ok)
            await admitted.close()
        }
    }

    @Test func aConnectionWithNoOpenStreamIsClosedAfterTheIdleTimeout() async throws {
        try await withNode(["--idle-timeout", "0.3", "--max-clients", "1", "--provide", "echo"]) { node, port in
            let idle = try await connect(port)
            let (status, _) = try await idle.exchange(.POST, "/macula/rpc/echo", body: ByteBuffer(string: "x"), maxBody: 64)
            #expect(status == .ok)
            try await idle.channel.closeFuture.get()      // idle since its stream ended: closed
            let next = try await connect(port)
            let (again, _) = try await next.exchange(.POST, "/macula/rpc/echo", body: ByteBuffer(string: "y"), maxBody: 64)
            #expect(again == .ok)
            await next.close()
        }
    }

    @Test func aStreamOpenLongerThanTheIdleTimeoutKeepsItsConnection() async throws {
        let silent = try await SilentPeer.start()
        // The call outlives the idle timeout (its attempt times out at 0.5 s): the answer still
        // arrives on the same connection, so the idle timer did not run while the stream was open.
        try await withNode(["--idle-timeout", "0.1", "--call-timeout", "0.5", "--max-attempts", "1"]) { node, port in
            try await node.registry.cacheProviders(
                [ServiceProvider(nodeID: "silent", address: "127.0.0.1:\(silent.port)")], for: "slow", ttl: .seconds(60)
            )
            let client = try await connect(port)
            let (status, _) = try await client.exchange(.POST, "/macula/rpc/slow", body: ByteBuffer(string: "x"), maxBody: 1_024)
            #expect([.badGateway, .gatewayTimeout].contains(status))
            #expect(await node.rpc.pendingCallCount == 0)
            await client.close()
        }
        try await silent.close()
    }

    @Test func malformedFramesCloseThatClientOnly() async throws {
        try await withNode(["--provide", "echo"]) { node, port in
            let healthy = try await connect(port)
            let hostile = try await ClientBootstrap(group: .singletonMultiThreadedEventLoopGroup)
                .connect(host: "127.0.0.1", port: port).get()
            var bytes = ByteBuffer(string: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            // A SETTINGS frame of length 5 (a multiple of 6 is required): FRAME_SIZE_ERROR.
            bytes.writeBytes([0, 0, 5, 0x4, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5])
            try await hostile.writeAndFlush(bytes)
            try await hostile.closeFuture.get()
            let (status, _) = try await healthy.exchange(.POST, "/macula/rpc/echo", body: ByteBuffer(string: "x"), maxBody: 64)
            #expect(status == .ok)
            await healthy.close()
        }
    }

    @Test(arguments: [
        "not json",
        #"{"service":"svc","node":"n","address":"127.0.0.1:1","ttl_seconds":-1}"#,
        #"{"service":"svc","node":"n","address":"127.0.0.1:1","ttl_seconds":0}"#,
        #"{"service":"svc","node":"n","address":"127.0.0.1:1","ttl_seconds":1e300}"#,
        #"{"service":"svc","node":"n","address":"no-port","ttl_seconds":5}"#,
        #"{"service":"","node":"n","address":"127.0.0.1:1","ttl_seconds":5}"#,
    ])
    func anAdvertisementThatDoesNotParseOrHasABadTTLIs400AndNothingIsCached(_ body: String) async throws {
        try await withNode([]) { node, port in
            let client = try await connect(port)
            let (status, _) = try await client.exchange(
                .POST, "/macula/advertise", headers: ["content-type": "application/json"],
                body: ByteBuffer(string: body), maxBody: 1_024
            )
            #expect(status == .badRequest)
            #expect(await node.registry.cachedProviders(for: "svc") == nil)
            #expect(await node.registry.cachedProviders(for: "") == nil)
            await client.close()
        }
    }

    @Test func aCallForAnUnknownServiceIs404() async throws {
        try await withNode([]) { node, port in
            let client = try await connect(port)
            let (status, _) = try await client.exchange(.POST, "/macula/rpc/nope", body: ByteBuffer(string: "x"), maxBody: 1_024)
            #expect(status == .notFound)
            await client.close()
        }
    }

    @Test func aResetStreamCancelsItsOutboundCallAndLeavesNothingPending() async throws {
        let (ends, endsContinuation) = AsyncStream.makeStream(of: StreamEnd.self)
        let silent = try await SilentPeer.start()
        try await withNode(["--call-timeout", "30"], observer: { endsContinuation.yield($0) }) { node, port in
            try await node.registry.cacheProviders(
                [ServiceProvider(nodeID: "silent", address: "127.0.0.1:\(silent.port)")], for: "slow", ttl: .seconds(60)
            )
            let client = try await connect(port)
            let stream = try await client.openStream()
            try await stream.executeThenClose { _, outbound in
                try await outbound.write(contentsOf: client.requestParts(
                    .POST, "/macula/rpc/slow", headers: [:], body: ByteBuffer(string: "x")
                ))
                try await silent.accepted.get()       // the node has dialled the provider: the call is pending
                #expect(await node.rpc.pendingCallCount == 1)
            }                                          // closing an unfinished stream resets it
            var iterator = ends.makeAsyncIterator()
            #expect(await iterator.next() == .cancelled)
            #expect(await node.rpc.pendingCallCount == 0)
            await client.close()
        }
        try await silent.close()
    }

    @Test func aDroppedConnectionCancelsItsOutboundCallAndLeavesNothingPending() async throws {
        let (ends, endsContinuation) = AsyncStream.makeStream(of: StreamEnd.self)
        let silent = try await SilentPeer.start()
        try await withNode(["--call-timeout", "30"], observer: { endsContinuation.yield($0) }) { node, port in
            try await node.registry.cacheProviders(
                [ServiceProvider(nodeID: "silent", address: "127.0.0.1:\(silent.port)")], for: "slow", ttl: .seconds(60)
            )
            let client = try await connect(port)
            let stream = try await client.openStream()
            try await stream.executeThenClose { _, outbound in
                try await outbound.write(contentsOf: client.requestParts(
                    .POST, "/macula/rpc/slow", headers: [:], body: ByteBuffer(string: "x")
                ))
                try await silent.accepted.get()
                #expect(await node.rpc.pendingCallCount == 1)
                try await client.channel.close()           // the whole TCP connection goes
                var iterator = ends.makeAsyncIterator()
                #expect(await iterator.next() == .cancelled)
                #expect(await node.rpc.pendingCallCount == 0)
            }
        }
        try await silent.close()
    }

    @Test func gracefulStopLetsAnInFlightCallFinishWithinTheDrainTimeout() async throws {
        let silent = try await SilentPeer.start()
        let node = try await makeNode(["--call-timeout", "0.5", "--max-attempts", "1", "--drain-timeout", "30"])
        let running = Task { try await node.run() }
        let port = try await node.meshPort.futureResult.get()
        try await node.registry.cacheProviders(
            [ServiceProvider(nodeID: "silent", address: "127.0.0.1:\(silent.port)")], for: "slow", ttl: .seconds(60)
        )
        let client = try await connect(port)
        let stream = try await client.openStream()
        try await stream.executeThenClose { inbound, outbound in
            try await outbound.write(contentsOf: client.requestParts(
                .POST, "/macula/rpc/slow", headers: [:], body: ByteBuffer(string: "x")
            ))
            try await silent.accepted.get()
            await node.stop()                          // as SIGTERM, with the call in flight
            let (status, _) = try await readResponse(inbound, maxBody: 1_024)
            #expect([.badGateway, .gatewayTimeout].contains(status))   // answered, not reset
        }
        #expect(try await running.value == 0)
        try await client.channel.closeFuture.get()     // GOAWAY, then closed once its stream ended
        try await silent.close()
    }

    @Test func gracefulStopDrainsThenClosesWhatIsStillOpenAndExits() async throws {
        let (ends, endsContinuation) = AsyncStream.makeStream(of: StreamEnd.self)
        let silent = try await SilentPeer.start()
        let node = try await makeNode(["--call-timeout", "30", "--drain-timeout", "0.3"]) { endsContinuation.yield($0) }
        let running = Task { try await node.run() }
        let port = try await node.meshPort.futureResult.get()
        try await node.registry.cacheProviders(
            [ServiceProvider(nodeID: "silent", address: "127.0.0.1:\(silent.port)")], for: "slow", ttl: .seconds(60)
        )
        let client = try await connect(port)
        let stream = try await client.openStream()
        try await stream.executeThenClose { inbound, outbound in
            try await outbound.write(contentsOf: client.requestParts(
                .POST, "/macula/rpc/slow", headers: [:], body: ByteBuffer(string: "x")
            ))
            try await silent.accepted.get()
            await node.stop()                          // as SIGTERM: drain, then the forced close at 0.3 s
            var iterator = ends.makeAsyncIterator()
            #expect(await iterator.next() == .cancelled)
            await #expect(throws: (any Error).self) { _ = try await readResponse(inbound, maxBody: 64) }
        }
        let pending = try await running.value
        #expect(pending == 0)
        try await client.channel.closeFuture.get()
        try await silent.close()
    }
}

// MARK: - Helpers

let quiet = Logger(label: "mesh-node-tests") { _ in SwiftLogNoOpLogHandler() }

/// A node on 127.0.0.1 with both ports chosen by the system, and `arguments` after those.
func makeNode(
    _ arguments: [String], observer: @escaping @Sendable (StreamEnd) -> Void = { _ in }
) async throws -> MeshNodeRuntime {
    let command = try MeshNode.parse(["--id", "t", "--mesh-port", "0", "--admin-port", "0"] + arguments)
    return try await MeshNodeRuntime(settings: try command.settings(), logger: quiet, observer: observer)
}

/// Runs `body` with a started node and its mesh port, then stops the node gracefully.
func withNode(
    _ arguments: [String], observer: @escaping @Sendable (StreamEnd) -> Void = { _ in },
    _ body: (MeshNodeRuntime, Int) async throws -> Void
) async throws {
    let node = try await makeNode(arguments, observer: observer)
    let running = Task { try await node.run() }
    do {
        let port = try await node.meshPort.futureResult.get()
        try await body(node, port)
    } catch {
        await node.stop()
        _ = try? await running.value
        throw error
    }
    await node.stop()
    _ = try await running.value
}

/// An h2c client connection to the node.
func connect(_ port: Int) async throws -> PeerConnection {
    try await PeerConnection.connect(
        to: "127.0.0.1:\(port)", group: MultiThreadedEventLoopGroup.singleton, timeout: .seconds(5), drainTimeout: .seconds(5)
    )
}

/// A TCP listener that accepts connections and never reads or answers: a provider that hangs.
struct SilentPeer {
    let channel: any Channel
    let port: Int
    /// Succeeded when the first connection is accepted.
    let accepted: EventLoopFuture<Void>

    static func start() async throws -> SilentPeer {
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.next().makePromise(of: Void.self)
        let first = NIOLockedValueBox(true)
        let channel = try await ServerBootstrap(group: group)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { child in
                if first.withLockedValue({ isFirst in defer { isFirst = false }; return isFirst }) { promise.succeed() }
                return child.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return SilentPeer(channel: channel, port: channel.localAddress?.port ?? 0, accepted: promise.futureResult)
    }

    func close() async throws {
        try await channel.close()
    }
}
