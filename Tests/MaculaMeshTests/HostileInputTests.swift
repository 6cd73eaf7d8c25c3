import Foundation
import MaculaMemory
import MaculaMesh
import MaculaTesting
import Testing

/// What a hostile input may lead to. A trap fails the whole run, a hang fails the time limit.
enum HostileOutcome: Hashable, Sendable, CustomStringConvertible {
    /// A ``ConfigurationError`` naming the field and the rule.
    case refused(field: String, rule: String)
    /// A typed runtime error, by its type and description.
    case failed(String)
    /// A documented no-op: the call returned and nothing changed.
    case noOp
    /// A documented clamp: what is in effect afterwards.
    case clamped(String)
    /// The input was taken as if it were valid: never expected.
    case accepted

    static func error<E: Error & Equatable>(_ error: E) -> HostileOutcome { .failed("\(E.self): \(error)") }

    var description: String {
        switch self {
        case .refused(let field, let rule): "refused: \(field) \(rule)"
        case .failed(let error): "failed: \(error)"
        case .noOp: "no-op"
        case .clamped(let value): "clamped: \(value)"
        case .accepted: "accepted"
        }
    }
}

/// One row: an input, what the documentation promises for it, and how to try it.
struct HostileInput: Sendable, CustomTestStringConvertible {
    let input: String
    let expected: HostileOutcome
    let attempt: @Sendable () async -> HostileOutcome

    init(_ input: String, _ expected: HostileOutcome, _ attempt: @escaping @Sendable () async -> HostileOutcome) {
        self.input = input
        self.expected = expected
        self.attempt = attempt
    }

    var testDescription: String { input }
}

/// Runs `body`: a ``ConfigurationError`` is a refusal, `expected` is the typed failure promised,
/// anything else is reported as it is.
private func outcome<E: Error & Equatable>(
    failing expected: E? = nil as ConfigurationError?, _ body: () async throws -> Void
) async -> HostileOutcome {
    do {
        try await body()
        return .accepted
    } catch let error as ConfigurationError {
        return .refused(field: error.field, rule: error.rule)
    } catch let error as E where error == expected {
        return .error(expected!)
    } catch {
        return .failed("unexpected \(type(of: error)): \(error)")
    }
}

/// The usage after a clamp, as the table spells it.
private func clamp(_ usage: MemoryUsage) -> HostileOutcome {
    .clamped("scale \(usage.pressureScale), limit \(usage.effectiveLimit)")
}

private let tenYears = "must be at most \(ConfigurationError.maximumDuration)"
private let forever: Duration = .seconds(Int64.max)
/// A megabyte of the characters that need escaping in the exposition.
private let megabyteName = String(repeating: "q\"b\\n\n", count: 1 << 20 / 6)
private let nameTooLong = HostileOutcome.refused(field: "componentName", rule: "must be at most 256 UTF-8 bytes")
private let nameEmpty = HostileOutcome.refused(field: "componentName", rule: "must not be empty")
private let zeroDuration = "must be greater than zero"
private let node = ServiceProvider(nodeID: "n", address: "mem://n")

private func pool(_ configuration: ConnectionPoolConfiguration = .init(maximumConnections: 10), clock: ManualClock = ManualClock()) throws -> ConnectionPool<Int, FakeConnection<Int>> {
    try ConnectionPool(configuration: configuration, clock: clock) { (node: Int) in FakeConnection(node: node, serial: node) }
}

private func clients(_ configuration: ClientManagerConfiguration = .init(maximumClients: 10), clock: ManualClock = ManualClock()) throws -> ClientManager<String, String, Int> {
    try ClientManager(configuration: configuration, clock: clock)
}

private func rpc(_ configuration: RPCHandlerConfiguration = .init()) throws -> RPCHandler {
    try RPCHandler(
        configuration: configuration, registry: ServiceRegistry(clock: ManualClock()),
        transport: InMemoryRPCTransport(), discovery: InMemoryRPCDiscovery()
    )
}

private func advertisements(_ configuration: AdvertisementManagerConfiguration = .init(maximumAdvertisements: 10)) throws -> AdvertisementManager {
    try AdvertisementManager(configuration: configuration, registry: ServiceRegistry(clock: ManualClock()), publisher: RecordingServicePublisher())
}

