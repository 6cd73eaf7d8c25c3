/// One thing a Macula component logs: a cleanup pass, a failed publish, a pressure level change,
/// work left waiting because `run()` has not started.
///
/// Its shape follows swift-log, so that a bridge is a few lines (see
/// `architecture/memory_management_monitoring.md`).
public struct ComponentLogEvent: Hashable, Sendable, CustomStringConvertible {
    /// The severity; raw values are swift-log's `Logger.Level` names.
    public enum Level: String, Hashable, Sendable, Comparable, CaseIterable {
        /// Routine and frequent: a cleanup pass that removed nothing, a successful publish.
        case debug
        /// Worth keeping: a cleanup pass that removed expired services, a pressure level change.
        case info
        /// Something is wrong: a failed or timed-out publish, a failed memory reading, work past
        /// its deadline because `run()` has not started.
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

    /// What happened, as a stable snake_case name to match on. An open set, like ``MemoryEvent``:
    /// each component adds its kinds as static members.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        /// The snake_case name.
        public let name: String
        /// Creates a kind; `name` should be snake_case.
        public init(_ name: String) { self.name = name }
        /// The snake_case name.
        public var description: String { name }

        /// Work that needs the component's `run()` was accepted before `run()` started and is now
        /// past its deadline: `run()` is not running (level warning, once per component);
        /// metadata `overdue_by`, how far past its deadline the oldest such work is.
        public static let runNotStarted = Kind("run_not_started")
    }

    /// The severity.
    public var level: Level
    /// What happened.
    public var kind: Kind
    /// The ``MemoryManaged/componentName`` (or configured name) of the component that logged it.
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

/// Where a Macula component sends its log events: give every component the same one (a bridge to
/// swift-log in a server, `RecordingComponentLog` from MaculaTesting in tests).
///
/// - Important: It is called from inside the component's actor: an implementation must be cheap
///   and must not block (hand the event to swift-log, or buffer it).
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
