/// A configuration value that breaks a rule, thrown instead of trapping. `field` names the setting
/// as spelled in Swift (`"maximumConnections"`, `"thresholds.high"`); `rule` says what it must be.
public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The configuration field, as spelled in Swift.
    public let field: String
    /// The rule the value broke, in plain words.
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

    /// The longest component name accepted, in UTF-8 bytes: it labels every metric sample.
    public static let maximumNameLength = 256

    /// Throws unless `name` is not empty and at most ``maximumNameLength`` UTF-8 bytes; the
    /// exposition escapes any character.
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

    /// The longest duration any setting accepts: ten years, so every deadline is one a clock can
    /// sleep towards.
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
