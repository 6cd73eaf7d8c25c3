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

/// How one inbound stream ended, for tests and logs.
enum StreamEnd: Sendable, Equatable {
    /// A response with this status was written.
    case answered(Int)
    /// The client reset the stream or its connection closed before the response: the request's
    /// work (an outbound call included) was cancelled and had returned.
    case cancelled
    /// The stream was refused (over the client's stream limit) or ended before a whole request.
    case dropped
}

/// The mesh listener: h2c (HTTP/2 over cleartext TCP with prior knowledge). Every accepted
/// connection is one client of `clients` for exactly the channel's lifetime; every stream is one
/// of its streams while it is served. Above the client limit a connection is sent GOAWAY and
/// closed; admitted clients are unaffected. A connection is closed when it sends no preface within
/// the handshake timeout, has no open stream for the idle timeout, or sends a malformed frame.
/// Graceful shutdown: stop accepting, send GOAWAY on every connection, let open streams finish up
/// to the drain timeout (then close), call `drained`, return.
struct MeshServer: Service, CustomStringConvertible {
    let settings: MeshNode.Settings
    let group: any EventLoopGroup
    let clients: MeshClients
    let router: MeshRouter
    let bound: EventLoopPromise<Int>
    let logger: Logger
    let observer: @Sendable (StreamEnd) -> Void
    /// Called once the listener is bound, with its port, before connections are accepted.
    let listening: @Sendable (Int) async -> Void
    /// Called once every connection has closed after a graceful shutdown.
    let drained: @Sendable () async -> Void
    private let nextConnection = NIOLockedValueBox<ConnectionID>(0)
    /// The open connections' channels, from the moment they are accepted (some are never served:
    /// accepted just as the listener closes), to quiesce them on graceful shutdown; once
    /// `draining`, a connection accepted late is quiesced at once.
    private let open = NIOLockedValueBox(OpenConnections())

    private struct OpenConnections {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var draining = false
    }
    private let nodeMetrics = NodeMetrics()

    var description: String { "mesh-server" }

    init(
        settings: MeshNode.Settings, group: any EventLoopGroup, clients: MeshClients, router: MeshRouter,
        bound: EventLoopPromise<Int>, logger: Logger, observer: @escaping @Sendable (StreamEnd) -> Void,
        listening: @escaping @Sendable (Int) async -> Void, drained: @escaping @Sendable () async -> Void
    ) {
        self.settings = settings
        self.group = group
        self.clients = clients
        self.router = router
        self.bound = bound
        self.logger = logger
        self.observer = observer
        self.listening = listening
        self.drained = drained
    }

    private var maxBody: Int { settings.maxBody }

