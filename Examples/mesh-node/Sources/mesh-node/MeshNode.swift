import ArgumentParser
import Logging
import MaculaMemory
import MaculaMesh
import Metrics
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
    @Option(help: "Seconds in-flight calls get to finish after SIGTERM or SIGINT.") var drainTimeout = 10.0
    @Option(help: "Seconds an inbound connection gets to send the HTTP/2 preface.") var handshakeTimeout = 5.0
    @Option(help: "Seconds an inbound connection may have no open stream before it is closed.") var idleTimeout = 60.0
    @Option(help: "Log level (trace, debug, info, notice, warning, error, critical).") var logLevel = "info"

    /// Every option, checked and turned into the library's configurations.
    struct Settings: Sendable {
        var id: String
        var host: String
        /// 0: any free port (the bound port is advertised and logged).
        var meshPort: Int
        /// 0: any free port.
        var adminPort: Int
        var maxBody: Int
        var drainTimeout: Duration
        var handshakeTimeout: Duration
        var idleTimeout: Duration
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
        for (option, port) in [("--mesh-port", meshPort), ("--admin-port", adminPort)] where !(0...65_535).contains(port) {
            throw ValidationError("\(option) must be in 0...65535 (0: any free port), not \(port)")
        }
        guard meshPort != adminPort || meshPort == 0 else { throw ValidationError("--admin-port must differ from --mesh-port") }
        let peerList = Self.list(peers)
        for peer in peerList {
            do { _ = try parseHostPort(peer) } catch { throw ValidationError("--peers: \(error.detail)") }
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        guard maxBody > 0, maxBody <= 64 << 20 else { throw ValidationError("--max-body must be in 1...\(64 << 20)") }
        let settings = Settings(
            id: id, host: host, meshPort: meshPort, adminPort: adminPort, maxBody: maxBody,
            drainTimeout: try Self.duration(drainTimeout, "--drain-timeout"),
            handshakeTimeout: try Self.duration(handshakeTimeout, "--handshake-timeout"),
            idleTimeout: try Self.duration(idleTimeout, "--idle-timeout"),
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
        // One swift-metrics backend per process: the node's own counters and the library's events
        // (through `SwiftMetricsBridge`) land in `prometheus`, served after the library's text.
        let prometheus = NodePrometheus()
        MetricsSystem.bootstrap(prometheus.factory)
        var logger = Logger(label: "mesh-node")
        logger[metadataKey: "node"] = "\(id)"
        let node = try await MeshNodeRuntime(
            settings: settings, logger: logger, prometheus: prometheus, signals: [.sigterm, .sigint]
        )
        logger.info("starting", metadata: ["peers": "\(settings.peers)", "provides": "\(settings.provided)"])
        let pending = try await node.run()
        logger.info("stopped", metadata: ["pending_calls": "\(pending)"])
    }
}
