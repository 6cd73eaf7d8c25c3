/// Why the ``ServiceRegistry`` refused a request. Equal when the codes are (compare with the static
/// members); ``service`` and ``description`` carry the context.
public struct ServiceRegistryError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case localLimitReached
        case invalidTTL
    }

    private let code: Code
    /// The service the refused request named, when known.
    public let service: String?
    private let detail: String?

    private init(_ code: Code, service: String? = nil, detail: String? = nil) {
        self.code = code
        self.service = service
        self.detail = detail
    }

    /// A new local advertisement was refused at the effective limit: withdraw one or raise it.
    public static let localLimitReached = ServiceRegistryError(.localLimitReached)

    /// A TTL was zero, negative, or longer than ``ConfigurationError/maximumDuration``.
    public static let invalidTTL = ServiceRegistryError(.invalidTTL)

    static func localLimitReached(service: String, limit: Int) -> Self {
        Self(.localLimitReached, service: service, detail: "\(limit)")
    }

    static func invalidTTL(_ ttl: Duration, service: String) -> Self {
        Self(.invalidTTL, service: service, detail: "\(ttl)")
    }

    /// Equal when the codes are; the context is not compared.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// What went wrong and what to do about it.
    public var description: String {
        let name = service.map { "'\($0)'" } ?? "a service"
        switch code {
        case .localLimitReached:
            let limit = detail.map { " (\($0))" } ?? ""
            return "cannot advertise \(name): the local advertisement limit\(limit) is reached; "
                + "withdraw a service or raise maximumLocalServices (memory pressure lowers it)"
        case .invalidTTL:
            let value = detail.map { " (got \($0))" } ?? ""
            return "invalid TTL for \(name)\(value): a TTL must be greater than zero and at most "
                + "\(ConfigurationError.maximumDuration)"
        }
    }
}
