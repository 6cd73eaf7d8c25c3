import Logging
import MaculaMesh
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix

/// One outbound HTTP/2 (h2c, prior knowledge) connection to a peer, as the `ConnectionPool` holds
/// it: alive while its channel is active.
///
/// `close()` drains (library gap 3, see `architecture/memory_management_bounded_pools.md`): the pool calls it when
/// the connection leaves the pool (evicted, found dead, removed, shut down), and `connection(to:)`
/// gives no lease, so an evicted connection may still carry attempts whose replies are on their
/// way. From `close()` on it opens no new stream; the channel closes when its last open stream
/// ends, or at `drainTimeout` at the latest.
struct PeerConnection: PooledConnection {
    /// The TCP channel the HTTP/2 connection runs on.
    let channel: any Channel
    /// Opens request streams on the connection.
    let multiplexer: NIOHTTP2Handler.AsyncStreamMultiplexer<Void>
    /// The peer's `HOST:PORT`, sent as the authority.
    let address: String
    /// The open streams and the drain.
    let streams: StreamGate

    var isAlive: Bool { channel.isActive }

    /// Starts the drain and returns: the pool's close must not wait on the network.
    nonisolated(nonsending) func close() async {
        streams.drain(channel)
    }

    /// Connects to `address` (`HOST:PORT`) and sets up the client side of HTTP/2.
    /// - Parameters:
    ///   - drainTimeout: how long `close()` lets open streams finish.
    ///   - resetStreams: how many streams this side reset that NIO remembers, so that the peer's
    ///     frames still on their way for them are ignored (NIO's default, 32, is below the streams
    ///     one burst of cancellations resets; a frame for a forgotten stream is a connection error).
    ///   - logger: where a connection error goes (the connection closes then).
    static func connect(
        to address: String, group: any EventLoopGroup, timeout: Duration, drainTimeout: Duration,
        resetStreams: Int = 32, logger: Logger? = nil
    ) async throws -> PeerConnection {
        let (host, port) = try parseHostPort(address)
        var h2 = NIOHTTP2Handler.Configuration()
        h2.connection.maximumRecentlyResetStreams = resetStreams
        let configuration = h2
        return try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.milliseconds(timeout.milliseconds))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    // A server never opens streams towards us (no push): inbound streams are unused.
                    let multiplexer = try channel.pipeline.syncOperations.configureAsyncHTTP2Pipeline(
                        mode: .client, configuration: configuration
                    ) { stream in
                        stream.eventLoop.makeSucceededVoidFuture()
                    }
                    try channel.pipeline.syncOperations.addHandler(CloseOnErrorHandler(address: address, logger: logger))
                    return PeerConnection(
                        channel: channel, multiplexer: multiplexer, address: address,
                        streams: StreamGate(drainTimeout: drainTimeout)
                    )
                }
            }
    }

    /// A new request stream, speaking HTTP/1-style parts over HTTP/2 frames; counted open until
    /// its channel closes.
    /// - Throws: ``MeshNodeError/draining(_:)`` once `close()` was called; what opening throws.
    func openStream() async throws -> NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart> {
        let (gate, ticket) = (streams, try streams.enter(address))
        do {
            return try await multiplexer.openStream { stream in
                stream.eventLoop.makeCompletedFuture {
                    try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: .http))
                    let wrapped = try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: stream
                    )
                    stream.closeFuture.whenComplete { _ in gate.leave(ticket) }
                    return wrapped
                }
            }
        } catch {
            gate.leave(ticket)
            throw error
        }
    }

    /// One whole exchange on a new stream: writes the request, reads the response, bounded by
    /// `maxBody` bytes of response body; the stream is closed (reset if unfinished) on every exit.
    func exchange(
        _ method: HTTPMethod, _ path: String, headers: HTTPHeaders = [:], body: ByteBuffer? = nil, maxBody: Int
    ) async throws -> (status: HTTPResponseStatus, body: ByteBuffer) {
        let stream = try await openStream()
        return try await stream.executeThenClose { inbound, outbound in
            try await outbound.write(contentsOf: requestParts(method, path, headers: headers, body: body))
            return try await readResponse(inbound, maxBody: maxBody)
        }
    }

    /// The parts of one request, with host and content-length set.
    func requestParts(
        _ method: HTTPMethod, _ path: String, headers: HTTPHeaders, body: ByteBuffer?
    ) -> [HTTPClientRequestPart] {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
        head.headers.replaceOrAdd(name: "host", value: address)
        var parts: [HTTPClientRequestPart] = []
        if let body {
            head.headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
            parts = [.head(head), .body(.byteBuffer(body)), .end(nil)]
        } else {
            parts = [.head(head), .end(nil)]
        }
        return parts
    }
}

