import MaculaDemoSupport
import MaculaMemory
import MaculaMesh

// The world after the fixes: the Macula actors, configured and driven through their public API
// exactly as a server embedding them would. Each facade is a thin adapter from the demo's
// interface to the actor's, mapping the actor's typed errors to the report's outcome labels.

/// The bounded world: the five mechanisms, their `run()` loops, and their metrics.
///
/// Scaffolding: until the connection pool and the RPC handler land in main, the naive stand-ins
/// take their place here (so this world's pool and pending calls still grow).
struct BoundedWorld: DemoWorld {
    typealias Clients = ClientManager<Int, ClientSession, Int, ContinuousClock>

    let pool: any PoolFacade
    let clients: any ClientFacade
    let services: any ServiceFacade
    let calls: any CallFacade
    let advertisementLog = DemoAdvertisementLog()

    private let clientManager: Clients
    private let registry: ServiceRegistry<ContinuousClock>
    private let advertisements: AdvertisementManager<ContinuousClock>

    /// Builds the node's components with the demo's limits and compressed timing.
    /// - Throws: ``ConfigurationError`` when a limit breaks a component's rule.
    init(profile: WorkloadProfile, limits: DemoLimits, mesh: SimulatedMesh, metrics: any MemoryMetrics) throws {
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
            registry: registry,
            publisher: mesh.publisher,
            configuration: advertisementConfiguration,
            log: advertisementLog,
            metrics: metrics
        )

        pool = NaivePool(mesh: mesh, bufferBytes: profile.connectionBufferBytes)
        clients = BoundedClients(manager: clientManager)
        services = BoundedServices(registry: registry, manager: advertisements)
        calls = NaiveRPCHandler(registry: NaiveServiceRegistry(), mesh: mesh, timeout: profile.callTimeout)
    }

    var managedComponents: [any MemoryManaged] { [clientManager, registry, advertisements] }

    func startLoops(in group: inout DiscardingTaskGroup) {
        group.addTask { [clientManager] in try? await clientManager.run() }
        group.addTask { [advertisements] in try? await advertisements.run() }
    }

    func shutdown() async {}
}
