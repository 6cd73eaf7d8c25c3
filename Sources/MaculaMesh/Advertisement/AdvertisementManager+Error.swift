/// Why the ``AdvertisementManager`` refused a request. Compare with the static members: two errors
/// are equal when they have the same code; ``service`` and ``description`` carry the context.
public struct AdvertisementError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case limitReached
        case invalidTTL
        case alreadyRunning
    }

    private let code: Code
    /// The service the refused request named, when there is one.
    public let service: String?
    private let detail: String?

    private init(_ code: Code, service: String? = nil, detail: String? = nil) {
        self.code = code
        self.service = service
        self.detail = detail
    }

    /// No room for another advertisement: the manager's or the registry's local limit is reached.
    /// Advertisements are never evicted; withdraw one or raise the limit.
    public static let limitReached = AdvertisementError(.limitReached)

    /// The TTL was not longer than `reAdvertiseInterval`, or longer than
    /// ``ConfigurationError/maximumDuration``.
    public static let invalidTTL = AdvertisementError(.invalidTTL)

    /// `run()` was called while another `run()` of the same manager is running.
    public static let alreadyRunning = AdvertisementError(.alreadyRunning)

    static func limitReached(service: String, detail: String) -> Self {
        Self(.limitReached, service: service, detail: detail)
    }

    static func invalidTTL(service: String, detail: String) -> Self {
        Self(.invalidTTL, service: service, detail: detail)
    }

    /// Equal when the codes are equal; the context is not compared.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    /// Hashes the code only, consistently with `==`.
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// What went wrong and what to do about it.
    public var description: String {
        let name = service.map { "'\($0)'" } ?? "a service"
        let context = detail.map { ": \($0)" } ?? ""
        switch code {
        case .limitReached:
            return "cannot advertise \(name)\(context); withdraw a service or raise the limit "
                + "(memory pressure lowers it)"
        case .invalidTTL:
            return "invalid TTL for \(name)\(context)"
        case .alreadyRunning:
            return "run() is already running for this advertisement manager; run it from one task only"
        }
    }
}
