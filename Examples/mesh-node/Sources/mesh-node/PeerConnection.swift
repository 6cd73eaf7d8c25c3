import MaculaMesh
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix

/// One outbound HTTP/2 (h2c, prior knowledge) connection to a peer, as the `ConnectionPool` holds
/// it: alive while its channel is active; `close()` closes the channel.
struct PeerConnection: PooledConnection {
    /// The TCP channel the HTTP/2 connection runs on.
    let channel: any Channel
    /// Opens request streams on the connection.
    let multiplexer: NIOHTTP2Handler.AsyncStreamMultiplexer<Void>
    /// The peer's `HOST:PORT`, sent as the authority.
    let address: String

    var isAlive: Bool { channel.isActive }

    /// Starts closing the channel and returns: the pool's close must not wait on the network.
    nonisolated(nonsending) func close() async {
        channel.close(promise: nil)
    }

    /// Connects to `address` (`HOST:PORT`) and sets up the client side of HTTP/2.
    static func connect(
        to address: String, group: any EventLoopGroup, timeout: Duration
    ) async throws -> PeerConnection {
        let (host, port) = try parseHostPort(address)
        return try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.milliseconds(timeout.milliseconds))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    // A server never opens streams towards us (no push): inbound streams are unused.
                    let multiplexer = try channel.pipeline.syncOperations.configureAsyncHTTP2Pipeline(
                        mode: .client
                    ) { stream in
                        stream.eventLoop.makeSucceededVoidFuture()
                    }
                    return PeerConnection(channel: channel, multiplexer: multiplexer, address: address)
                }
            }
    }

    /// A new request stream, speaking HTTP/1-style parts over HTTP/2 frames.
    func openStream() async throws -> NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart> {
        try await multiplexer.openStream { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: .http))
                return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                    wrappingChannelSynchronously: stream
                )
            }
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
