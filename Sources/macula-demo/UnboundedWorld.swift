import MaculaDemoSupport
import MaculaMemory
import MaculaMesh

// The world before the fixes: the demo's own naive stand-ins, written the way the original was
// (see ORIGINAL.md) — correct Swift concurrency, leaky semantics. The library ships no switch
// that leaks; these small actors are the demo's, behind the same interfaces as the real ones.
//
// - Pool: an unbounded map; liveness is checked only on a hit, so a peer that vanishes without
//   announcing it keeps its connection (and its buffer) forever.
// - Clients: no limit; a disconnect removes the client but not its streams (the stream map
//   leak); the scoped helper cleans up only when its body returns normally (no caller cleanup on
//   cancellation).
// - Services: no TTL cleanup: expired advertisements and cached discovery results stay.
// - Calls: no caller cleanup: a pending entry leaves only when its reply reaches a caller that
//   is still waiting; a caller that timed out or was cancelled leaves it behind.

/// The unbounded world: the four naive stand-ins.
struct UnboundedWorld: DemoWorld {
    let pool: any PoolFacade
    let clients: any ClientFacade
    let services: any ServiceFacade
    let calls: any CallFacade
    var managedComponents: [any MemoryManaged] { [] }

    init(profile: WorkloadProfile, mesh: SimulatedMesh) {
        pool = NaivePool(mesh: mesh, bufferBytes: profile.connectionBufferBytes)
        clients = NaiveClientManager()
        let registry = NaiveServiceRegistry()
        services = registry
        calls = NaiveRPCHandler(registry: registry, mesh: mesh, timeout: profile.callTimeout)
    }

    /// The naive world has no background loops: nothing expires, nothing is pruned.
    func startLoops(in group: inout DiscardingTaskGroup) {}

    /// The original had no shutdown that closed its connections.
    func shutdown() async {}
}

/// An unbounded connection map (the original's pool before the LRU fix, and its liveness check
/// on hits only).
actor NaivePool: PoolFacade {
    private var connections: [Int: DemoConnection] = [:]
    private let mesh: SimulatedMesh
    private let bufferBytes: Int

    init(mesh: SimulatedMesh, bufferBytes: Int) {
        self.mesh = mesh
        self.bufferBytes = bufferBytes
    }

    func send(to peer: Int, leased: Bool) async -> Outcome {
        if let connection = connections[peer] {
            if connection.send() { return .ok }
            connections[peer] = nil
            await connection.close()
        }
        do {
            let connection = try DemoConnection.open(to: peer, directory: mesh.peers, bufferBytes: bufferBytes, ledger: mesh.ledger)
            connections[peer] = connection
            connection.send()
            return .ok
        } catch {
            return .failed("peer unreachable")
        }
    }

    func peerLeft(_ peer: Int) async {
        if let connection = connections.removeValue(forKey: peer) { await connection.close() }
    }

    /// The original had no prune.
    func maintain() async {}

    func shutdown() async {}

    func reading() -> ComponentReading { ComponentReading(size: connections.count) }
}

/// A client map and a stream map with no limit and no coordinated cleanup.
actor NaiveClientManager: ClientFacade {
    private var clients: [Int: ClientSession] = [:]
    /// Stream to client. A disconnect does not touch it.
    private var streams: [Int: Int] = [:]

    func connect(_ client: Int, session: ClientSession) -> Outcome {
        clients[client] = session
        return .ok
    }

    func openStream(_ stream: Int, for client: Int) -> Outcome {
        // The original stored a stream for an unknown client too.
        streams[stream] = client
        return .ok
    }

    func closeStream(_ stream: Int) {
        streams[stream] = nil
    }

    func disconnect(_ client: Int) {
        clients[client] = nil
    }

    func withClient(_ client: Int, session: ClientSession, streams: [Int], body: @Sendable () async throws -> Void) async -> Outcome {
        _ = connect(client, session: session)
        for stream in streams { _ = openStream(stream, for: client) }
        do {
            try await body()
        } catch {
            // No caller cleanup: the client and its streams stay behind.
            return .cancelled
        }
        disconnect(client)
        return .ok
    }

    func readings() -> (clients: ComponentReading, streams: ComponentReading) {
        (ComponentReading(size: clients.count), ComponentReading(size: streams.count))
    }
}

