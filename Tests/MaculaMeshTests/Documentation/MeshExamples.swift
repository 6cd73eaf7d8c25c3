import MaculaMesh
import MaculaTesting
import Testing

/// The Swift examples of README.md and architecture/, compiled and run (cut by `.ci/check-docs.py`).
@Suite("Documentation examples: mesh", .timeLimit(.minutes(3)))
struct MeshExamples {
    @Test("README: a node that embeds the five mechanisms")
    func embedding() async throws {
        // snippet: embedding
        let metrics = MemoryMetricsRegistry()
        let pool = try ConnectionPool(metrics: metrics) { (node: Int) in
            FakeConnection(node: node, serial: 1)                       // your QUIC/HTTP/2 dial here
        }
        let clients = try ClientManager<String, String, UInt64>(metrics: metrics)
        let registry = try ServiceRegistry(metrics: metrics)
        let transport = InMemoryRPCTransport(defaultBehavior: .respond { request in .success(request.arguments) })
        let rpc = try RPCHandler(metrics: metrics, registry: registry, transport: transport, discovery: InMemoryRPCDiscovery())
        transport.deliverReplies(to: rpc)                               // your transport and discovery here
        try await registry.cacheProviders([ServiceProvider(nodeID: "b", address: "mem://b")], for: "echo")
        for component in [pool, clients, registry, rpc] as [any MemoryManaged] { try metrics.register(component) }

        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await pool.run() }                      // or your ServiceGroup:
            group.addTask { try await clients.run() }                   // start order does not matter
            group.addTask { try await rpc.run() }
            let connection = try await pool.connection(to: 7)
            let reply = try await rpc.call("echo", arguments: [1, 2])
            // snippet-pause
            #expect(connection.node == 7)
            #expect(reply == [1, 2])
            // snippet-resume
            group.cancelAll()                                           // stop: every run() returns
        }
        // end-snippet
        let snapshot = await metrics.snapshot()
        #expect(snapshot.component(named: "gateway_mesh")?.usage?.size == 1)
        #expect(snapshot.component(named: "client_manager")?.usage?.size == 0)
        #expect(snapshot.component(named: "rpc_handler")?.usage?.size == 0)
    }

    @Test("bounded pool: the least recently used idle connection is closed when a new one needs room")
    func boundedPool() async throws {
        let clock = ManualClock()
        // snippet: bounded-pool
        var configuration = ConnectionPoolConfiguration()
        configuration.maximumConnections = 2
        let pool = try ConnectionPool(configuration: configuration, clock: clock) { node in
            FakeConnection(node: node, serial: node)
        }
        let first = try await pool.connection(to: 1)
        _ = try await pool.connection(to: 2)
        _ = try await pool.connection(to: 1)            // a hit: node 1 is now the most recent
        _ = try await pool.connection(to: 3)            // a miss at the limit: node 2 is evicted and closed
        let reply = try await pool.withConnection(to: 1) { connection in
            connection.node                             // leased: never evicted while the body runs
        }
        // end-snippet
        #expect(reply == 1)
        #expect(first.closeCount == 0)
        #expect(await pool.info(for: 2) == nil)
        #expect(await pool.memoryUsage().size == 2)
    }

    @Test("caller monitoring: a cancelled caller leaves nothing pending")
    func callerMonitoring() async throws {
        let clock = ManualClock()
        let registry = try ServiceRegistry(clock: clock)
        try await registry.cacheProviders([ServiceProvider(nodeID: "b", address: "mem://b")], for: "report.build")
        let transport = InMemoryRPCTransport(defaultBehavior: .hold)
        // snippet: caller-monitoring
        let rpc = try RPCHandler(registry: registry, transport: transport, discovery: InMemoryRPCDiscovery())
        transport.deliverReplies(to: rpc)
        let runner = Task { try await rpc.run() }       // one sleeper for every call's deadline
        let caller = Task { try await rpc.call("report.build", arguments: [42]) }
        let request = await transport.nextRequest()     // the request is out; the caller waits
        caller.cancel()                                 // the caller goes away (Erlang: DOWN)
        _ = await caller.result                         // …and its pending call is gone already:
        let pending = await rpc.pendingCallCount        // 0
        await rpc.handleReply(RPCReply(callID: request.callID, outcome: .success([1])))  // late: discarded
        // end-snippet
        #expect(pending == 0)
        #expect(await rpc.deadlineCount == 0)
        runner.cancel()
        _ = await runner.result
    }

    @Test("monitoring and troubleshooting: the snapshot names the full component")
    func diagnose() async throws {
        let metrics = MemoryMetricsRegistry()
        let clients = try ClientManager<String, String, UInt64>(
            configuration: .init(maximumClients: 2), metrics: metrics
        )
        try metrics.register(clients)
        try await clients.clientConnected("a", info: "")
        try await clients.clientConnected("b", info: "")
        await #expect(throws: ClientManagerError.maxClientsReached) { try await clients.clientConnected("c", info: "") }
        var report: [String] = []
        // snippet: diagnose
        let snapshot = await metrics.snapshot()
        for component in snapshot.components {
            guard let usage = component.usage else { continue }
            let full = usage.size * 10 >= usage.effectiveLimit * 9
            report.append("\(component.name): \(usage.size)/\(usage.effectiveLimit) (base \(usage.baseLimit), "
                + "scale \(usage.pressureScale), high-water \(usage.highWaterMark))\(full ? " FULL" : "") "
                + "removed \(component.removals) rejected \(component.rejections)")
        }
        report.append("pressure: \(snapshot.pressureLevel)")
        // end-snippet
        #expect(report.first?.contains("client_manager: 2/2") == true)
        #expect(report.first?.contains("FULL") == true)
        #expect(report.first?.contains("limit_reached") == true)
    }
}
