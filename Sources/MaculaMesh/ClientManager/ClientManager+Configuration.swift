/// The settings of a ``ClientManager``, with the seed's defaults.
public struct ClientManagerConfiguration: Sendable, Hashable {
    /// The most clients the manager tracks at once (10,000): the base limit that
    /// ``ClientManager/setLimit(_:)`` changes and the pressure scale multiplies. At least 1.
    public var maximumClients: Int

    /// The most streams one client may have open at once (100, the usual per-connection default
    /// of HTTP/2 and QUIC), beyond which ``ClientManager/openStream(_:for:)`` throws
    /// ``ClientManagerError/maxStreamsReached``. At least 1.
    public var maximumStreamsPerClient: Int

    /// How many callers may wait at once for a free slot (1,000); beyond it a caller gets
    /// ``ClientManagerError/waitersLimitReached``. 0 means nobody waits (and no ``ClientManager/run()``
    /// is needed). At least 0.
    public var maximumWaiters: Int

    /// How long a caller admitted with ``ClientAdmission/wait`` waits for a slot (5 s) before
    /// ``ClientManagerError/timedOut``. In (0, ``ConfigurationError/maximumDuration``].
    public var waitTimeout: Duration

    /// The name in metrics and logs (`client_manager`); one per manager in a process. Not empty,
    /// at most ``ConfigurationError/maximumNameLength`` UTF-8 bytes.
    public var componentName: String

    /// Creates a configuration; every parameter defaults to the seed's value.
    public init(
        maximumClients: Int = 10_000,
        maximumStreamsPerClient: Int = 100,
        maximumWaiters: Int = 1_000,
        waitTimeout: Duration = .seconds(5),
        componentName: String = "client_manager"
    ) {
        self.maximumClients = maximumClients
        self.maximumStreamsPerClient = maximumStreamsPerClient
        self.maximumWaiters = maximumWaiters
        self.waitTimeout = waitTimeout
        self.componentName = componentName
    }

    /// - Throws: ``ConfigurationError`` naming the first field that breaks its rule.
    public func validate() throws(ConfigurationError) {
        try ConfigurationError.require(maximumClients, atLeast: 1, field: "maximumClients")
        try ConfigurationError.require(maximumStreamsPerClient, atLeast: 1, field: "maximumStreamsPerClient")
        try ConfigurationError.require(maximumWaiters, atLeast: 0, field: "maximumWaiters")
        try ConfigurationError.requireDuration(waitTimeout, field: "waitTimeout")
        try ConfigurationError.requireName(componentName)
    }
}

/// What a new client does when the manager is full: be refused at once (the default) or wait,
/// first come first served, for a slot up to a deadline counted from the call.
public struct ClientAdmission: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Sendable, Hashable {
        case reject
        case waitConfigured
        case wait(Duration)
    }

    let kind: Kind

    /// Refuse at once with ``ClientManagerError/maxClientsReached`` when the manager is full.
    public static let reject = ClientAdmission(kind: .reject)

    /// Wait for a free slot up to ``ClientManagerConfiguration/waitTimeout``.
    public static let wait = ClientAdmission(kind: .waitConfigured)

    /// Wait for a free slot up to `timeout`. A timeout of zero or less does not wait: it behaves
    /// like ``reject``. One longer than ``ConfigurationError/maximumDuration`` waits that long.
    public static func wait(upTo timeout: Duration) -> ClientAdmission {
        ClientAdmission(kind: .wait(timeout))
    }

    func timeout(in configuration: ClientManagerConfiguration) -> Duration? {
        switch kind {
        case .reject: nil
        case .waitConfigured: configuration.waitTimeout
        case .wait(let timeout): timeout > .zero ? min(timeout, ConfigurationError.maximumDuration) : nil
        }
    }

    public var description: String {
        switch kind {
        case .reject: "reject"
        case .waitConfigured: "wait"
        case .wait(let timeout): "wait(upTo: \(timeout))"
        }
    }
}
