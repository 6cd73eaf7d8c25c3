/// A configuration value that breaks a rule, named so an operator can fix it.
///
/// Every Macula component validates its configuration when it is created or changed and throws
/// this error instead of trapping. `field` names the offending setting exactly as it is spelled in
/// code (for example `"maximumConnections"` or `"thresholds.high"`), `rule` says what it must be.
public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The configuration field, as spelled in Swift (`"limit"`, `"cleanupInterval"`, …).
    public let field: String
    /// The rule the value broke, in plain words (`"must be at least 1"`).
    public let rule: String
    /// The rejected value, rendered for people.
    public let value: String

    /// Creates an error for `field`, whose `value` breaks `rule`.
    public init(field: String, rule: String, value: String) {
        self.field = field
        self.rule = rule
        self.value = value
    }

    public var description: String {
        "invalid configuration: \(field) \(rule) (got \(value))"
    }
}

extension ConfigurationError {
    /// Throws unless `value >= minimum`.
    package static func require(_ value: Int, atLeast minimum: Int, field: String) throws(ConfigurationError) {
        guard value >= minimum else {
            throw ConfigurationError(field: field, rule: "must be at least \(minimum)", value: "\(value)")
        }
    }

    /// The longest component name accepted, in UTF-8 bytes: a name is a label on every metric
    /// sample and log event of its component.
    public static let maximumNameLength = 256

    /// Throws unless `name`, a component name (field `componentName`), is not empty and at most
    /// ``maximumNameLength`` UTF-8 bytes. Any characters are allowed: the exposition escapes them.
    package static func requireName(_ name: String) throws(ConfigurationError) {
        guard !name.isEmpty else {
            throw ConfigurationError(field: "componentName", rule: "must not be empty", value: "\"\"")
        }
        let length = name.utf8.count
        guard length <= maximumNameLength else {
            throw ConfigurationError(
                field: "componentName", rule: "must be at most \(maximumNameLength) UTF-8 bytes",
                value: "\(length) bytes"
            )
        }
    }

    /// The longest duration any Macula setting accepts (timeouts, intervals, TTLs): ten years, so
    /// that every deadline (an instant plus such a duration) is one a clock can sleep towards.
    public static let maximumDuration: Duration = .seconds(10 * 365 * 86_400)

    /// Throws unless `value` is in (0, ``maximumDuration``].
    package static func requireDuration(_ value: Duration, field: String) throws(ConfigurationError) {
        guard value > .zero else {
            throw ConfigurationError(field: field, rule: "must be greater than zero", value: "\(value)")
        }
        guard value <= maximumDuration else {
            throw ConfigurationError(field: field, rule: "must be at most \(maximumDuration)", value: "\(value)")
        }
    }
}