/// A component that reports any name it is given.
private actor NamedComponent: MemoryManaged {
    nonisolated let componentName: String
    init(componentName: String) { self.componentName = componentName }
    func memoryUsage() -> MemoryUsage { MemoryUsage(size: 0, effectiveLimit: 1, baseLimit: 1, pressureScale: 1, highWaterMark: 0) }
    func setLimit(_ limit: Int) throws(ConfigurationError) {}
    func setPressureScale(_ scale: Double) {}
    func prune() -> Int { 0 }
}

/// Every public initializer, setter and entry point against zero, negative and extreme limits,
/// zero, negative and extreme durations, non-finite scales, hostile names, unknown IDs, calls
/// after `shutdown()` and a second `run()`.
enum HostileInputTable {
    static let configurations: [HostileInput] = [
        HostileInput("pool maximumConnections 0", .refused(field: "maximumConnections", rule: "must be at least 1")) {
            await outcome { _ = try pool(.init(maximumConnections: 0)) }
        },
        HostileInput("pool maximumConnections Int.max", .refused(field: "maximumConnections", rule: "must be at most 2147483647")) {
            await outcome { _ = try pool(.init(maximumConnections: .max)) }
        },
        HostileInput("pool maximumWaiters -1", .refused(field: "maximumWaiters", rule: "must be at least 0")) {
            await outcome { _ = try pool(.init(maximumWaiters: -1)) }
        },
        HostileInput("pool waitTimeout zero", .refused(field: "waitTimeout", rule: zeroDuration)) {
            await outcome { _ = try pool(.init(waitTimeout: .zero)) }
        },
        HostileInput("pool waitTimeout negative", .refused(field: "waitTimeout", rule: zeroDuration)) {
            await outcome { _ = try pool(.init(waitTimeout: .seconds(-1))) }
        },
        HostileInput("pool waitTimeout Int64.max seconds", .refused(field: "waitTimeout", rule: tenYears)) {
            await outcome { _ = try pool(.init(waitTimeout: forever)) }
        },
        HostileInput("pool componentName empty", nameEmpty) {
            await outcome { _ = try pool(.init(componentName: "")) }
        },
        HostileInput("pool componentName 1 MB of quotes, backslashes and newlines", nameTooLong) {
            await outcome { _ = try pool(.init(componentName: megabyteName)) }
        },
        HostileInput("clients maximumClients 0", .refused(field: "maximumClients", rule: "must be at least 1")) {
            await outcome { _ = try clients(.init(maximumClients: 0)) }
        },
        HostileInput("clients maximumStreamsPerClient -1", .refused(field: "maximumStreamsPerClient", rule: "must be at least 1")) {
            await outcome { _ = try clients(.init(maximumStreamsPerClient: -1)) }
        },
        HostileInput("clients maximumWaiters Int.min", .refused(field: "maximumWaiters", rule: "must be at least 0")) {
            await outcome { _ = try clients(.init(maximumWaiters: .min)) }
        },
        HostileInput("clients waitTimeout negative", .refused(field: "waitTimeout", rule: zeroDuration)) {
            await outcome { _ = try clients(.init(waitTimeout: .nanoseconds(-1))) }
        },
        HostileInput("clients waitTimeout Int64.max seconds", .refused(field: "waitTimeout", rule: tenYears)) {
            await outcome { _ = try clients(.init(waitTimeout: forever)) }
        },
        HostileInput("clients componentName 1 MB", nameTooLong) {
            await outcome { _ = try clients(.init(componentName: megabyteName)) }
        },
        HostileInput("registry maximumLocalServices 0", .refused(field: "maximumLocalServices", rule: "must be at least 1")) {
            await outcome { _ = try ServiceRegistry(configuration: .init(maximumLocalServices: 0)) }
        },
        HostileInput("registry maximumProvidersPerService -1", .refused(field: "maximumProvidersPerService", rule: "must be at least 1")) {
            await outcome { _ = try ServiceRegistry(configuration: .init(maximumProvidersPerService: -1)) }
        },
        HostileInput("registry localTTL zero", .refused(field: "localTTL", rule: zeroDuration)) {
            await outcome { _ = try ServiceRegistry(configuration: .init(localTTL: .zero)) }
        },
        HostileInput("registry cacheTTL Int64.max seconds", .refused(field: "cacheTTL", rule: tenYears)) {
            await outcome { _ = try ServiceRegistry(configuration: .init(cacheTTL: forever)) }
        },
        HostileInput("registry componentName empty", nameEmpty) {
            await outcome { _ = try ServiceRegistry(configuration: .init(componentName: "")) }
        },
        HostileInput("advertisements cleanupInterval Int64.max seconds", .refused(field: "cleanupInterval", rule: tenYears)) {
            await outcome { _ = try advertisements(.init(cleanupInterval: forever)) }
        },
        HostileInput("advertisements publishTimeout zero", .refused(field: "publishTimeout", rule: zeroDuration)) {
            await outcome { _ = try advertisements(.init(publishTimeout: .zero)) }
        },
        HostileInput("advertisements publishRetryDelay Int64.max seconds", .refused(field: "publishRetryDelay", rule: tenYears)) {
            await outcome { _ = try advertisements(.init(publishRetryDelay: forever)) }
        },
        HostileInput("advertisements advertisementTTL negative", .refused(field: "advertisementTTL", rule: zeroDuration)) {
            await outcome { _ = try advertisements(.init(advertisementTTL: .seconds(-300))) }
        },
        HostileInput("advertisements maximumAdvertisements 0", .refused(field: "maximumAdvertisements", rule: "must be at least 1")) {
            await outcome { _ = try advertisements(.init(maximumAdvertisements: 0)) }
        },
        HostileInput("rpc callTimeout Int64.max seconds", .refused(field: "callTimeout", rule: tenYears)) {
            await outcome { _ = try rpc(.init(callTimeout: forever)) }
        },
        HostileInput("rpc overallTimeout negative", .refused(field: "overallTimeout", rule: zeroDuration)) {
            await outcome { _ = try rpc(.init(overallTimeout: .seconds(-1))) }
        },
        HostileInput("rpc maximumAttempts 0", .refused(field: "maximumAttempts", rule: "must be at least 1")) {
            await outcome { _ = try rpc(.init(maximumAttempts: 0)) }
        },
        HostileInput("rpc maximumPendingCalls Int.min", .refused(field: "maximumPendingCalls", rule: "must be at least 1")) {
            await outcome { _ = try rpc(.init(maximumPendingCalls: .min)) }
        },
        HostileInput("rpc componentName 1 MB", nameTooLong) {
            await outcome { _ = try rpc(.init(componentName: megabyteName)) }
        },
        HostileInput("monitor checkInterval Int64.max seconds", .refused(field: "checkInterval", rule: tenYears)) {
            await outcome { _ = try MemoryPressureMonitor(configuration: .init(checkInterval: forever), reader: FakeMemoryReader()) }
        },
        HostileInput("monitor checkInterval zero", .refused(field: "checkInterval", rule: zeroDuration)) {
            await outcome { _ = try MemoryPressureMonitor(configuration: .init(checkInterval: .zero), reader: FakeMemoryReader()) }
        },
        HostileInput("monitor hysteresis NaN", .refused(field: "hysteresis", rule: "must be in [0, 1)")) {
            await outcome { _ = try MemoryPressureMonitor(configuration: .init(hysteresis: .nan), reader: FakeMemoryReader()) }
        },
        HostileInput("monitor mediumScale infinity", .refused(field: "mediumScale", rule: "must be in (0, 1]")) {
            await outcome { _ = try MemoryPressureMonitor(configuration: .init(mediumScale: .infinity), reader: FakeMemoryReader()) }
        },
        HostileInput("monitor highScale negative", .refused(field: "highScale", rule: "must be in (0, mediumScale (0.9)]")) {
            await outcome { _ = try MemoryPressureMonitor(configuration: .init(highScale: -0.5), reader: FakeMemoryReader()) }
        },
        HostileInput("monitor componentName 1 MB", nameTooLong) {
            await outcome { _ = try MemoryPressureMonitor(configuration: .init(componentName: megabyteName), reader: FakeMemoryReader()) }
        },
        HostileInput("budget base limit 0", .refused(field: "limit", rule: "must be at least 1")) {
            await outcome { _ = try MemoryBudget(baseLimit: 0) }
        },
        HostileInput("metrics registry: a component named with 1 MB", nameTooLong) {
            await outcome {
                let registry = MemoryMetricsRegistry()
                try registry.register(NamedComponent(componentName: megabyteName))
            }
        },
        HostileInput("metrics registry: two live components under one name", .refused(field: "componentName", rule: "must be unique in the registry")) {
            let (first, second) = (try? clients(), try? clients())
            return await outcome {
                let registry = MemoryMetricsRegistry()
                try registry.register(first!)
                try registry.register(second!)
            }
        },
    ]

