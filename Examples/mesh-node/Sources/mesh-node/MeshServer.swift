import Logging
import MaculaMesh
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import ServiceLifecycle

/// An inbound TCP connection's identity in the `ClientManager`: a counter, never reused.
typealias ConnectionID = UInt64

/// What the client manager keeps about an inbound connection.
struct InboundClient: Sendable {
    let remote: String
}

/// An inbound stream's identity: HTTP/2 stream IDs repeat across connections, so it is
/// (connection, stream).
struct MeshStreamID: Hashable, Sendable {
    let connection: ConnectionID
    let stream: HTTP2StreamID
}

typealias MeshClients = ClientManager<ConnectionID, InboundClient, MeshStreamID>

/// An accepted connection: its channel and its HTTP/2 streams.
struct InboundConnection: Sendable {
    let channel: any Channel
    let multiplexer: NIOHTTP2Handler.AsyncStreamMultiplexer<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>>
}

/// The mesh listener: h2c (HTTP/2 over cleartext TCP with prior knowledge). Every accepted
/// connection is one client of `clients` for exactly the channel's lifetime; every stream is one
/// of its streams while it is served. Above the client limit a connection is sent GOAWAY and
/// closed; admitted clients are unaffected.
struct MeshServer: Service, CustomStringConvertible {
    let host: String
    let port: Int
    let group: any EventLoopGroup
    let clients: MeshClients
    let router: MeshRouter
    let maxBody: Int
    let logger: Logger
    private let nextConnection = NIOLockedValueBox<ConnectionID>(0)

    var description: String { "mesh-server" }

    init(
        host: String, port: Int, group: any EventLoopGroup, clients: MeshClients, router: MeshRouter,
        maxBody: Int, logger: Logger
    ) {
        self.host = host
        self.port = port
        self.group = group
        self.clients = clients
        self.router = router
        self.maxBody = maxBody
        self.logger = logger
    }

    func run() async throws {
        var h2 = NIOHTTP2Handler.Configuration()
        // SETTINGS_MAX_CONCURRENT_STREAMS is the client manager's per-client stream limit.
        h2.connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: clients.configuration.maximumStreamsPerClient),
            HTTP2Setting(parameter: .maxHeaderListSize, value: 16_384),
        ]
        let configuration = h2
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let multiplexer = try channel.pipeline.syncOperations.configureAsyncHTTP2Pipeline(
                        mode: .server, configuration: configuration
                    ) { stream in
                        stream.eventLoop.makeCompletedFuture {
                            try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                            return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                                wrappingChannelSynchronously: stream
                            )
                        }
                    }
                    return InboundConnection(channel: channel, multiplexer: multiplexer)
                }
            }
        logger.info("mesh listening (h2c)", metadata: ["address": "\(host):\(port)"])
        try await runUntilGracefulShutdown {
            try await server.executeThenClose { connections in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in connections {
                        group.addTask { await serve(connection) }
                    }
                }
            }
        }
    }

    /// Serves one connection until it closes (or the server is cancelled, which closes it).
    private func serve(_ connection: InboundConnection) async {
        let id = nextConnection.withLockedValue { value in
            value += 1
            return value
        }
        let remote = connection.channel.remoteAddress?.description ?? "unknown"
        do {
            try await clients.withClient(id, info: InboundClient(remote: remote)) {
                try await withTaskCancellationHandler {
                    try await withThrowingDiscardingTaskGroup { streams in
                        for try await stream in connection.multiplexer.inbound {
                            streams.addTask { await serve(stream, on: id) }
                        }
                    }
                } onCancel: {
                    connection.channel.close(promise: nil)
                }
            }
        } catch let error as ClientManagerError where error == .maxClientsReached {
            logger.info("connection refused", metadata: ["remote": "\(remote)", "reason": "\(error)"])
            let goAway = HTTP2Frame(
                streamID: .rootStream,
                payload: .goAway(lastStreamID: .rootStream, errorCode: .refusedStream, opaqueData: nil)
            )
            try? await connection.channel.writeAndFlush(goAway)
        } catch {
            logger.debug("connection ended", metadata: ["remote": "\(remote)", "error": "\(error)"])
        }
        connection.channel.close(promise: nil)
    }

    /// Serves one stream: one request, one response. The stream counts against its client's
    /// stream limit while it is served.
    private func serve(
        _ stream: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, on connection: ConnectionID
    ) async {
        guard let streamID = try? await stream.channel.getOption(HTTP2StreamChannelOptions.streamID).get() else {
            stream.channel.close(promise: nil)
            return
        }
        let key = MeshStreamID(connection: connection, stream: streamID)
        do {
            try await clients.openStream(key, for: connection)
        } catch {
            logger.debug("stream refused", metadata: ["stream": "\(streamID)", "reason": "\(error)"])
            stream.channel.close(promise: nil)
            return
        }
        do {
            try await stream.executeThenClose { inbound, outbound in
                let response: MeshResponse
                switch try await readRequest(inbound) {
                case .request(let request):
                    response = await router.handle(request)
                case .tooLarge:
                    response = .text(.payloadTooLarge, "request body over \(maxBody) bytes\n")
                case .incomplete:
                    return
                }
                try await write(response, to: outbound)
            }
        } catch {
            logger.debug("stream ended", metadata: ["stream": "\(streamID)", "error": "\(error)"])
        }
        await clients.closeStream(key)
    }

    private enum Inbound {
        case request(MeshRequest)
        case tooLarge
        case incomplete
    }

    /// Reads one request, buffering at most `maxBody` bytes of body. Past that the body is read
    /// and discarded to its end, so the 413 reaches the client on a cleanly ended stream; past
    /// 4 × `maxBody` discarded bytes it stops reading, and closing the stream resets it.
    private func readRequest(_ inbound: NIOAsyncChannelInboundStream<HTTPServerRequestPart>) async throws -> Inbound {
        var head: HTTPRequestHead?
        var body = ByteBuffer()
        var discarded = 0
        for try await part in inbound {
            switch part {
            case .head(let requestHead):
                head = requestHead
            case .body(var chunk):
                if discarded == 0, body.readableBytes + chunk.readableBytes <= maxBody {
                    body.writeBuffer(&chunk)
                } else {
                    discarded += chunk.readableBytes
                    body.clear()
                    if discarded > 4 * maxBody { return .tooLarge }
                }
            case .end:
                if discarded > 0 { return .tooLarge }
                guard let head else { return .incomplete }
                return .request(MeshRequest(method: head.method, path: head.uri, headers: head.headers, body: body))
            }
        }
        return .incomplete
    }
}

/// Writes `response` whole, with its content-length.
func write(_ response: MeshResponse, to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>) async throws {
    var headers = response.headers
    headers.replaceOrAdd(name: "content-length", value: String(response.body.readableBytes))
    try await outbound.write(contentsOf: [
        .head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers)),
        .body(.byteBuffer(response.body)),
        .end(nil),
    ])
}
