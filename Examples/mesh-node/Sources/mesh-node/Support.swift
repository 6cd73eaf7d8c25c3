import Logging
import MaculaMemory
import ServiceLifecycle

/// The library's component log hooks, bridged to swift-log: keeps the level, puts the component
/// and the kind in the metadata (as `architecture/memory_management_monitoring.md` documents).
struct SwiftLogComponentLog: ComponentLogHandler {
    let logger: Logger

    func log(_ event: ComponentLogEvent) {
        var metadata: Logger.Metadata = event.metadata.mapValues { .string($0) }
        metadata["component"] = .string(event.component)
        metadata["kind"] = .string(event.kind.name)
        logger.log(
            level: Logger.Level(rawValue: event.level.rawValue) ?? .info,
            "\(event.message)",
            metadata: metadata
        )
    }
}

/// One library component's `run()` as a swift-service-lifecycle `Service`. The components' `run()`
/// returns when its task is cancelled, so graceful shutdown cancels it.
struct ComponentService: Service, CustomStringConvertible {
    let description: String
    let body: @Sendable () async throws -> Void

    init(_ name: String, _ body: @escaping @Sendable () async throws -> Void) {
        self.description = name
        self.body = body
    }

    func run() async throws {
        try await runUntilGracefulShutdown(body)
    }
}

/// Runs `body` until it returns or graceful shutdown cancels it; the cancellation that shutdown
/// causes is the normal end, not an error (a `CancellationError` it raises is swallowed).
func runUntilGracefulShutdown(_ body: @escaping @Sendable () async throws -> Void) async throws {
    do {
        _ = try await cancelWhenGracefulShutdown { try await body() }
    } catch is CancellationError {
        return
    }
}

/// The errors the example itself defines.
struct MeshNodeError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case timedOut
        case badAddress
        case badResponse
        case streamClosed
        case draining
    }

    private let code: Code
    /// What went wrong, for a person.
    let detail: String

    private init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// A network exchange took longer than its deadline.
    static func timedOut(_ detail: String) -> MeshNodeError { MeshNodeError(.timedOut, detail) }
    /// A `HOST:PORT` that does not parse.
    static func badAddress(_ detail: String) -> MeshNodeError { MeshNodeError(.badAddress, detail) }
    /// A peer's answer that is not what the protocol says.
    static func badResponse(_ detail: String) -> MeshNodeError { MeshNodeError(.badResponse, detail) }
    /// The stream closed before the exchange finished.
    static func streamClosed(_ detail: String) -> MeshNodeError { MeshNodeError(.streamClosed, detail) }
    /// The connection left the pool and takes no new streams (it finishes those it has).
    static func draining(_ detail: String) -> MeshNodeError { MeshNodeError(.draining, detail) }

    /// Whether this is ``draining(_:)``.
    var isDraining: Bool { code == .draining }

    var description: String { "\(code): \(detail)" }
}

/// Splits `HOST:PORT` at its last colon; the port must be 1...65535.
func parseHostPort(_ address: String) throws(MeshNodeError) -> (host: String, port: Int) {
    guard let colon = address.lastIndex(of: ":") else {
        throw .badAddress("'\(address)' is not HOST:PORT")
    }
    let host = String(address[..<colon])
    guard !host.isEmpty, let port = Int(address[address.index(after: colon)...]), (1...65_535).contains(port) else {
        throw .badAddress("'\(address)' is not HOST:PORT with a port in 1...65535")
    }
    return (host, port)
}

/// Runs `body`, throwing ``MeshNodeError/timedOut(_:)`` when it takes longer than `timeout`; the
/// body is cancelled then and awaited, so it must honor cancellation.
func withDeadline<T: Sendable>(
    _ timeout: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw MeshNodeError.timedOut("\(what) took longer than \(timeout)")
        }
        return value
    }
}
