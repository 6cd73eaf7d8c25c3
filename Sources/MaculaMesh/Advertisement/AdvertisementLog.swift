/// One thing the ``AdvertisementManager`` logs: a cleanup pass, a failed or timed-out publish, a
/// refused refresh.
///
/// Its shape follows swift-log so that a bridge is a few lines:
/// ```swift
/// import Logging
/// struct SwiftLogAdvertisementLog: AdvertisementLogHandler {
///     let logger: Logger
///     func log(_ event: AdvertisementLogEvent) {
///         logger.log(
///             level: Logger.Level(rawValue: event.level.rawValue) ?? .info,
///             "\(event.message)",
///             metadata: event.metadata.mapValues { .string($0) }
///         )
///     }
/// }
/// ```
public struct AdvertisementLogEvent: Hashable, Sendable, CustomStringConvertible {
    /// The severity; raw values are swift-log's `Logger.Level` names.
    public enum Level: String, Hashable, Sendable, Comparable, CaseIterable {
        /// Routine and frequent: a cleanup pass that removed nothing, a successful publish.
        case debug
        /// Worth keeping: a cleanup pass that removed expired services.
        case info
        /// Something went wrong and will be retried: a failed or timed-out publish.
        case warning

        private var rank: Int {
            switch self {
            case .debug: 0
            case .info: 1
            case .warning: 2
            }
        }

        /// Orders by severity: debug < info < warning.
        public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
    }

    /// What happened, as a stable snake_case name to match on. An open set, like ``MemoryEvent``.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        /// The snake_case name.
        public let name: String
        /// Creates a kind.
        public init(_ name: String) { self.name = name }
        /// The snake_case name.
        public var description: String { name }

        /// A cleanup pass ran; metadata `removed` is the number of expired entries it removed
        /// (level info when it is above zero, debug otherwise).
        public static let cleanupFinished = Kind("cleanup_finished")
        /// A publish succeeded (level debug); metadata `service`.
        public static let published = Kind("published")
        /// A publish threw; metadata `service`, `error`, `failures` (consecutive), `retry_in`.
        public static let publishFailed = Kind("publish_failed")
        /// A publish outlived `publishTimeout` and was cancelled; metadata `service`, `timeout`.
        public static let publishTimedOut = Kind("publish_timed_out")
        /// A scheduled refresh of the local TTL was refused by the registry (its local limit is
        /// reached because the entry was withdrawn behind the manager's back); metadata `service`,
        /// `error`.
        public static let refreshRefused = Kind("refresh_refused")
    }

    /// The severity.
    public var level: Level
    /// What happened.
    public var kind: Kind
    /// A sentence for people.
    public var message: String
    /// Structured details (`component`, `removed`, `service`, `error`, …).
    public var metadata: [String: String]

    /// Creates an event.
    public init(level: Level, kind: Kind, message: String, metadata: [String: String] = [:]) {
        self.level = level
        self.kind = kind
        self.message = message
        self.metadata = metadata
    }

    /// `[level] kind: message (key=value …)`, for plain-text logs.
    public var description: String {
        let details = metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return "[\(level.rawValue)] \(kind): \(message)\(details.isEmpty ? "" : " (\(details))")"
    }
}

/// Where the ``AdvertisementManager`` sends its log events. Called from inside the actor: an
/// implementation must be cheap and must not block (hand the event to swift-log, or buffer it).
public protocol AdvertisementLogHandler: Sendable {
    /// Records `event`.
    func log(_ event: AdvertisementLogEvent)
}

/// Drops every event: the default log handler.
public struct NoAdvertisementLog: AdvertisementLogHandler {
    /// Creates a handler that drops every event.
    public init() {}
    /// Drops `event`.
    public func log(_ event: AdvertisementLogEvent) {}
}
