import Logging
import MaculaMemory
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The admin listener, HTTP/1.1: `GET /healthz`, `GET /metrics` (the library's Prometheus
/// exposition, then swift-prometheus's exposition of the node's swift-metrics) and `GET /debug/memory` (the heap in use and the stats snapshot, as JSON).
struct AdminServer: Service, CustomStringConvertible {
    let host: String
    let port: Int
    let group: any EventLoopGroup
    let metrics: MemoryMetricsRegistry
    /// swift-prometheus's registry of the node's swift-metrics: served after the library's text.
    let prometheus: NodePrometheus
    /// Completed with the bound port.
    let bound: EventLoopPromise<Int>
    let logger: Logger

    var description: String { "admin-server" }

    func run() async throws {
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel
                    )
                }
            }
        let boundPort = server.channel.localAddress?.port ?? port
        bound.succeed(boundPort)
        logger.info("admin listening (HTTP/1.1)", metadata: ["address": "\(host):\(boundPort)"])
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

    /// Serves the requests of one keep-alive connection in order; request bodies are ignored.
    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                for try await part in inbound {
                    switch part {
                    case .head(let requestHead):
                        head = requestHead
                    case .body:
                        continue
                    case .end:
                        guard let request = head else { return }
                        var response = await respond(to: request)
                        response.headers.replaceOrAdd(name: "connection", value: request.isKeepAlive ? "keep-alive" : "close")
                        try await write(response, to: outbound)
                        if !request.isKeepAlive { return }
                        head = nil
                    }
                }
            }
        } catch {
            logger.debug("admin connection ended", metadata: ["error": "\(error)"])
        }
    }

    private func respond(to request: HTTPRequestHead) async -> MeshResponse {
        guard request.method == .GET else { return .text(.methodNotAllowed, "GET only\n") }
        switch request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "" {
        case "/healthz":
            return .text(.ok, "ok\n")
        case "/metrics":
            // The library's families, then swift-prometheus's (the node's own and the bridge's,
            // renamed `bridged_macula_…`): no family appears in both.
            return .text(
                .ok, await metrics.prometheusText() + prometheus.exposition(),
                headers: ["content-type": "text/plain; version=0.0.4; charset=utf-8"]
            )
        case "/debug/memory":
            return .json(DebugMemoryMessage(await metrics.snapshot()))
        default:
            return .text(.notFound, "not found\n")
        }
    }
}
