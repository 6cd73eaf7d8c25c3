#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import MaculaMemory
import MaculaMesh
import NIOCore
import NIOHTTP1

/// The mesh protocol's header names.
enum MeshHeader {
    /// Set on a call one node forwards to another: the forwarding node's ID. A call that carries
    /// it is answered locally or refused (404), never forwarded again.
    static let hop = "x-macula-hop"
    /// The forwarding node's call ID, for logs on both ends.
    static let callID = "x-macula-call"
}

/// A request as the routers see it: head and the whole body (bounded by `--max-body`).
struct MeshRequest: Sendable {
    var method: HTTPMethod
    var path: String
    var headers: HTTPHeaders
    var body: ByteBuffer
}

/// A whole response: status, extra headers and body (content-length is added when written).
struct MeshResponse: Sendable {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders = [:]
    var body: ByteBuffer = ByteBuffer()

    static func text(_ status: HTTPResponseStatus, _ text: String, headers: HTTPHeaders = [:]) -> MeshResponse {
        var all = headers
        if !all.contains(name: "content-type") { all.add(name: "content-type", value: "text/plain; charset=utf-8") }
        return MeshResponse(status: status, headers: all, body: ByteBuffer(string: text))
    }

    static func json(_ value: some Encodable) -> MeshResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding these plain structs cannot fail; a failure would be a bug, answered with 500.
        guard let data = try? encoder.encode(value) else { return .text(.internalServerError, "encoding failed\n") }
        return MeshResponse(
            status: .ok, headers: ["content-type": "application/json"], body: ByteBuffer(bytes: data)
        )
    }
}

/// The body of `POST /macula/advertise`: one service of one node, for `ttlSeconds`.
struct AdvertisementMessage: Codable, Sendable {
    var service: String
    var node: String
    var address: String
    var ttlSeconds: Double

    enum CodingKeys: String, CodingKey {
        case service, node, address
        case ttlSeconds = "ttl_seconds"
    }
}

/// One provider in the answer to `GET /macula/providers/{service}`.
struct ProviderMessage: Codable, Sendable, Hashable {
    var node: String
    var address: String

    init(_ provider: ServiceProvider) {
        node = provider.nodeID
        address = provider.address
    }

    var provider: ServiceProvider { ServiceProvider(nodeID: node, address: address) }
}

/// `GET /debug/memory`: the registry's stats snapshot as JSON (the snapshot is not `Codable`, so
/// it is mirrored here field by field).
struct SnapshotMessage: Encodable {
    struct Usage: Encodable {
        var size: Int
        var effectiveLimit: Int
        var baseLimit: Int
        var pressureScale: Double
        var highWaterMark: Int
    }

    struct Component: Encodable {
        var name: String
        var usage: Usage?
        var removals: [String: Int]
        var rejections: [String: Int]
        var events: [String: Int]
    }

    struct Reading: Encodable {
        var usedBytes: Int
        var limitBytes: Int?
    }

    var pressureLevel: String
    var pressureReading: Reading?
    var components: [Component]

    init(_ snapshot: MemorySnapshot) {
        pressureLevel = snapshot.pressureLevel.description
        pressureReading = snapshot.pressureReading.map { Reading(usedBytes: $0.usedBytes, limitBytes: $0.limitBytes) }
        components = snapshot.components.map { stats in
            Component(
                name: stats.name,
                usage: stats.usage.map {
                    Usage(
                        size: $0.size, effectiveLimit: $0.effectiveLimit, baseLimit: $0.baseLimit,
                        pressureScale: $0.pressureScale, highWaterMark: $0.highWaterMark
                    )
                },
                removals: Dictionary(uniqueKeysWithValues: stats.removals.map { ($0.key.description, $0.value) }),
                rejections: Dictionary(uniqueKeysWithValues: stats.rejections.map { ($0.key.description, $0.value) }),
                events: Dictionary(uniqueKeysWithValues: stats.events.map { ($0.key.description, $0.value) })
            )
        }
    }
}