    static let limitsAndScales: [HostileInput] = [
        HostileInput("pool setLimit 0", .refused(field: "maximumConnections", rule: "must be at least 1")) {
            await outcome { try await pool().setLimit(0) }
        },
        HostileInput("pool setLimit Int.max", .refused(field: "maximumConnections", rule: "must be at most 2147483647")) {
            await outcome { try await pool().setLimit(.max) }
        },
        HostileInput("clients setLimit -1", .refused(field: "maximumClients", rule: "must be at least 1")) {
            await outcome { try await clients().setLimit(-1) }
        },
        HostileInput("clients setLimit Int.max, then scale 0.5", .clamped("scale 0.5, limit 4611686018427387903")) {
            guard let manager = try? clients(), (try? await manager.setLimit(.max)) != nil else { return .accepted }
            await manager.setPressureScale(0.5)
            return clamp(await manager.memoryUsage())
        },
        HostileInput("registry setLimit 1", .refused(field: "limit", rule: "must be at least 2 (one local advertisement and one cached service)")) {
            await outcome { try await ServiceRegistry().setLimit(1) }
        },
        HostileInput("registry setLimits Int.max and Int.max: the sum saturates", .clamped("scale 1.0, limit 9223372036854775807")) {
            guard let registry = try? ServiceRegistry(), (try? await registry.setLimits(local: .max, cached: .max)) != nil else { return .accepted }
            return clamp(await registry.memoryUsage())
        },
        HostileInput("rpc setLimit 0", .refused(field: "maximumPendingCalls", rule: "must be at least 1")) {
            await outcome { try await rpc().setLimit(0) }
        },
        HostileInput("advertisements setLimit Int.min", .refused(field: "maximumAdvertisements", rule: "must be at least 1")) {
            await outcome { try await advertisements().setLimit(.min) }
        },
        HostileInput("pool pressure scale NaN", .clamped("scale 1.0, limit 10")) {
            guard let pool = try? pool() else { return .accepted }
            await pool.setPressureScale(.nan)
            return clamp(await pool.memoryUsage())
        },
        HostileInput("pool pressure scale -infinity", .clamped("scale 1e-06, limit 1")) {
            guard let pool = try? pool() else { return .accepted }
            await pool.setPressureScale(-.infinity)
            return clamp(await pool.memoryUsage())
        },
        HostileInput("clients pressure scale +infinity", .clamped("scale 1.0, limit 10")) {
            guard let manager = try? clients() else { return .accepted }
            await manager.setPressureScale(.infinity)
            return clamp(await manager.memoryUsage())
        },
        HostileInput("registry pressure scale 0", .clamped("scale 1e-06, limit 2")) {
            guard let registry = try? ServiceRegistry() else { return .accepted }
            await registry.setPressureScale(0)
            return clamp(await registry.memoryUsage())
        },
        HostileInput("rpc pressure scale -1", .clamped("scale 1e-06, limit 1")) {
            guard let handler = try? rpc() else { return .accepted }
            await handler.setPressureScale(-1)
            return clamp(await handler.memoryUsage())
        },
        HostileInput("advertisements pressure scale NaN", .clamped("scale 1.0, limit 10")) {
            guard let manager = try? advertisements() else { return .accepted }
            await manager.setPressureScale(.nan)
            return clamp(await manager.memoryUsage())
        },
    ]

