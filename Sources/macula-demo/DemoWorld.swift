import MaculaDemoSupport
import MaculaMemory

// The demo's interfaces: one small protocol per mechanism, implemented twice — by the Macula
// actors through their public API (`BoundedWorld`) and by the demo's naive stand-ins with the
// original's behavior (`UnboundedWorld`). The workload drives either through these alone, so the
// two worlds see the same operations in the same order.

/// How one workload operation ended, for the report's counts.
enum Outcome: Sendable, Hashable {
    /// It did what was asked.
    case ok
    /// A limit refused it at once (backpressure); the label names which.
    case refused(String)
    /// A deadline passed.
    case timedOut(String)
    /// The caller's task was cancelled.
    case cancelled
    /// Anything else; the label says what.
    case failed(String)

    /// A short label for the report.
    var label: String {
        switch self {
        case .ok: "ok"
        case .refused(let why): "refused: \(why)"
        case .timedOut(let what): "timed out: \(what)"
        case .cancelled: "cancelled"
        case .failed(let why): "failed: \(why)"
        }
    }
}

/// The connection pool, as the workload uses it: peers come and go, messages go out to them.
protocol PoolFacade: Sendable {
    /// Gets (or opens) the connection to `peer` and sends one message over it.
    /// - Parameter leased: hold the connection with a lease while sending (scoped use).
    func send(to peer: Int, leased: Bool) async -> Outcome
    /// `peer` announced that it is leaving: forget its connection.
    func peerLeft(_ peer: Int) async
    /// Periodic maintenance a server would run (every second): drop dead connections.
    func maintain() async
    /// Closes every connection, at the end of the run.
    func shutdown() async
    /// The pool's size and limits.
    func reading() async -> ComponentReading
}

/// The client manager: clients connect, open streams, and leave.
protocol ClientFacade: Sendable {
    /// Registers `client` with its session state.
    func connect(_ client: Int, session: ClientSession) async -> Outcome
    /// Opens `stream` for `client`.
    func openStream(_ stream: Int, for client: Int) async -> Outcome
    /// Closes `stream`.
    func closeStream(_ stream: Int) async
    /// `client` disconnected.
    func disconnect(_ client: Int) async
    /// Registers `client` for the duration of `body`, opening `streams` first; the client leaves
    /// when `body` ends, however it ends (in the bounded world).
    func withClient(_ client: Int, session: ClientSession, streams: [Int], body: @Sendable () async throws -> Void) async -> Outcome
    /// Clients and streams.
    func readings() async -> (clients: ComponentReading, streams: ComponentReading)
}

/// The service registry and the advertisement manager.
protocol ServiceFacade: Sendable {
    /// Advertises `service` and keeps it alive until ``stopAdvertising(_:)``.
    func advertise(_ service: String) async -> Outcome
    /// Stops keeping `service` alive and withdraws it.
    func stopAdvertising(_ service: String) async
    /// Advertises `service` once with a short TTL and never refreshes it: it must expire.
    func advertiseOnce(_ service: String, ttl: Duration) async -> Outcome
    /// Local advertisements, cached services and kept advertisements.
    func readings() async -> (local: ComponentReading, cached: ComponentReading, advertisements: ComponentReading)
}

/// The RPC handler.
protocol CallFacade: Sendable {
    /// Calls `procedure` of `service` with `payload`; discovery, timeouts and failover as the
    /// world implements them.
    func call(_ service: String, payload: [UInt8]) async -> Outcome
    /// Pending calls and discoveries.
    func reading() async -> ComponentReading
}

/// One world: the four facades, their background loops, and their readings.
protocol DemoWorld: Sendable {
    var pool: any PoolFacade { get }
    var clients: any ClientFacade { get }
    var services: any ServiceFacade { get }
    var calls: any CallFacade { get }
    /// The components the pressure monitor should scale, and the metrics registry report.
    var managedComponents: [any MemoryManaged] { get }
    /// Adds every `run()` loop the world needs to `group`; they end when the group is cancelled.
    func startLoops(in group: inout DiscardingTaskGroup)
    /// Shuts down what can be shut down after the loops ended (closes pooled connections).
    func shutdown() async
    /// Every component's reading, for a sample.
    func readings() async -> [DemoComponent: ComponentReading]
}

extension DemoWorld {
    func readings() async -> [DemoComponent: ComponentReading] {
        let pool = await pool.reading()
        let (clients, streams) = await clients.readings()
        let (local, cached, advertisements) = await services.readings()
        let pending = await calls.reading()
        return [
            .connections: pool,
            .clients: clients,
            .streams: streams,
            .localServices: local,
            .cachedServices: cached,
            .advertisements: advertisements,
            .pendingCalls: pending,
        ]
    }
}

extension ComponentReading {
    /// The reading of a Macula component's usage.
    init(_ usage: MemoryUsage) {
        self.init(size: usage.size, effectiveLimit: usage.effectiveLimit, baseLimit: usage.baseLimit, highWaterMark: usage.highWaterMark)
    }
}
