#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import MaculaMemory
import MaculaMesh
import NIOCore
import NIOHTTP1

/// Answers the mesh protocol's requests:
/// - `POST /macula/rpc/{service}`: the local `echo` handler when this node provides the service;
///   otherwise, unless the call was already forwarded (hop header), a call through the
///   `RPCHandler`; status codes as issue 15 names them.
/// - `GET /macula/providers/{service}`: the providers this node knows, itself first, as JSON.
/// - `POST /macula/advertise`: caches a peer's advertisement; 400 when it does not parse.
struct MeshRouter: Sendable {
    let nodeID: String
    let provided: Set<String>
    let registry: ServiceRegistry
    let rpc: RPCHandler
    let logger: Logger

    func handle(_ request: MeshRequest) async -> MeshResponse {
        let segments = request.path.split(separator: "?", maxSplits: 1).first.map { $0.split(separator: "/") } ?? []
        switch (request.method, segments.count > 2 ? Array(segments.prefix(2)) : segments) {
        case (.POST, ["macula", "rpc"]) where segments.count == 3:
            return await call(String(segments[2]), request)
        case (.GET, ["macula", "providers"]) where segments.count == 3:
            return await providers(String(segments[2]))
        case (.POST, ["macula", "advertise"]):
            return await advertise(request.body)
        default:
            return .text(.notFound, "no route for \(request.method) \(request.path)\n")
        }
    }

    /// The route label of a path, for the request counter: `rpc`, `providers`, `advertise` or `other`.
    static func route(of path: String) -> String {
        let segments = path.split(separator: "?", maxSplits: 1).first.map { $0.split(separator: "/") } ?? []
        guard segments.count >= 2, segments[0] == "macula" else { return "other" }
        switch segments[1] {
        case "rpc", "providers", "advertise": return String(segments[1])
        default: return "other"
        }
    }

    private func call(_ service: String, _ request: MeshRequest) async -> MeshResponse {
        if provided.contains(service) {
            return MeshResponse(status: .ok, headers: ["x-macula-node": nodeID], body: request.body) // echo
        }
        if request.headers.contains(name: MeshHeader.hop) {
            return .text(.notFound, "\(nodeID) does not provide \(service) and never forwards a forwarded call\n")
        }
        do {
            let result = try await rpc.call(service, arguments: Array(request.body.readableBytesView))
            return MeshResponse(status: .ok, body: ByteBuffer(bytes: result))
        } catch {
            return Self.response(for: error, service: service)
        }
    }

    /// The status code of each `RPCError` (issue 15): no provider 404, too many pending calls 503
    /// with Retry-After, attempts exhausted 502, deadline exceeded 504.
    static func response(for error: RPCError, service: String) -> MeshResponse {
        switch error {
        case .noProviders, .discoveryFailed:
            return .text(.notFound, "no provider of \(service): \(error)\n")
        case .tooManyPendingCalls, .notRunning, .shutdown:
            return .text(.serviceUnavailable, "\(error)\n", headers: ["retry-after": "1"])
        case .attemptsExhausted, .procedureFailed:
            return .text(.badGateway, "\(error)\n")
        case .deadlineExceeded, .discoveryTimedOut:
            return .text(.gatewayTimeout, "\(error)\n")
        default:
            return .text(.internalServerError, "\(error)\n")
        }
    }

    private func providers(_ service: String) async -> MeshResponse {
        let providers = await registry.providers(for: service)
        return .json(providers.map(ProviderMessage.init))
    }

    private func advertise(_ body: ByteBuffer) async -> MeshResponse {
        guard let message = try? JSONDecoder().decode(AdvertisementMessage.self, from: Data(body.readableBytesView)) else {
            return .text(.badRequest, "advertisement does not parse\n")
        }
        guard !message.service.isEmpty, !message.node.isEmpty, (try? parseHostPort(message.address)) != nil else {
            return .text(.badRequest, "advertisement needs service, node and address HOST:PORT\n")
        }
        let maximumSeconds = Double(ConfigurationError.maximumDuration.components.seconds)
        guard message.ttlSeconds.isFinite, message.ttlSeconds > 0, message.ttlSeconds <= maximumSeconds else {
            return .text(.badRequest, "ttl_seconds must be in (0, \(Int(maximumSeconds))]\n")
        }
        guard message.node != nodeID else {
            return .text(.badRequest, "advertisement names this node (\(nodeID)) as a peer\n")
        }
        let ttl = Duration.milliseconds(Int64(message.ttlSeconds * 1_000))
        let provider = ServiceProvider(nodeID: message.node, address: message.address)
        do {
            try await registry.cacheProvider(provider, for: message.service, ttl: ttl)
        } catch {
            return .text(.badRequest, "advertisement refused: \(error)\n")
        }
        return .text(.ok, "cached\n")
    }
}
