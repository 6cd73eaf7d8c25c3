import Logging
import MaculaMemory
import MaculaMesh
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// One node: the library's components wired to the mesh and admin listeners, run by one
/// `ServiceGroup`. `mesh-node` makes one per process; tests make several in one process, on port 0.
final class MeshNodeRuntime: Sendable {
    let settings: MeshNode.Settings
    let logger: Logger
    let metrics: MemoryMetricsRegistry
    let registry: ServiceRegistry
    let pool: PeerPool
    let clients: MeshClients
    let rpc: RPCHandler
    let transport: MeshTransport
    let advertisements: AdvertisementManager
    let prometheus: NodePrometheus
    /// Completed with the bound mesh port once the listener is bound (failed if it cannot bind).
    let meshPort: EventLoopPromise<Int>
    /// Completed with the bound admin port once the listener is bound.
    let adminPort: EventLoopPromise<Int>
    private let serviceGroup: ServiceGroup
    /// The pending calls counted when the mesh listener had drained, before any `run()` ended.
    private let pendingAtDrain = NIOLockedValueBox<Int>(0)

    /// Builds every component and the service group. `signals` start a graceful shutdown (none in
    /// tests, which call `stop()`); `observer` hears how each inbound stream ended.
    init(
        settings: MeshNode.Settings, logger: Logger, prometheus: NodePrometheus = NodePrometheus(),
        signals: [UnixSignal] = [], observer: @escaping @Sendable (StreamEnd) -> Void = { _ in }
    ) async throws {
        self.settings = settings
        self.logger = logger
        self.prometheus = prometheus
        let group = MultiThreadedEventLoopGroup.singleton
        let log = SwiftLogComponentLog(logger: logger)
        // snippet: swift-metrics-sink
        let metrics = MemoryMetricsRegistry()                        // register components here, serve its text
        let sink = MemoryMetricsMultiplexer([metrics, SwiftMetricsBridge()])  // each component's `metrics:`
        // end-snippet
        self.metrics = metrics
        // An evicted connection's attempts end by reply, failure or abandonment within one call
        // timeout, and its exchanges within theirs (the same): the drain never needs longer.
        let (connectTimeout, drainTimeout) = (settings.connectTimeout, settings.rpc.callTimeout)
        // Every stream open towards a peer may be reset in one burst (its callers cancelled); the
        // peer's limit is this mesh's `--max-streams-per-client`, and twice it leaves room for a
        // second burst while the first one's late frames arrive.
        let resetStreams = 2 * settings.clients.maximumStreamsPerClient
        registry = try ServiceRegistry(configuration: settings.registry, metrics: sink)
        let deaths = ConnectionDeaths()
        pool = try PeerPool(configuration: settings.pool, metrics: sink, log: log) { address in
            let connection = try await PeerConnection.connect(
                to: address, group: group, timeout: connectTimeout, drainTimeout: drainTimeout,
                resetStreams: resetStreams, logger: logger
            )
            // A peer that crashes closes the channel: its entry goes at once (removal `dead`).
            connection.channel.closeFuture.whenComplete { _ in deaths.closed(address) }
            return connection
        }
        deaths.attach(pool)
        clients = try MeshClients(configuration: settings.clients, metrics: sink, log: log)
        let replies = ReplySink()
        transport = MeshTransport(
            nodeID: settings.id, pool: pool, peers: settings.peers, replies: replies,
            exchangeTimeout: settings.rpc.callTimeout,
            maxBody: settings.maxBody, logger: logger
        )
        rpc = try RPCHandler(
            configuration: settings.rpc, metrics: sink, log: log,
            registry: registry, transport: transport, discovery: transport
        )
        replies.attach(rpc)
        advertisements = try AdvertisementManager(
            configuration: settings.advertisements, metrics: sink, log: log,
            registry: registry, publisher: transport
        )
        let monitor = try MemoryPressureMonitor(metrics: sink, log: log)
        let components: [any MemoryManaged] = [pool, clients, registry, rpc, advertisements]
        for component in components {
            try metrics.register(component)
            await monitor.register(component)
        }
        meshPort = group.next().makePromise(of: Int.self)
        adminPort = group.next().makePromise(of: Int.self)

        let router = MeshRouter(
            nodeID: settings.id, provided: Set(settings.provided), registry: registry, rpc: rpc, logger: logger
        )
        let (advertisements, rpc, provided, host) = (advertisements, rpc, settings.provided, settings.host)
        let pendingAtDrain = self.pendingAtDrain
        // Graceful shutdown goes in reverse order: the mesh listener drains first, while every
        // component still runs; then the components stop; the admin listener stops last.
        let services: [any Service] = [
            AdminServer(
                host: host, port: settings.adminPort, group: group, metrics: metrics, prometheus: prometheus,
                bound: adminPort, logger: logger
            ),
            ComponentService("pressure-monitor") { try await monitor.run() },
            ComponentService("connection-pool") { [pool] in try await pool.run() },
            ComponentService("client-manager") { [clients] in try await clients.run() },
            ComponentService("rpc-handler") { try await rpc.run() },
            ComponentService("advertisement-manager") { try await advertisements.run() },
            MeshServer(
                settings: settings, group: group, clients: clients, router: router, bound: meshPort,
                logger: logger, observer: observer,
                listening: { port in
                    // The advertised address carries the bound port (the option may be 0).
                    let me = ServiceProvider(nodeID: settings.id, address: "\(host):\(port)")
                    for service in provided {
                        do { try await advertisements.advertise(service, provider: me) } catch {
                            logger.error("advertisement refused", metadata: ["service": "\(service)", "error": "\(error)"])
                        }
                    }
                },
                drained: {
                    // Read while the RPC handler still runs: the calls the drain left behind.
                    let pending = await rpc.pendingCallCount
                    pendingAtDrain.withLockedValue { $0 = pending }
                    logger.info("drained", metadata: ["pending_calls": "\(pending)"])
                }
            ),
        ]
        serviceGroup = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services, gracefulShutdownSignals: signals, logger: logger
            )
        )
    }

    /// Runs the node until a graceful shutdown has drained it and stopped every service; then shuts
    /// the pool, the client manager and the RPC handler down. Returns the pending call count read
    /// when the mesh listener had drained (before any component's `run()` ended).
    func run() async throws -> Int {
        do {
            try await serviceGroup.run()
        } catch {
            meshPort.fail(error)
            adminPort.fail(error)
            throw error
        }
        await rpc.shutdown()
        await pool.shutdown()
        await clients.shutdown()
        return pendingAtDrain.withLockedValue { $0 }
    }

    /// Starts a graceful shutdown, as SIGTERM does.
    func stop() async {
        await serviceGroup.triggerGracefulShutdown()
    }
}

/// Tells the pool, held weakly, that a pooled connection's channel closed, so the pool removes
/// the entry as dead at once instead of on the next hit. A no-op when the channel closed because
/// the pool let go of it (the entry is gone, or a new, alive connection took its place).
final class ConnectionDeaths: Sendable {
    private struct Weak { weak var pool: PeerPool? }
    private let box = NIOLockedValueBox(Weak())

    func attach(_ pool: PeerPool) { box.withLockedValue { $0.pool = pool } }

    func closed(_ address: String) {
        guard let pool = box.withLockedValue({ $0.pool }) else { return }
        Task { _ = await pool.prune(address) }
    }
}
