import MaculaMemory
import MaculaMesh
import MaculaTesting
import Synchronization

// The node `macula-bench --heap` drives: the five components wired together on one manual clock,
// with small limits, and collaborators whose own tables are bounded by the workload's names,
// never by its history.

/// The limits, timeouts and name spaces of the heap run. Every name space is a few times its
/// component's limit, so that the limits, evictions and expiries are reached again and again.
struct HeapWorkload {
    var connections = 256
    var nodes = 1_024
    var clients = 512
    var clientIDs = 1_024
    var streamsPerClient = 8
    var clientWaiters = 8
    var clientWaitTimeout: Duration = .milliseconds(20)
    var localServices = 384
    var cachedServices = 512
    var cacheTTL: Duration = .milliseconds(500)
    var advertisements = 128
    var advertisedNames = 256
    var ownedNames = 512
    var cachedNames = 1_024
    var pendingCalls = 32
    var callTimeout: Duration = .milliseconds(50)
    var remoteServices = 1_024
    var localProcedures = 8
    /// The clock moves by `tick` every `operationsPerTick` operations.
    var tick: Duration = .milliseconds(10)
    var operationsPerTick = 64
    /// Every component's size is read every `sampleInterval` operations.
    var sampleInterval = 10_000
    /// Callers the driver keeps in flight at most (waiting for a timeout, a reply or a slot).
    var backgroundCallers = 64
    /// Of those, the ones the driver may cancel.
    var cancellableCallers = 16
    var seed: UInt64 = 0x4D41_4355_4C41_4850
}

/// Raised by the factory for the nodes that never answer.
struct UnreachableNode: Error {}

/// Raised by the publisher on every tenth publish, so the manager retries.
struct PublishRefused: Error {}

/// Publishes nothing: counts, and refuses every tenth publish. Keeps no history.
final class CountingPublisher: ServicePublisher {
    private let count = Atomic<Int>(0)

    /// Counts `advertisement`; throws ``PublishRefused`` on every tenth call. - Complexity: O(1).
    func publish(_ advertisement: ServiceAdvertisement) async throws {
        if count.add(1, ordering: .relaxed).newValue % 10 == 0 { throw PublishRefused() }
    }
}

/// Numbers the fake connections the pool's factory makes.
final class ConnectionSerials: Sendable {
    private let last = Atomic<Int>(0)
    /// The next serial number, from 1. - Complexity: O(1).
    func next() -> Int { last.add(1, ordering: .relaxed).newValue }
}

/// The five components, their collaborators and their clock.
struct HeapWorld: Sendable {
    typealias Pool = ConnectionPool<Int, FakeConnection<Int>>
    typealias Clients = ClientManager<Int, Int, Int>

    let clock = ManualClock()
    let metrics = MemoryMetricsRegistry()
    let pool: Pool
    let clients: Clients
    let registry: ServiceRegistry
    let advertisements: AdvertisementManager
    let handler: RPCHandler
    let transport: InMemoryRPCTransport
    let discovery: InMemoryRPCDiscovery
    /// This node, as its advertisements name it.
    let me = ServiceProvider(nodeID: "heap-node", address: "mem://heap-node")
    /// The remote services. By its index modulo 8, a service's providers all answer at once
    /// (0, 1, 2), or one of three answers with a failure (3), or one of three refuses the send and
    /// the call fails over at once (4): such a call ends without the clock moving. Or one of
    /// three never answers (5), two of three hold the request until the driver's next tick (6),
    /// or none answers (7): such a call waits for a timeout or a reply. The discovery of every
    /// service whose index is 60 modulo 64 fails.
    let remoteServices: [String]
    /// The names the other operations pick from, made once so that no operation formats a string.
    let localProcedures: [String]
    let advertisedNames: [String]
    let ownedNames: [String]
    let cachedNames: [String]
    let cachedProviders: [[ServiceProvider]]