    static let entryPoints: [HostileInput] = [
        HostileInput("pool remove an unknown node", .noOp) {
            guard let pool = try? pool() else { return .accepted }
            let removed = await pool.remove(42)
            let size = await pool.memoryUsage().size
            return !removed && size == 0 ? .noOp : .accepted
        },
        HostileInput("pool info for an unknown node", .noOp) {
            guard let pool = try? pool() else { return .accepted }
            return await pool.info(for: 42) == nil ? .noOp : .accepted
        },
        HostileInput("pool connection after shutdown", .error(ConnectionPoolError.shutdown)) {
            guard let pool = try? pool() else { return .accepted }
            await pool.shutdown()
            return await outcome(failing: ConnectionPoolError.shutdown) { _ = try await pool.connection(to: 1) }
        },
        HostileInput("pool shutdown twice", .noOp) {
            guard let pool = try? pool() else { return .accepted }
            await pool.shutdown()
            await pool.shutdown()
            let size = await pool.memoryUsage().size
            return size == 0 ? .noOp : .accepted
        },
        HostileInput("pool run after shutdown", .error(ConnectionPoolError.shutdown)) {
            guard let pool = try? pool() else { return .accepted }
            await pool.shutdown()
            return await outcome(failing: ConnectionPoolError.shutdown) { try await pool.run() }
        },
        HostileInput("pool run twice", .error(ConnectionPoolError.alreadyRunning)) {
            let clock = ManualClock()
            guard let pool = try? pool(.init(maximumConnections: 1), clock: clock) else { return .accepted }
            let (leased, markLeased) = AsyncStream<Void>.makeStream()
            let (held, release) = AsyncStream<Void>.makeStream()
            let lease = Task {
                try await pool.withConnection(to: 1) { _ in
                    markLeased.finish()
                    for await _ in held {}
                }
            }
            for await _ in leased {}                           // the only slot is leased
            let waiter = Task { try await pool.connection(to: 2) }
            let runner = Task { try await pool.run() }
            _ = await clock.nextSleep()                        // run() sleeps towards the waiter's deadline
            let second = await outcome(failing: ConnectionPoolError.alreadyRunning) { try await pool.run() }
            release.finish()
            await pool.shutdown()
            runner.cancel()                                    // run() idles after shutdown() until cancelled
            _ = await (lease.result, waiter.result, runner.result)
            return second
        },
        HostileInput("clients disconnect an unknown client", .noOp) {
            guard let manager = try? clients() else { return .accepted }
            return await manager.clientDisconnected("nobody") == nil ? .noOp : .accepted
        },
        HostileInput("clients close an unknown stream", .noOp) {
            guard let manager = try? clients() else { return .accepted }
            return await manager.closeStream(7) ? .accepted : .noOp
        },
        HostileInput("clients open a stream for an unknown client", .error(ClientManagerError.unknownClient)) {
            guard let manager = try? clients() else { return .accepted }
            return await outcome(failing: ClientManagerError.unknownClient) { try await manager.openStream(1, for: "nobody") }
        },
        HostileInput("clients disconnect an already removed client", .noOp) {
            guard let manager = try? clients(), (try? await manager.clientConnected("a", info: "a")) != nil else { return .accepted }
            _ = await manager.clientDisconnected("a")
            return await manager.clientDisconnected("a") == nil ? .noOp : .accepted
        },
        HostileInput("clients wait up to Int64.max seconds: waits ten years", .clamped("deadline at 315360000.0 seconds")) {
            let clock = ManualClock()
            guard let manager = try? clients(.init(maximumClients: 1), clock: clock),
                  (try? await manager.clientConnected("a", info: "a")) != nil else { return .accepted }
            let runner = Task { try await manager.run() }
            let waiter = Task { try await manager.clientConnected("b", info: "b", admission: .wait(upTo: forever)) }
            let deadline = await clock.nextSleep()
            await manager.shutdown()
            runner.cancel()
            _ = await (runner.result, waiter.result)
            return .clamped("deadline at \(deadline.offset)")
        },
        HostileInput("clients connect after shutdown", .error(ClientManagerError.shutdown)) {
            guard let manager = try? clients() else { return .accepted }
            await manager.shutdown()
            return await outcome(failing: ClientManagerError.shutdown) { try await manager.clientConnected("a", info: "a") }
        },
        HostileInput("clients run twice", .error(ClientManagerError.alreadyRunning)) {
            let clock = ManualClock()
            guard let manager = try? clients(.init(maximumClients: 1), clock: clock),
                  (try? await manager.clientConnected("a", info: "a")) != nil else { return .accepted }
            let waiter = Task { try await manager.clientConnected("b", info: "b", admission: .wait) }
            let runner = Task { try await manager.run() }
            _ = await clock.nextSleep()
            let second = await outcome(failing: ClientManagerError.alreadyRunning) { try await manager.run() }
            await manager.shutdown()
            runner.cancel()
            _ = await (runner.result, waiter.result)
            return second
        },
        HostileInput("registry withdraw an unknown service", .noOp) {
            guard let registry = try? ServiceRegistry() else { return .accepted }
            return await registry.withdraw("nothing") ? .accepted : .noOp
        },
        HostileInput("registry invalidate an unknown service", .noOp) {
            guard let registry = try? ServiceRegistry() else { return .accepted }
            return await registry.invalidate("nothing") ? .accepted : .noOp
        },
        HostileInput("registry advertise with TTL Int64.max seconds", .error(ServiceRegistryError.invalidTTL)) {
            guard let registry = try? ServiceRegistry() else { return .accepted }
            return await outcome(failing: ServiceRegistryError.invalidTTL) { try await registry.advertise("s", provider: node, ttl: forever) }
        },
        HostileInput("registry cache with a negative TTL", .error(ServiceRegistryError.invalidTTL)) {
            guard let registry = try? ServiceRegistry() else { return .accepted }
            return await outcome(failing: ServiceRegistryError.invalidTTL) { try await registry.cacheProviders([node], for: "s", ttl: .seconds(-1)) }
        },
        HostileInput("registry cache one provider with TTL Int64.max seconds", .error(ServiceRegistryError.invalidTTL)) {
            guard let registry = try? ServiceRegistry() else { return .accepted }
            return await outcome(failing: ServiceRegistryError.invalidTTL) { try await registry.cacheProvider(node, for: "s", ttl: forever) }
        },
        HostileInput("advertisements withdraw an unknown service", .noOp) {
            guard let manager = try? advertisements() else { return .accepted }
            return await manager.withdraw("nothing") ? .accepted : .noOp
        },
        HostileInput("advertisements advertise with TTL zero", .error(AdvertisementError.invalidTTL)) {
            guard let manager = try? advertisements() else { return .accepted }
            return await outcome(failing: AdvertisementError.invalidTTL) { try await manager.advertise("s", provider: node, ttl: .zero) }
        },
        HostileInput("rpc a reply for an unknown call", .noOp) {
            guard let handler = try? rpc() else { return .accepted }
            let reply = RPCReply(callID: RPCCallID(rawValue: 99), outcome: .success([]))
            return await handler.handleReply(reply) ? .accepted : .noOp
        },
        HostileInput("rpc unregister an unknown procedure", .noOp) {
            guard let handler = try? rpc() else { return .accepted }
            return await handler.unregister("nothing") ? .accepted : .noOp
        },
        HostileInput("rpc a call with a timeout of Int64.max seconds", .error(RPCError.invalidOptions)) {
            guard let handler = try? rpc() else { return .accepted }
            return await outcome(failing: RPCError.invalidOptions) { _ = try await handler.call("s", arguments: [], options: .init(timeout: forever)) }
        },
        HostileInput("rpc a call after shutdown", .error(RPCError.shutdown)) {
            guard let handler = try? rpc() else { return .accepted }
            await handler.shutdown()
            return await outcome(failing: RPCError.shutdown) { _ = try await handler.call("s", arguments: []) }
        },
        HostileInput("monitor unregister a component never registered", .noOp) {
            guard let monitor = try? MemoryPressureMonitor(reader: FakeMemoryReader()), let pool = try? pool() else { return .accepted }
            await monitor.unregister(pool)
            return await monitor.registeredCount == 0 ? .noOp : .accepted
        },
    ]
}

@Suite("Hostile input: a typed error naming the field and the rule, a documented no-op or a documented clamp; never a trap or a hang")
struct HostileInputTests {
    @Test("configurations", .timeLimit(.minutes(1)), arguments: HostileInputTable.configurations)
    func configuration(_ row: HostileInput) async {
        let observed = await row.attempt()
        #expect(observed == row.expected)
    }

    @Test("limits and pressure scales", .timeLimit(.minutes(1)), arguments: HostileInputTable.limitsAndScales)
    func limitsAndScales(_ row: HostileInput) async {
        let observed = await row.attempt()
        #expect(observed == row.expected)
    }

    @Test("entry points: unknown and removed IDs, calls after shutdown, run twice", .timeLimit(.minutes(1)), arguments: HostileInputTable.entryPoints)
    func entryPoints(_ row: HostileInput) async {
        let observed = await row.attempt()
        #expect(observed == row.expected)
    }
}