    func run() async throws {
        var h2 = NIOHTTP2Handler.Configuration()
        // SETTINGS_MAX_CONCURRENT_STREAMS is the client manager's per-client stream limit.
        h2.connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: clients.configuration.maximumStreamsPerClient),
            HTTP2Setting(parameter: .maxHeaderListSize, value: 16_384),
        ]
        // Every open stream may be reset in one burst (a drain's deadline, a body over the limit):
        // NIO must remember at least that many to ignore the client's frames still on their way.
        h2.connection.maximumRecentlyResetStreams = 2 * clients.configuration.maximumStreamsPerClient
        let configuration = h2
        let handshakeTimeout = TimeAmount.nanoseconds(settings.handshakeTimeout.nanoseconds)
        let idleTimeout = TimeAmount.nanoseconds(settings.idleTimeout.nanoseconds)
        let drainTimeout = TimeAmount.nanoseconds(settings.drainTimeout.nanoseconds)
        let (nodeMetrics, open) = (self.nodeMetrics, self.open)
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: settings.host, port: settings.meshPort) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(HandshakeTimeoutHandler(timeout: handshakeTimeout) {
                        nodeMetrics.connection("handshake_timed_out")
                    })
                    let activity = StreamActivityHandler(idleTimeout: idleTimeout, drainTimeout: drainTimeout) {
                        nodeMetrics.connection("idle_closed")
                    }
                    // Stream channels run on their connection's event loop, so the initializer and
                    // the close callback may touch the connection's handler.
                    let streams = NIOLoopBound(activity, eventLoop: channel.eventLoop)
                    let multiplexer = try sync.configureAsyncHTTP2Pipeline(
                        mode: .server, configuration: configuration
                    ) { stream in
                        stream.eventLoop.makeCompletedFuture {
                            streams.value.streamOpened(try? stream.syncOptions?.getOption(HTTP2StreamChannelOptions.streamID))
                            stream.closeFuture.assumeIsolated().whenComplete { _ in streams.value.streamClosed() }
                            try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                            return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                                wrappingChannelSynchronously: stream
                            )
                        }
                    }
                    try sync.addHandler(activity)
                    let key = ObjectIdentifier(channel)
                    let draining = open.withLockedValue { open in
                        open.channels[key] = channel
                        return open.draining
                    }
                    channel.closeFuture.whenComplete { _ in open.withLockedValue { $0.channels[key] = nil } }
                    if draining { channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
                    return InboundConnection(channel: channel, multiplexer: multiplexer)
                }
            }
        let port = server.channel.localAddress?.port ?? settings.meshPort
        await listening(port)
        bound.succeed(port)
        logger.info("mesh listening (h2c)", metadata: ["address": "\(settings.host):\(port)"])
        let logger = self.logger
        try await server.executeThenClose { connections in
            try await withThrowingDiscardingTaskGroup { group in
                try await withGracefulShutdownHandler {
                    for try await connection in connections {
                        group.addTask { await serve(connection) }
                    }
                } onGracefulShutdown: {
                    // Stop accepting (the sequence above ends), then quiesce every connection:
                    // GOAWAY now, closed once its open streams finish or the drain timeout passes.
                    server.channel.close(promise: nil)
                    let channels = open.withLockedValue { open in
                        open.draining = true
                        return Array(open.channels.values)
                    }
                    logger.info("draining", metadata: ["connections": "\(channels.count)"])
                    for channel in channels {
                        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
                    }
                }
            }
        }
        await drained()
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
                nodeMetrics.connection("accepted")
                nodeMetrics.openConnections(1)
                defer { nodeMetrics.openConnections(-1) }
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
            nodeMetrics.connection("refused")
            logger.info("connection refused", metadata: ["remote": "\(remote)", "reason": "\(error)"])
            let goAway = HTTP2Frame(
                streamID: .rootStream,
                payload: .goAway(lastStreamID: .rootStream, errorCode: .refusedStream, opaqueData: nil)
            )
            try? await connection.channel.writeAndFlush(goAway)
            connection.channel.close(promise: nil)
            // Streams the client opened before the GOAWAY reached it wait in the multiplexer's
            // inbound sequence; unread, each kept its stream channel (and so the connection's
            // pipeline) alive after the close: kilobytes of heap per refused connection. Closing
            // the connection ends the sequence; reading it to the end releases them.
            do {
                for try await stream in connection.multiplexer.inbound { stream.channel.close(promise: nil) }
            } catch {}
        } catch {
            logger.debug("connection ended", metadata: ["remote": "\(remote)", "error": "\(error)"])
        }
        connection.channel.close(promise: nil)
    }

    /// Serves one stream: one request, one response. The stream counts against its client's
    /// stream limit while it is served. When the stream closes before the response (the client
    /// reset it, or its connection dropped), the task handling the request is cancelled, so an
    /// outbound `RPCHandler.call` ends and leaves nothing pending; the stream ends once it has.
    private func serve(
        _ stream: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, on connection: ConnectionID
    ) async {
        guard let streamID = try? await stream.channel.getOption(HTTP2StreamChannelOptions.streamID).get() else {
            stream.channel.close(promise: nil)
            observer(.dropped)
            return
        }
        let key = MeshStreamID(connection: connection, stream: streamID)
        do {
            try await clients.openStream(key, for: connection)
        } catch {
            logger.debug("stream refused", metadata: ["stream": "\(streamID)", "reason": "\(error)"])
            stream.channel.close(promise: nil)
            observer(.dropped)
            return
        }
        var end = StreamEnd.dropped
        do {
            end = try await stream.executeThenClose { inbound, outbound in
                let response: MeshResponse
                switch try await readRequest(inbound) {
                case .request(let request):
                    // Unstructured so that the stream's close can cancel it from an event-loop
                    // callback; awaited right here, so it never outlives this stream.
                    let router = self.router
                    let work = Task { await router.handle(request) }
                    stream.channel.closeFuture.whenComplete { _ in work.cancel() }
                    let answer = await withTaskCancellationHandler { await work.value } onCancel: { work.cancel() }
                    guard !work.isCancelled else { return .cancelled }
                    response = answer
                    nodeMetrics.requestAnswered(route: MeshRouter.route(of: request.path), status: Int(response.status.code))
                case .tooLarge:
                    response = .text(.payloadTooLarge, "request body over \(maxBody) bytes\n")
                    nodeMetrics.requestAnswered(route: "other", status: 413)
                case .incomplete:
                    return .dropped
                }
                try await write(response, to: outbound)
                return .answered(Int(response.status.code))
            }
        } catch {
            logger.debug("stream ended", metadata: ["stream": "\(streamID)", "error": "\(error)"])
        }
        await clients.closeStream(key)
        observer(end)
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