    /// Builds the node and registers every component with `metrics`.
    /// - Throws: ``ConfigurationError`` when a limit breaks a component's rule; ``RPCError`` when
    ///   a local procedure cannot be registered.
    init(_ workload: HeapWorkload) async throws {
        let serials = ConnectionSerials()
        pool = try Pool(
            configuration: .init(maximumConnections: workload.connections, maximumWaiters: 16, waitTimeout: .milliseconds(100)),
            clock: clock,
            metrics: metrics
        ) { node in
            if node % 64 == 63 { throw UnreachableNode() }
            return FakeConnection(node: node, serial: serials.next())
        }
        clients = try Clients(
            configuration: .init(
                maximumClients: workload.clients,
                maximumStreamsPerClient: workload.streamsPerClient,
                maximumWaiters: workload.clientWaiters,
                waitTimeout: workload.clientWaitTimeout
            ),
            clock: clock,
            metrics: metrics,
            isAlive: { _, info in info % 32 != 0 }
        )
        registry = try ServiceRegistry(
            configuration: .init(
                maximumLocalServices: workload.localServices,
                maximumCachedServices: workload.cachedServices,
                maximumProvidersPerService: 4,
                localTTL: .seconds(4),
                cacheTTL: workload.cacheTTL
            ),
            clock: clock,
            metrics: metrics
        )
        advertisements = try AdvertisementManager(
            configuration: .init(
                cleanupInterval: .seconds(1),
                advertisementTTL: .seconds(10),
                reAdvertiseInterval: .seconds(4),
                publishTimeout: .milliseconds(500),
                publishRetryDelay: .milliseconds(200),
                maximumAdvertisements: workload.advertisements
            ),
            metrics: metrics,
            registry: registry,
            publisher: CountingPublisher()
        )

        // Providers by behavior: answer at once, answer with a failure, refuse the send, never
        // answer, or hold the request until the driver replies.
        func providers(_ prefix: String, _ count: Int) -> [ServiceProvider] {
            (0..<count).map { ServiceProvider(nodeID: "\(prefix)-\($0)", address: "mem://\(prefix)-\($0)") }
        }
        let fast = providers("fast", 8)
        let failing = providers("failing", 2)
        let broken = providers("broken", 4)
        let silent = providers("silent", 4)
        let held = providers("held", 4)
        transport = InMemoryRPCTransport(defaultBehavior: .respond { request in .success(request.arguments) }, keepsHistory: false)
        for provider in failing { transport.setBehavior(.respond { _ in .failure("refused") }, for: provider.nodeID) }
        for provider in broken { transport.setBehavior(.failSend("unreachable"), for: provider.nodeID) }
        for provider in silent { transport.setBehavior(.drop, for: provider.nodeID) }
        for provider in held { transport.setBehavior(.hold, for: provider.nodeID) }

        discovery = InMemoryRPCDiscovery()
        remoteServices = (0..<workload.remoteServices).map { "rpc-\($0)" }
        for (index, service) in remoteServices.enumerated() {
            let f = { (k: Int) in fast[(index + k) % fast.count] }
            let found: [ServiceProvider] = switch index % 8 {
            case 0, 1, 2: [f(0), f(1), f(2)]
            case 3: [failing[index % failing.count], f(1), f(2)]
            case 4: [broken[index % broken.count], f(1), f(2)]
            case 5: [silent[index % silent.count], f(1), f(2)]
            case 6: [held[index % held.count], held[(index + 1) % held.count], f(2)]
            default: [silent[index % silent.count], silent[(index + 1) % silent.count], silent[(index + 2) % silent.count]]
            }
            discovery.setAnswer(index % 64 == 60 ? .failure("no route") : .providers(found), for: service)
        }

        handler = try RPCHandler(
            configuration: .init(
                callTimeout: workload.callTimeout,
                maximumAttempts: 3,
                providerStrategy: .random,
                randomSeed: workload.seed,
                maximumPendingCalls: workload.pendingCalls
            ),
            metrics: metrics,
            registry: registry,
            transport: transport,
            discovery: discovery
        )
        transport.deliverReplies(to: handler)
        localProcedures = (0..<workload.localProcedures).map { "local-\($0)" }
        for procedure in localProcedures { try await handler.register(procedure) { $0 } }

        advertisedNames = (0..<workload.advertisedNames).map { "advertised-\($0)" }
        ownedNames = (0..<workload.ownedNames).map { "owned-\($0)" }
        cachedNames = (0..<workload.cachedNames).map { "cached-\($0)" }
        cachedProviders = (0..<16).map { k in Array(fast[0..<(1 + k % 4)]) }

        for component in managedComponents { try metrics.register(component) }
    }

    /// The five components, in the order the report lists them.
    var managedComponents: [any MemoryManaged] { [pool, clients, registry, advertisements, handler] }
}
