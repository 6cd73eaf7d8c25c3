import MaculaDemoSupport
import MaculaMemory
import MaculaMesh

/// The client facade over ``ClientManager``: explicit connects are refused at the limit (the
/// seed's behavior); scoped clients wait briefly for a slot.
struct BoundedClients: ClientFacade {
    let manager: BoundedWorld.Clients

    func connect(_ client: Int, session: ClientSession) async -> Outcome {
        do {
            try await manager.clientConnected(client, info: session)
            return .ok
        } catch {
            return Self.outcome(of: error)
        }
    }

    func openStream(_ stream: Int, for client: Int) async -> Outcome {
        do {
            try await manager.openStream(stream, for: client)
            return .ok
        } catch {
            return Self.outcome(of: error)
        }
    }

    func closeStream(_ stream: Int) async { _ = await manager.closeStream(stream) }
    func disconnect(_ client: Int) async { _ = await manager.clientDisconnected(client) }

    func withClient(_ client: Int, session: ClientSession, streams: [Int], body: @Sendable () async throws -> Void) async -> Outcome {
        do {
            try await manager.withClient(client, info: session, admission: .wait) {
                for stream in streams { try await manager.openStream(stream, for: client) }
                try await body()
            }
            return .ok
        } catch let error as ClientManagerError {
            return Self.outcome(of: error)
        } catch is CancellationError {
            return .cancelled
        } catch {
            return .failed("\(error)")
        }
    }

    func readings() async -> (clients: ComponentReading, streams: ComponentReading) {
        (ComponentReading(await manager.memoryUsage()), ComponentReading(size: await manager.streamCount))
    }

    static func outcome(of error: ClientManagerError) -> Outcome {
        if error == .maxClientsReached { return .refused("max_clients_reached") }
        if error == .waitersLimitReached { return .refused("waiters_limit_reached") }
        if error == .timedOut { return .timedOut("waiting for a slot") }
        if error == .cancelled { return .cancelled }
        if error == .unknownClient { return .refused("unknown_client") }
        if error == .maxStreamsReached { return .refused("max_streams_reached") }
        if error == .notRunning { return .failed("not running") }
        if error == .shutdown { return .failed("shutdown") }
        return .failed("\(error)")
    }
}
