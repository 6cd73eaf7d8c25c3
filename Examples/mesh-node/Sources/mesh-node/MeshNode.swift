import ArgumentParser
import Logging
import MaculaMemory
import MaculaMesh
import NIOPosix
import ServiceLifecycle

/// `mesh-node`: one node of a Macula mesh. Mesh traffic is h2c on `--mesh-port`; the admin
/// endpoints are HTTP/1.1 on `--admin-port`. A bad option exits 64 naming it.
@main
struct MeshNode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesh-node",
        abstract: "A Macula mesh node: the library inside a SwiftNIO HTTP/2 server."
    )

    @Option(help: "This node's ID in the mesh.") var id: String
    @Option(help: "The address both listeners bind, and the host this node advertises.") var host = "127.0.0.1"
    @Option(help: "The mesh port (HTTP/2 cleartext, prior knowledge).") var meshPort: Int
    @Option(help: "The admin port (HTTP/1.1: /healthz, /metrics, /debug/memory).") var adminPort: Int
    @Option(help: "Peers as HOST:PORT,… (their mesh ports).") var peers = ""
    @Option(help: "Services this node provides (each answered by the echo handler), as NAME,….") var provide = ""

    @Option(help: "Most inbound connections (clients) at once.") var maxClients = 10_000
    @Option(help: "Most open streams per client; also SETTINGS_MAX_CONCURRENT_STREAMS.") var maxStreamsPerClient = 100
    @Option(help: "Most pooled outbound connections to peers.") var maxConnections = 1_000
    @Option(help: "Seconds to wait for a TCP connect to a peer.") var connectTimeout = 2.0
    @Option(help: "Seconds one RPC attempt may take before it fails over.") var callTimeout = 5.0
    @Option(help: "Most attempts (providers tried) per RPC call.") var maxAttempts = 3
    @Option(help: "Most RPC calls pending at once.") var maxPendingCalls = 10_000
    @Option(help: "Seconds a discovery may take.") var discoveryTimeout = 5.0
    @Option(help: "Seconds an advertisement lives unless published again.") var advertisementTtl = 300.0
    @Option(help: "Seconds between publications of each advertisement.") var readvertiseInterval = 150.0
    @Option(help: "Seconds one publication may take.") var publishTimeout = 30.0
    @Option(help: "Seconds between cleanups of expired registry entries.") var cleanupInterval = 60.0
    @Option(help: "Seconds a discovered provider list is cached.") var cacheTtl = 60.0
    @Option(help: "Largest request or response body, in bytes.") var maxBody = 1_048_576
    @Option(help: "Log level (trace, debug, info, notice, warning, error, critical).") var logLevel = "info"

    /// Every option, checked and turned into the library's configurations.
    struct Settings: Sendable {
        var peers: [String]
        var provided: [String]
        var logLevel: Logger.Level
        var connectTimeout: Duration
        var pool: ConnectionPoolConfiguration
        var clients: ClientManagerConfiguration
        var registry: ServiceRegistryConfiguration
        var rpc: RPCHandlerConfiguration
        var advertisements: AdvertisementManagerConfiguration
    }

    /// The option each configuration field comes from, to name it in errors.
    private static let optionForField = [
        "maximumClients": "--max-clients", "maximumStreamsPerClient": "--max-streams-per-client",
        "maximumConnections": "--max-connections", "callTimeout": "--call-timeout",
        "maximumAttempts": "--max-attempts", "maximumPendingCalls": "--max-pending-calls",
        "discoveryTimeout": "--discovery-timeout", "advertisementTTL": "--advertisement-ttl",
        "reAdvertiseInterval": "--readvertise-interval", "publishTimeout": "--publish-timeout",
        "cleanupInterval": "--cleanup-interval", "cacheTTL": "--cache-ttl", "localTTL": "--advertisement-ttl",
    ]

    func settings() throws(ValidationError) -> Settings {
        guard !id.isEmpty, id.utf8.count <= ConfigurationError.maximumNameLength else {
            throw ValidationError("--id must be 1 to \(ConfigurationError.maximumNameLength) bytes")
        }
        for (option, port) in [("--mesh-port", meshPort), ("--admin-port", adminPort)] where !(1...65_535).contains(port) {
            throw ValidationError("\(option) must be in 1...65535, not \(port)")
        }
        guard meshPort != adminPort else { throw ValidationError("--admin-port must differ from --mesh-port") }
        let peerList = Self.list(peers)
        for peer in peerList {
            do { _ = try parseHostPort(peer) } catch { throw ValidationError("--peers: \(error.detail)") }
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        guard maxBody > 0, maxBody <= 64 << 20 else { throw ValidationError("--max-body must be in 1...\(64 << 20)") }
        let settings = Settings(
            peers: peerList,
            provided: Self.list(provide),
            logLevel: level,
            connectTimeout: try Self.duration(connectTimeout, "--connect-timeout"),
            pool: ConnectionPoolConfiguration(maximumConnections: maxConnections),
            clients: ClientManagerConfiguration(maximumClients: maxClients, maximumStreamsPerClient: maxStreamsPerClient),
            registry: ServiceRegistryConfiguration(
                localTTL: try Self.duration(advertisementTtl, "--advertisement-ttl"),
                cacheTTL: try Self.duration(cacheTtl, "--cache-ttl")
            ),
            rpc: RPCHandlerConfiguration(
                callTimeout: try Self.duration(callTimeout, "--call-timeout"),
                discoveryTimeout: try Self.duration(discoveryTimeout, "--discovery-timeout"),
                maximumAttempts: maxAttempts,
                maximumPendingCalls: maxPendingCalls
            ),
            advertisements: AdvertisementManagerConfiguration(
                cleanupInterval: try Self.duration(cleanupInterval, "--cleanup-interval"),
                advertisementTTL: try Self.duration(advertisementTtl, "--advertisement-ttl"),
                reAdvertiseInterval: try Self.duration(readvertiseInterval, "--readvertise-interval"),
                publishTimeout: try Self.duration(publishTimeout, "--publish-timeout")
            )
        )
        do {
            try settings.pool.validate()
            try settings.clients.validate()
            try settings.registry.validate()
            try settings.rpc.validate()
            try settings.advertisements.validate()
        } catch {
            let option = Self.optionForField[error.field] ?? error.field
            throw ValidationError("\(option): \(error.rule) (got \(error.value))")
        }
        return settings
    }

    func validate() throws {
        _ = try settings()
    }

    /// Seconds as a `Duration`: finite, above zero, at most the library's maximum duration (so
    /// the conversion cannot trap).
    private static func duration(_ seconds: Double, _ option: String) throws(ValidationError) -> Duration {
        let maximum = Double(ConfigurationError.maximumDuration.components.seconds)
        guard seconds.isFinite, seconds > 0, seconds <= maximum else {
            throw ValidationError("\(option) must be seconds in (0, \(Int(maximum))], not \(seconds)")
        }
        let nanoseconds = Int64((seconds * 1e9).rounded())
        guard nanoseconds > 0 else { throw ValidationError("\(option) must be at least a nanosecond") }
        return .nanoseconds(nanoseconds)
    }

    private static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func run() async throws {
        let settings = try settings()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = settings.logLevel
            return handler
        }
        var logger = Logger(label: "mesh-node")
        logger[metadataKey: "node"] = "\(id)"
        let log = SwiftLogComponentLog(logger: logger)
        let metrics = MemoryMetricsRegistry()
        let group = MultiThreadedEventLoopGroup.singleton
        let connectTimeout = settings.connectTimeout

        let registry = try ServiceRegistry(configuration: settings.registry, metrics: metrics)
        let pool = try PeerPool(configuration: settings.pool, metrics: metrics, log: log) { address in
            try await PeerConnection.connect(to: address, group: group, timeout: connectTimeout)
        }
        let clients = try MeshClients(configuration: settings.clients, metrics: metrics, log: log)
        let replies = ReplySink()
        let transport = MeshTransport(
            nodeID: id, pool: pool, peers: settings.peers, replies: replies,
            attemptTimeout: settings.rpc.callTimeout, exchangeTimeout: settings.rpc.callTimeout,
            maxBody: maxBody, logger: logger
        )
        let rpc = try RPCHandler(
            configuration: settings.rpc, metrics: metrics, log: log,
            registry: registry, transport: transport, discovery: transport
        )
        replies.attach(rpc)
        let advertisements = try AdvertisementManager(
            configuration: settings.advertisements, metrics: metrics, log: log,
            registry: registry, publisher: transport
        )
        let monitor = try MemoryPressureMonitor(metrics: metrics, log: log)
        let components: [any MemoryManaged] = [pool, clients, registry, rpc, advertisements]
        for component in components {
            try metrics.register(component)
            await monitor.register(component)
        }
        let me = ServiceProvider(nodeID: id, address: "\(host):\(meshPort)")
        for service in settings.provided {
            try await advertisements.advertise(service, provider: me)
        }

        let router = MeshRouter(
            nodeID: id, provided: Set(settings.provided), registry: registry, rpc: rpc, logger: logger
        )
        // Graceful shutdown goes in reverse order: the listeners stop first, then the components.
        let services: [any Service] = [
            ComponentService("pressure-monitor") { try await monitor.run() },
            ComponentService("connection-pool") { try await pool.run() },
            ComponentService("client-manager") { try await clients.run() },
            ComponentService("rpc-handler") { try await rpc.run() },
            ComponentService("advertisement-manager") { try await advertisements.run() },
            MeshServer(
                host: host, port: meshPort, group: group, clients: clients, router: router,
                maxBody: maxBody, logger: logger
            ),
            AdminServer(host: host, port: adminPort, group: group, metrics: metrics, logger: logger),
        ]
        let serviceGroup = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger
            )
        )
        logger.info("starting", metadata: ["peers": "\(settings.peers)", "provides": "\(settings.provided)"])
        try await serviceGroup.run()

        let pending = await rpc.pendingCallCount
        await rpc.shutdown()
        await pool.shutdown()
        await clients.shutdown()
        logger.info("stopped", metadata: ["pending_calls": "\(pending)"])
    }
}