/// Closes the connection on any error that reaches the end of its pipeline (an HTTP/2 connection
/// error: NIO has sent GOAWAY and the connection carries nothing more), so the pool sees it dead
/// and its open streams end at once instead of at their timeouts.
final class CloseOnErrorHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = Any
    private let address: String
    private let logger: Logger?

    init(address: String, logger: Logger?) {
        self.address = address
        self.logger = logger
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger?.warning("peer connection closed on an error", metadata: ["peer": "\(address)", "error": "\(error)"])
        context.close(promise: nil)
    }
}

/// The open streams of one `PeerConnection`, and its drain: once draining, no stream enters and
/// the channel closes when the last one leaves, or when the drain deadline passes.
final class StreamGate: Sendable {
    private struct Drain {
        let channel: any Channel
        let deadline: Scheduled<Void>
    }

    private struct State {
        var open: Set<Int> = []
        var nextTicket = 0
        var draining = false
        var drain: Drain?
    }

    private let drainTimeout: Duration
    private let state = NIOLockedValueBox(State())

    init(drainTimeout: Duration) { self.drainTimeout = drainTimeout }

    /// How many streams are open now.
    var openCount: Int { state.withLockedValue { $0.open.count } }

    /// Counts a stream in; its ticket leaves once.
    /// - Throws: ``MeshNodeError/draining(_:)`` once draining.
    func enter(_ address: String) throws -> Int {
        try state.withLockedValue { state in
            guard !state.draining else { throw MeshNodeError.draining("connection to \(address) is draining") }
            defer { state.nextTicket += 1 }
            state.open.insert(state.nextTicket)
            return state.nextTicket
        }
    }

    /// Counts a stream out (a second call with the same ticket is a no-op); the last one out of a
    /// draining connection closes its channel.
    func leave(_ ticket: Int) {
        let drain: Drain? = state.withLockedValue { state in
            guard state.open.remove(ticket) != nil, state.open.isEmpty else { return nil }
            defer { state.drain = nil }
            return state.drain
        }
        drain?.deadline.cancel()
        drain?.channel.close(promise: nil)
    }

    /// Stops new streams; closes `channel` now when none is open, else when the last one leaves or
    /// at the drain deadline. A second call is a no-op.
    func drain(_ channel: any Channel) {
        let closeNow: Bool = state.withLockedValue { state in
            guard !state.draining else { return false }
            state.draining = true
            guard !state.open.isEmpty else { return true }
            let timeout = TimeAmount.nanoseconds(drainTimeout.nanoseconds)
            state.drain = Drain(
                channel: channel,
                deadline: channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
            )
            return false
        }
        if closeNow { channel.close(promise: nil) }
    }
}

/// Reads one response from `inbound`: its status and its body, at most `maxBody` bytes.
func readResponse(
    _ inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>, maxBody: Int
) async throws -> (status: HTTPResponseStatus, body: ByteBuffer) {
    var status: HTTPResponseStatus?
    var body = ByteBuffer()
    for try await part in inbound {
        switch part {
        case .head(let head):
            status = head.status
        case .body(var chunk):
            guard body.readableBytes + chunk.readableBytes <= maxBody else {
                throw MeshNodeError.badResponse("response body over \(maxBody) bytes")
            }
            body.writeBuffer(&chunk)
        case .end:
            guard let status else { throw MeshNodeError.badResponse("response ended before its head") }
            return (status, body)
        }
    }
    throw MeshNodeError.streamClosed("stream closed before the response ended")
}

extension Duration {
    /// The duration in whole nanoseconds, saturating at `Int64.max`.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : scaled + attoseconds / 1_000_000_000
    }


    /// The duration in whole milliseconds, saturating at `Int64.max` (durations here are validated
    /// to at most ten years, far below it).
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000)
        return overflow ? .max : scaled + attoseconds / 1_000_000_000_000_000
    }
}
