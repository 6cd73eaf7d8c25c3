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

/// `GET /debug/memory`: the heap in use and the registry's stats snapshot.
struct DebugMemoryMessage: Encodable {
    /// Bytes the C allocator has handed out and not taken back (`SystemMemoryReader.heapInUse`);
    /// nil where it cannot be read (under a sanitizer).
    var heapInUseBytes: Int?
    var snapshot: MemorySnapshot

    init(_ snapshot: MemorySnapshot) {
        self.snapshot = snapshot
        heapInUseBytes = try? SystemMemoryReader.heapInUse.read().usedBytes
    }
}