/// Local advertisements and cached providers with no TTL cleanup.
actor NaiveServiceRegistry: ServiceFacade {
    private struct Advertisement {
        var provider: ServiceProvider
        var advertisedAt: ContinuousClock.Instant
        var ttl: Duration
    }

    private var local: [String: Advertisement] = [:]
    private var kept: Set<String> = []
    private var cache: [String: [ServiceProvider]] = [:]
    private let me = ServiceProvider(nodeID: "demo-node", address: "quic://127.0.0.1:4433")

    func advertise(_ service: String) -> Outcome {
        local[service] = Advertisement(provider: me, advertisedAt: .now, ttl: .seconds(300))
        kept.insert(service)
        return .ok
    }

    func stopAdvertising(_ service: String) {
        kept.remove(service)
        local[service] = nil
    }

    func advertiseOnce(_ service: String, ttl: Duration) -> Outcome {
        // Stored with its TTL, which nothing ever checks.
        local[service] = Advertisement(provider: me, advertisedAt: .now, ttl: ttl)
        return .ok
    }

    func cachedProviders(for service: String) -> [ServiceProvider]? { cache[service] }

    func cacheProviders(_ providers: [ServiceProvider], for service: String) {
        cache[service] = providers
    }

    func readings() -> (local: ComponentReading, cached: ComponentReading, advertisements: ComponentReading) {
        (ComponentReading(size: local.count), ComponentReading(size: cache.count), ComponentReading(size: kept.count))
    }
}

/// A pending-call map with no caller cleanup and no failover.
actor NaiveRPCHandler: CallFacade {
    private struct PendingCall {
        var service: String
        var provider: ServiceProvider
        var payload: [UInt8]
    }

    private var pending: [UInt64: PendingCall] = [:]
    private var nextID: UInt64 = 0
    private let registry: NaiveServiceRegistry
    private let mesh: SimulatedMesh
    private let timeout: Duration

    init(registry: NaiveServiceRegistry, mesh: SimulatedMesh, timeout: Duration) {
        self.registry = registry
        self.mesh = mesh
        self.timeout = timeout
    }

    func call(_ service: String, payload: [UInt8]) async -> Outcome {
        var providers = await registry.cachedProviders(for: service)
        if providers == nil {
            do {
                try await mesh.sleep(mesh.discoveryLatency())
            } catch {
                return .cancelled
            }
            let found = mesh.providers(of: service)
            await registry.cacheProviders(found, for: service)
            providers = found
        }
        guard let provider = providers?.first else { return .failed("no providers") }
        nextID += 1
        let id = nextID
        pending[id] = PendingCall(service: service, provider: provider, payload: payload)
        let latency = mesh.replyLatency(of: provider)
        let timeout = self.timeout
        // The reply and the timeout race in the caller's own task group. Whatever wins, the entry
        // is removed only by a reply that finds its caller still waiting.
        let outcome: Outcome = await withTaskGroup(of: Outcome?.self) { race in
            if let latency {
                race.addTask {
                    do { try await self.mesh.sleep(latency) } catch { return nil }
                    return .ok
                }
            }
            race.addTask {
                do { try await self.mesh.sleep(timeout) } catch { return nil }
                return .timedOut("call")
            }
            let first = await race.next() ?? nil
            race.cancelAll()
            return first ?? .cancelled
        }
        if outcome == .ok { pending[id] = nil }
        return outcome
    }

    func reading() -> ComponentReading { ComponentReading(size: pending.count) }
}
