import MaculaDemoSupport
import MaculaMemory
import MaculaMesh
import MaculaTesting

// The world after the fixes: the Macula actors, configured and driven through their public API
// exactly as a server embedding them would. Each facade is a thin adapter from the demo's
// interface to the actor's, mapping the actor's typed errors to the report's outcome labels.

/// The bounded world: the five mechanisms, their `run()` loops, and their metrics.
struct BoundedWorld: DemoWorld {
    typealias Pool = ConnectionPool<Int, DemoConnection>
    typealias Clients = ClientManager<Int, ClientSession, Int>

    let pool: any PoolFacade
    let clients: any ClientFacade
    let services: any ServiceFacade
    let calls: any CallFacade
    let advertisementLog = DemoAdvertisementLog()

    private let connectionPool: Pool
    private let clientManager: Clients
    private let registry: ServiceRegistry
    private let advertisements: AdvertisementManager
    private let handler: RPCHandler
    private let network: SimulatedNetwork

    /// Builds the node's components with the demo's limits and compressed timing.
    /// - Throws: ``ConfigurationError`` when a limit breaks a component's rule.
    init(profile: WorkloadProfile, limits: DemoLimits, mesh: SimulatedMesh, metrics: any MemoryMetrics) throws {
        let bufferBytes = profile.connectionBufferBytes
        let peers = mesh.peers
        let ledger = mesh.ledger
        connectionPool = try Pool(
            configuration: .init(maximumConnections: limits.connections, maximumWaiters: 100, waitTimeout: profile.poolWaitTimeout),
            metrics: metrics,
            factory: { peer in try DemoConnection.open(to: peer, directory: peers, bufferBytes: bufferBytes, ledger: ledger) }
        )
        clientManager = try Clients(
            configuration: .init(maximumClients: limits.clients, maximumWaiters: 200, waitTimeout: profile.clientWaitTimeout),
            metrics: metrics
        )
        var registryConfiguration = ServiceRegistryConfiguration()
        registryConfiguration.maximumLocalServices = limits.localServices
        registryConfiguration.maximumCachedServices = limits.cachedServices
        registryConfiguration.localTTL = profile.localTTL
        registryConfiguration.cacheTTL = profile.cacheTTL
        registry = try ServiceRegistry(configuration: registryConfiguration, metrics: metrics)
        var advertisementConfiguration = AdvertisementManagerConfiguration()
        advertisementConfiguration.cleanupInterval = profile.cleanupInterval
        advertisementConfiguration.advertisementTTL = profile.localTTL
        advertisementConfiguration.reAdvertiseInterval = profile.reAdvertiseInterval
        advertisementConfiguration.publishTimeout = .seconds(1)
        advertisementConfiguration.publishRetryDelay = .milliseconds(500)
        advertisementConfiguration.maximumAdvertisements = limits.localServices
        advertisements = try AdvertisementManager(
            configuration: advertisementConfiguration,
            metrics: metrics,
            log: advertisementLog,
            registry: registry,
            publisher: mesh.publisher
        )

        // Calls go out through MaculaTesting's in-memory transport: a silent provider drops what
        // it is sent; every other request is held and answered by the simulated network after
        // the provider's latency.
        let transport = InMemoryRPCTransport(defaultBehavior: .hold, keepsHistory: false)
        for node in 0..<profile.providerNodes {
            let provider = ServiceProvider(nodeID: "node-\(node)", address: "mem://node-\(node)")
            if mesh.isSilent(provider) { transport.setBehavior(.drop, for: provider.nodeID) }
        }
        var rpcConfiguration = RPCHandlerConfiguration()
        rpcConfiguration.callTimeout = profile.callTimeout
        rpcConfiguration.maximumPendingCalls = limits.pendingCalls
        rpcConfiguration.randomSeed = mesh.seed
        handler = try RPCHandler(
            configuration: rpcConfiguration,
            metrics: metrics,
            registry: registry,
            transport: transport,
            discovery: SimulatedDiscovery(mesh: mesh)
        )
        network = SimulatedNetwork(transport: transport, mesh: mesh)

        pool = BoundedPool(pool: connectionPool)
        clients = BoundedClients(manager: clientManager)
        services = BoundedServices(registry: registry, manager: advertisements)
        calls = BoundedCalls(handler: handler)
    }

    var managedComponents: [any MemoryManaged] { [connectionPool, clientManager, registry, advertisements, handler] }

    func startLoops(in group: inout DiscardingTaskGroup) {
        group.addTask { [connectionPool] in try? await connectionPool.run() }
        group.addTask { [clientManager] in try? await clientManager.run() }
        group.addTask { [advertisements] in try? await advertisements.run() }
        group.addTask { [handler] in try? await handler.run() }
        group.addTask { [network, handler] in await network.run(replyingTo: handler) }
    }

    func shutdown() async {
        await connectionPool.shutdown()
        await handler.shutdown()
    }
}
