import MaculaMesh
import MaculaTesting
import Testing

/// The conventions every component shares, through the public API only: configuration names the
/// bad field (the component name included), scoped APIs report errors the same way.
@Suite("Component conventions", .timeLimit(.minutes(3)))
struct ComponentConventionTests {
    @Test("every configuration refuses an empty component name, naming the field")
    func emptyNames() throws {
        let failures: [ConfigurationError?] = [
            catching { () throws(ConfigurationError) in try ConnectionPoolConfiguration(componentName: "").validate() },
            catching { () throws(ConfigurationError) in try ClientManagerConfiguration(componentName: "").validate() },
            catching { () throws(ConfigurationError) in try ServiceRegistryConfiguration(componentName: "").validate() },
            catching { () throws(ConfigurationError) in try AdvertisementManagerConfiguration(componentName: "").validate() },
            catching { () throws(ConfigurationError) in try RPCHandlerConfiguration(componentName: "").validate() },
            catching { () throws(ConfigurationError) in try MemoryPressureMonitorConfiguration(componentName: "").validate() },
        ]
        #expect(failures.map(\.?.field) == Array(repeating: "componentName", count: 6))
        #expect(failures.allSatisfy { $0?.rule == "must not be empty" })
        // The defaults are valid, and each component takes its name from its configuration.
        let registry = try ServiceRegistry(configuration: .init(componentName: "edge_registry"))
        let rpc = try RPCHandler(
            configuration: .init(componentName: "edge_rpc"), registry: registry,
            transport: InMemoryRPCTransport(), discovery: InMemoryRPCDiscovery()
        )
        let manager = try AdvertisementManager(
            configuration: .init(componentName: "edge_ads"), registry: registry, publisher: RecordingServicePublisher()
        )
        let monitor = try MemoryPressureMonitor(configuration: .init(componentName: "edge_pressure"), reader: FakeMemoryReader())
        #expect([registry.componentName, rpc.componentName, manager.componentName, monitor.componentName]
            == ["edge_registry", "edge_rpc", "edge_ads", "edge_pressure"])
    }

    @Test("withConnection and withClient: a task cancelled on entry gets the component's .cancelled, the body does not run")
    func cancelledOnEntry() async throws {
        let pool = try ConnectionPool { (node: Int) in FakeConnection(node: node, serial: node) }
        let clients = try ClientManager<String, String, Int>()
        let ran = LockedState(0)
        let outcome = await Task { () -> (pool: (any Error)?, clients: (any Error)?) in
            withUnsafeCurrentTask { $0?.cancel() }
            var errors: (pool: (any Error)?, clients: (any Error)?) = (nil, nil)
            do { try await pool.withConnection(to: 1) { _ in ran.withLock { $0 += 1 } } } catch { errors.pool = error }
            do { try await clients.withClient("a", info: "a") { ran.withLock { $0 += 1 } } } catch { errors.clients = error }
            return errors
        }.value
        #expect(outcome.pool as? ConnectionPoolError == .cancelled)
        #expect(outcome.clients as? ClientManagerError == .cancelled)
        #expect(ran.withLock { $0 } == 0)
        #expect(await pool.memoryUsage().size == 0)
        #expect(await clients.clientCount == 0)
    }

    @Test("withConnection and withClient rethrow what the body throws, CancellationError included, unchanged")
    func bodyErrors() async throws {
        let pool = try ConnectionPool { (node: Int) in FakeConnection(node: node, serial: node) }
        let clients = try ClientManager<String, String, Int>()
        await #expect(throws: CancellationError.self) {
            try await pool.withConnection(to: 1) { _ in throw CancellationError() }
        }
        await #expect(throws: CancellationError.self) {
            try await clients.withClient("a", info: "a") { throw CancellationError() }
        }
        #expect(await pool.info(for: 1) == .connected(try #require(await pool.connections().first?.connection), leases: 0))
        #expect(await clients.clientCount == 0)
    }

    @Test("the pressure monitor logs level changes, and a failing reading once until one works again")
    func monitorLogs() async throws {
        let reader = FakeMemoryReader(usedBytes: 100, limitBytes: 1_000)
        let log = RecordingComponentLog()
        let monitor = try MemoryPressureMonitor(log: log, reader: reader)
        reader.set(usedBytes: 950)
        #expect(await monitor.check() == .high)
        reader.fail(with: MemoryReadError("unreadable"))
        await monitor.check()
        await monitor.check()
        reader.set(MemoryReading(usedBytes: 100, limitBytes: 1_000))
        #expect(await monitor.check() == .normal)
        reader.fail(with: MemoryReadError("unreadable"))
        await monitor.check()
        #expect(log.events.map(\.kind) == [.pressureLevelChanged, .memoryReadingFailed, .pressureLevelChanged, .memoryReadingFailed])
        #expect(log.events.allSatisfy { $0.component == "memory_pressure_monitor" })
        #expect(log.events.first?.metadata["to"] == "high" && log.events.first?.level == .info)
    }

    @Test("a second run() of the pressure monitor throws its typed alreadyRunning")
    func monitorRunsOnce() async throws {
        let clock = ManualClock()
        let monitor = try MemoryPressureMonitor(clock: clock, reader: FakeMemoryReader())
        let runner = Task { try await monitor.run() }
        _ = await clock.nextSleep()                                       // the first run() is running
        await #expect(throws: MemoryPressureMonitorError.alreadyRunning) { try await monitor.run() }
        runner.cancel()
        try await runner.value
    }
}

private func catching(_ body: () throws(ConfigurationError) -> Void) -> ConfigurationError? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}
