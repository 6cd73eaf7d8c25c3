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

    /// Hands `reply` to the handler, if it still exists.
    func deliver(_ reply: RPCReply) async {
        guard let handler = box.withLockedValue({ $0.handler }) else { return }
        _ = await handler.handleReply(reply)
    }

    /// Tells the handler that `attempt` of `callID` failed, so the call fails over at once.
    func failed(_ callID: RPCCallID, attempt: Int) async {
        guard let handler = box.withLockedValue({ $0.handler }) else { return }
        _ = await handler.attemptFailed(callID, attempt: attempt)
    }
}

/// The node's side of the mesh protocol over pooled HTTP/2 connections: the RPC handler's
/// transport and discovery, and the advertisement manager's publisher.
final class MeshTransport: RPCTransport, RPCDiscovery, ServicePublisher {
    private struct Attempt: Hashable {
        let call: RPCCallID
        let number: Int
    }

    let nodeID: String
    let pool: PeerPool
    let peers: [String]
    let replies: ReplySink
    /// The deadline of one discovery or publication exchange with one peer.
    let exchangeTimeout: Duration
    let maxBody: Int
    let logger: Logger
    /// The stream of every attempt sent and not yet answered, failed or abandoned: at most one
    /// per pending call (the handler abandons an attempt before it sends the next).
    private let streams = NIOLockedValueBox<[Attempt: any Channel]>([:])

    init(
        nodeID: String, pool: PeerPool, peers: [String], replies: ReplySink,
        exchangeTimeout: Duration, maxBody: Int, logger: Logger
    ) {
        self.nodeID = nodeID
        self.pool = pool
        self.peers = peers
        self.replies = replies
        self.exchangeTimeout = exchangeTimeout
        self.maxBody = maxBody
        self.logger = logger
    }

    /// Attempts sent and not yet answered, failed or abandoned.
    var openAttempts: Int { streams.withLockedValue { $0.count } }

    // MARK: RPCTransport

    /// Sends the attempt on a new stream of the pooled connection to its provider and returns once
    /// the request is written (a connect or write failure throws: the handler fails over at once).
    /// A task of the stream's own reads the reply: a 200 goes to `handleReply`; any other status,
    /// or the stream ending without a response, to `attemptFailed` (the call fails over).
    func send(_ request: RPCRequest) async throws {
        let (connection, stream) = try await withPooledConnection(to: request.provider.address) { connection in
            (connection, try await connection.openStream())
        }
        let parts = connection.requestParts(
            .POST, "/macula/rpc/\(request.procedure)",
            headers: [MeshHeader.hop: nodeID, MeshHeader.callID: request.callID.description],
            body: ByteBuffer(bytes: request.arguments)
        )
        let attempt = Attempt(call: request.callID, number: request.attempt)
        streams.withLockedValue { $0[attempt] = stream.channel }
        let written = connection.channel.eventLoop.makePromise(of: Void.self)
        let (maxBody, replies, streams, logger) = (self.maxBody, self.replies, self.streams, self.logger)
        // Unstructured by necessity: `send` returns before the reply (RPCTransport's contract).
        Task {
            let wasWritten = NIOLockedValueBox(false)
            var reply: RPCReply?
            do {
                let (status, body) = try await stream.executeThenClose { inbound, outbound in
                    try await outbound.write(contentsOf: parts)
                    wasWritten.withLockedValue { $0 = true }
                    written.succeed()
                    return try await readResponse(inbound, maxBody: maxBody)
                }
                if status == .ok { reply = .success(attempt.call, Array(body.readableBytesView)) }
            } catch {
                if !wasWritten.withLockedValue({ $0 }) { written.fail(error) }
                logger.debug("attempt ended without a reply", metadata: ["call": "\(attempt.call)", "error": "\(error)"])
            }
            // Abandoned meanwhile (timed out, cancelled): the handler has moved on; say nothing.
            guard streams.withLockedValue({ $0.removeValue(forKey: attempt) }) != nil,
                  wasWritten.withLockedValue({ $0 }) else { return }
            if let reply { await replies.deliver(reply) } else { await replies.failed(attempt.call, attempt: attempt.number) }
        }
        try await written.futureResult.get()
    }

    /// Resets the attempt's stream, if it is still open: nothing more is read or delivered for it.
    func abandon(_ callID: RPCCallID, attempt: Int) {
        streams.withLockedValue { $0.removeValue(forKey: Attempt(call: callID, number: attempt)) }?.close(promise: nil)
    }

    /// Runs `body` with the pooled connection to `address`; once more with a fresh one when the
    /// pool's was evicted between handing it out and `body` opening its stream (it is draining).
    private func withPooledConnection<Value>(
        to address: String, _ body: (PeerConnection) async throws -> Value
    ) async throws -> Value {
        do {
            return try await body(try await pool.connection(to: address))
        } catch let error as MeshNodeError where error.isDraining {
            return try await body(try await pool.connection(to: address))
        }
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
        try await withDeadline(exchangeTimeout, "\(method) \(path) to \(peer)") { [self] in
            try await withPooledConnection(to: peer) { connection in
                try await connection.exchange(method, path, headers: headers, body: body, maxBody: maxBody)
            }
        }
    }
}
