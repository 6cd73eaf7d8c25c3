/// One thing a Macula component logs, shaped after swift-log so a bridge is a few lines.
public struct ComponentLogEvent: Hashable, Sendable, CustomStringConvertible {
    /// The severity; raw values are swift-log's `Logger.Level` names.
    public enum Level: String, Hashable, Sendable, Comparable, CaseIterable {
        /// Routine and frequent.
        case debug
        /// Worth keeping.
        case info
        /// Something is wrong.
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

    /// What happened, as a stable snake_case name; an open set like ``MemoryEvent``.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        /// The snake_case name.
        public let name: String
        /// Creates a kind; `name` should be snake_case.
        public init(_ name: String) { self.name = name }
        /// The snake_case name.
        public var description: String { name }

        /// Work accepted before `run()` started is past its deadline (warning, once per component);
        /// metadata `overdue_by`.
        public static let runNotStarted = Kind("run_not_started")
    }

    /// The severity.
    public var level: Level
    /// What happened.
    public var kind: Kind
    /// The name of the component that logged it.
    public var component: String
    /// A sentence for people.
    public var message: String
    /// Structured details (`removed`, `service`, `error`, …).
    public var metadata: [String: String]

    /// Creates an event.
    /// - Parameters:
    ///   - level: the severity.
    ///   - kind: what happened.
    ///   - component: the name of the component that logs it.
    ///   - message: a sentence for people.
    ///   - metadata: structured details.
    public init(level: Level, kind: Kind, component: String, message: String, metadata: [String: String] = [:]) {
        self.level = level
        self.kind = kind
        self.component = component
        self.message = message
        self.metadata = metadata
    }

    /// `[level] component kind: message (key=value …)`, for plain-text logs.
    public var description: String {
        let details = metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return "[\(level.rawValue)] \(component) \(kind): \(message)\(details.isEmpty ? "" : " (\(details))")"
    }
}

/// Where a Macula component sends its log events.
///
/// - Important: it is called inside the component's actor: it must be cheap and must not block.
public protocol ComponentLogHandler: Sendable {
    /// Records `event`.
    func log(_ event: ComponentLogEvent)
}

/// Drops every event: the default log handler.
public struct NoComponentLog: ComponentLogHandler {
    /// Creates a handler that drops every event.
    public init() {}
    /// Drops `event`.
    public func log(_ event: ComponentLogEvent) {}
}

extension ComponentLogHandler {
    /// Logs ``ComponentLogEvent/Kind/runNotStarted`` for `component`.
    @usableFromInline
    package func warnRunNotStarted(component: String, overdueBy: Duration) {
        log(ComponentLogEvent(
            level: .warning,
            kind: .runNotStarted,
            component: component,
            message: "work accepted before run() started is past its deadline (the oldest by \(overdueBy)); "
                + "run() is not running: run it (in a task group or a ServiceGroup) for as long as the component is in use",
            metadata: ["overdue_by": "\(overdueBy)"]
        ))
    }
}
