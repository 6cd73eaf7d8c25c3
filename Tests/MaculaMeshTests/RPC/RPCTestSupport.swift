@testable import MaculaMesh
import MaculaTesting
import Testing

/// Helpers for the RPC handler tests (prefixed, so they never collide with other suites' helpers
/// in this test module).
enum RPCTest {
    static func node(_ name: String) -> ServiceProvider {
        ServiceProvider(nodeID: name, address: "mem://\(name)")
    }

    static func nodes(_ names: String...) -> [ServiceProvider] { names.map(node) }

    /// A core instant: `seconds` after the origin.
    static func at(_ seconds: Double) -> Duration {
        .nanoseconds(Int64(seconds * 1_000_000_000))
    }

    /// Resolved options with the test configuration's defaults (strategy `.first`).
    static func options(
        _ options: RPCCallOptions = RPCCallOptions(),
        configuration: RPCHandlerConfiguration = RPCTest.configuration()
    ) -> ResolvedCallOptions {
        try! ResolvedCallOptions(options, configuration: configuration)
    }

    static func configuration(
        seed: UInt64 = 7,
        strategy: RPCProviderStrategy = .first,
        maximumPendingCalls: Int = 10_000,
        _ edit: (inout RPCHandlerConfiguration) -> Void = { _ in }
    ) -> RPCHandlerConfiguration {
        var configuration = RPCHandlerConfiguration()
        configuration.randomSeed = seed
        configuration.providerStrategy = strategy
        configuration.maximumPendingCalls = maximumPendingCalls
        edit(&configuration)
        return configuration
    }
}

extension RPCTest {
    /// Three providers: a, b, c.
    static let abc = RPCTest.nodes("a", "b", "c")

    /// A core whose `run()` has started.
    static func runningCore(_ configuration: RPCHandlerConfiguration = RPCTest.configuration()) -> RPCHandlerCore {
        var core = try! RPCHandlerCore(configuration: configuration)
        #expect(core.runStarted(now: .zero) == .started(overdueBy: nil))
        return core
    }
}

/// Accessors that make core actions easy to assert on.
extension RPCHandlerCore.CallStartAction {
    var sent: (id: RPCCallID, attempt: RPCAttempt, wake: Bool)? {
        if case .send(let id, let attempt, let wake, _) = self { return (id, attempt, wake) }
        return nil
    }
    var waiting: (id: RPCCallID, wake: Bool, created: Bool)? {
        if case .awaitDiscovery(let id, let wake, let created, _) = self { return (id, wake, created) }
        return nil
    }
    /// Whether the call was accepted before `run()` started, and the warning it carries.
    var beforeRun: AcceptedBeforeRun? {
        switch self {
        case .send(_, _, _, let beforeRun), .awaitDiscovery(_, _, _, let beforeRun): beforeRun
        case .rejected: nil
        }
    }
    var rejection: (error: RPCError, atLimit: Bool)? {
        if case .rejected(let error, let counted) = self { return (error, counted == .limitReached) }
        return nil
    }
}

extension RPCHandlerCore.SendCompletedAction {
    var isAwaitingReply: Bool {
        if case .awaitReply = self { return true }
        return false
    }
    var next: RPCAttempt? {
        if case .send(let attempt, _) = self { return attempt }
        return nil
    }
    var finished: (result: Result<[UInt8], RPCError>, reason: RPCHandlerCore.Removal)? {
        if case .finished(let result, let reason) = self { return (result, reason) }
        return nil
    }
}

extension RPCStep {
    var isSend: Bool {
        if case .send = self { return true }
        return false
    }
    var error: RPCError? {
        if case .finished(.failure(let error)) = self { return error }
        return nil
    }
    var bytes: [UInt8]? {
        if case .finished(.success(let bytes)) = self { return bytes }
        return nil
    }
}

extension Result where Failure == RPCError {
    var error: RPCError? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

/// A handler on a manual clock with in-memory transport and discovery, its `run()` started in a
/// task (start order does not matter: nothing waits for it to start).
struct RPCFixture {
    let clock = ManualClock()
    let registry: ServiceRegistry
    let transport: InMemoryRPCTransport
    let discovery: InMemoryRPCDiscovery
    let metrics = RecordingMemoryMetrics()
    let handler: RPCHandler
    let loop: Task<Void, any Error>

    init(
        configuration: RPCHandlerConfiguration = RPCTest.configuration(),
        transport: InMemoryRPCTransport = InMemoryRPCTransport(),
        discovery: InMemoryRPCDiscovery = InMemoryRPCDiscovery(),
        running: Bool = true
    ) async throws {
        registry = try ServiceRegistry(clock: clock)
        self.transport = transport
        self.discovery = discovery
        handler = try RPCHandler(
            configuration: configuration,
            metrics: metrics,
            registry: registry,
            transport: transport,
            discovery: discovery
        )
        transport.deliverReplies(to: handler)
        let handler = self.handler
        loop = running ? Task { try await handler.run() } : Task {}
    }

    /// Caches `providers` for `service` in the registry, as a discovery would.
    func cache(_ providers: [ServiceProvider], for service: String) async throws {
        try await registry.cacheProviders(providers, for: service, ttl: .seconds(3_600))
    }

    /// Starts a call in a task of its own.
    func call(
        _ procedure: String,
        _ arguments: [UInt8] = [],
        options: RPCCallOptions = RPCCallOptions()
    ) -> RPCCallTask {
        let handler = self.handler
        return RPCCallTask(Task {
            do throws(RPCError) {
                return .success(try await handler.call(procedure, arguments: arguments, options: options))
            } catch {
                return .failure(error)
            }
        })
    }

    /// Everything pending: calls, discoveries, deadlines.
    func pending() async -> (calls: Int, discoveries: Int, deadlines: Int) {
        (await handler.pendingCallCount, await handler.pendingDiscoveryCount, await handler.deadlineCount)
    }

    /// Stops `run()` and waits for it.
    func stop() async {
        loop.cancel()
        _ = await loop.result
    }
}

/// A call running in a task of its own.
struct RPCCallTask: Sendable {
    let task: Task<Result<[UInt8], RPCError>, Never>

    init(_ task: Task<Result<[UInt8], RPCError>, Never>) { self.task = task }

    /// The result, or the error thrown.
    var result: Result<[UInt8], RPCError> { get async { await task.value } }

    /// The result.
    var value: [UInt8] { get async throws(RPCError) { try await task.value.get() } }

    /// The error the call failed with, or nil when it succeeded.
    var error: RPCError? {
        get async {
            if case .failure(let error) = await task.value { return error }
            return nil
        }
    }

    func cancel() { task.cancel() }
}
