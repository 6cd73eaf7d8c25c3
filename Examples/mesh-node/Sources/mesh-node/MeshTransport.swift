#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import MaculaMesh
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

typealias PeerPool = ConnectionPool<String, PeerConnection>

/// Holds the RPC handler weakly, as `RPCTransport` requires (a strong reference would be a retain
/// cycle through the handler's transport), and is set once the handler exists.
final class ReplySink: Sendable {
    private struct Weak { weak var handler: RPCHandler? }
    private let box = NIOLockedValueBox(Weak())

    func attach(_ handler: RPCHandler) { box.withLockedValue { $0.handler = handler } }

    /// Hands `reply` to the handler, if it still exists; false when no call took it.
    func deliver(_ reply: RPCReply) async -> Bool {
        guard let handler = box.withLockedValue({ $0.handler }) else { return false }
        return await handler.handleReply(reply)
    }
}

/// The node's side of the mesh protocol over pooled HTTP/2 connections: the RPC handler's
/// transport and discovery, and the advertisement manager's publisher.
final class MeshTransport: RPCTransport, RPCDiscovery, ServicePublisher {
    let nodeID: String
    let pool: PeerPool
    let peers: [String]
    let replies: ReplySink
    /// How long one attempt's response is awaited before its stream is reset; the handler's own
    /// per-attempt timeout has failed the attempt over by then (see `send(_:)`).
    let attemptTimeout: Duration
    /// The deadline of one discovery or publication exchange with one peer.
    let exchangeTimeout: Duration
    let maxBody: Int
    let logger: Logger

    init(
        nodeID: String, pool: PeerPool, peers: [String], replies: ReplySink,
        attemptTimeout: Duration, exchangeTimeout: Duration, maxBody: Int, logger: Logger
    ) {
        self.nodeID = nodeID
        self.pool = pool
        self.peers = peers
        self.replies = replies
        self.attemptTimeout = attemptTimeout
        self.exchangeTimeout = exchangeTimeout
        self.maxBody = maxBody
        self.logger = logger
    }

    // MARK: RPCTransport

    /// Sends the attempt on a pooled connection to its provider and returns once the request is
    /// written (a connect or write failure throws, so the handler fails over at once). The reply is
    /// read by a task of its own and handed to `handleReply`; a 200 is `success`, any other status
    /// `failure` (the handler does not fail over on that: see the report's gap list). The task
    /// resets the stream after `attemptTimeout` (library gap: no abandon notice for attempts).
    func send(_ request: RPCRequest) async throws {
        let connection = try await pool.connection(to: request.provider.address)
        let stream = try await connection.openStream()
        let parts = connection.requestParts(
            .POST, "/macula/rpc/\(request.procedure)",
            headers: [MeshHeader.hop: nodeID, MeshHeader.callID: request.callID.description],
            body: ByteBuffer(bytes: request.arguments)
        )
        let written = connection.channel.eventLoop.makePromise(of: Void.self)
        let callID = request.callID
        let (maxBody, timeout, replies, logger) = (self.maxBody, attemptTimeout, self.replies, self.logger)
        // Unstructured by necessity: `send` must return before the reply (RPCTransport's contract).
        Task {
            let writtenBox = NIOLockedValueBox(false)
            do {
                let (status, body) = try await withDeadline(timeout, "\(callID)") {
                    try await stream.executeThenClose { inbound, outbound in
                        try await outbound.write(contentsOf: parts)
                        writtenBox.withLockedValue { $0 = true }
                        written.succeed()
                        return try await readResponse(inbound, maxBody: maxBody)
                    }
                }
                let reply: RPCReply = status == .ok
                    ? .success(callID, Array(body.readableBytesView))
                    : .failure(callID, "provider answered \(status.code): \(String(buffer: body))")
                _ = await replies.deliver(reply)
            } catch {
                if !writtenBox.withLockedValue({ $0 }) { written.fail(error) }
                logger.debug("attempt ended without a reply", metadata: ["call": "\(callID)", "error": "\(error)"])
            }
        }
        try await written.futureResult.get()
    }

    // MARK: RPCDiscovery

    /// Asks every peer's `GET /macula/providers/{service}` in turn and merges the answers by node
    /// ID, in the order found; a peer that fails or times out is skipped.
    func discover(_ service: String) async throws -> [ServiceProvider] {
        var found: [ServiceProvider] = []
        var seen: Set<String> = [nodeID]
        for peer in peers {
            try Task.checkCancellation()
            do {
                let (status, body) = try await exchange(with: peer, .GET, "/macula/providers/\(service)")
                guard status == .ok else { continue }
                let providers = try JSONDecoder().decode([ProviderMessage].self, from: Data(body.readableBytesView))
                for provider in providers where seen.insert(provider.node).inserted {
                    found.append(provider.provider)
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                logger.debug("discovery: peer skipped", metadata: ["peer": "\(peer)", "error": "\(error)"])
            }
        }
        return found
    }

    // MARK: ServicePublisher

    /// POSTs the advertisement to every peer; throws (so the manager retries) when any peer did
    /// not take it.
    func publish(_ advertisement: ServiceAdvertisement) async throws {
        let message = AdvertisementMessage(
            service: advertisement.service, node: advertisement.provider.nodeID,
            address: advertisement.provider.address,
            ttlSeconds: Double(advertisement.ttl.milliseconds) / 1_000
        )
        let body = ByteBuffer(bytes: try JSONEncoder().encode(message))
        var failures: [String] = []
        for peer in peers {
            try Task.checkCancellation()
            do {
                let (status, _) = try await exchange(
                    with: peer, .POST, "/macula/advertise", headers: ["content-type": "application/json"], body: body
                )
                if status != .ok { failures.append("\(peer): \(status.code)") }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                failures.append("\(peer): \(error)")
            }
        }
        guard failures.isEmpty else {
            throw MeshNodeError.badResponse("advertisement not taken by \(failures.joined(separator: ", "))")
        }
    }

    /// One exchange with `peer` on a pooled connection, bounded by `exchangeTimeout`.
    private func exchange(
        with peer: String, _ method: HTTPMethod, _ path: String, headers: HTTPHeaders = [:], body: ByteBuffer? = nil
    ) async throws -> (status: HTTPResponseStatus, body: ByteBuffer) {
        let (pool, maxBody) = (self.pool, self.maxBody)
        return try await withDeadline(exchangeTimeout, "\(method) \(path) to \(peer)") {
            let connection = try await pool.connection(to: peer)
            return try await connection.exchange(method, path, headers: headers, body: body, maxBody: maxBody)
        }
    }
}
