/// The settings of a ``ClientManager``, with the seed's defaults.
public struct ClientManagerConfiguration: Sendable, Hashable {
    /// The most clients the manager tracks at once (the seed's `max_clients`, 10,000). It is the
    /// base limit of the MaculaMemory contract: ``ClientManager/setLimit(_:)`` changes it and the
    /// pressure scale multiplies it. At least 1.
    public var maximumClients: Int

    /// The most streams one client may have open at once (100). Beyond it
    /// ``ClientManager/openStream(_:for:)`` throws ``ClientManagerError/maxStreamsReached``.
    ///
    /// 100 is the usual per-connection default of the transports a mesh client speaks (HTTP/2's
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` is recommended to be no smaller than 100, RFC 9113
    /// §6.5.2, and QUIC stacks commonly default to 100 bidirectional streams), so a well-behaved
    /// peer never meets it, while the stream map stays bounded by
    /// `maximumClients × maximumStreamsPerClient` (1,000,000 at the defaults). At least 1.
    public var maximumStreamsPerClient: Int

    /// How many callers may wait at once for a free client slot (1,000). Beyond it a waiting
    /// caller gets ``ClientManagerError/waitersLimitReached`` at once. 0 means nobody waits: a
    /// caller that asks to wait and finds no slot gets ``ClientManagerError/maxClientsReached``,
    /// and the manager works without its ``ClientManager/run()`` loop. At least 0.
    public var maximumWaiters: Int

    /// How long a caller admitted with ``ClientAdmission/wait`` waits for a free slot before it
    /// gets ``ClientManagerError/timedOut`` (5 seconds). ``ClientAdmission/wait(upTo:)`` sets its
    /// own bound instead. In (0, ``ConfigurationError/maximumDuration``].
    public var waitTimeout: Duration

    /// The name the manager uses in metrics and logs (`client_manager`, the seed's module name).
    /// Give each manager in a process its own. Not empty, at most
    /// ``ConfigurationError/maximumNameLength`` UTF-8 bytes.
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

    /// Checks every rule above.
    /// - Throws: ``ConfigurationError`` naming the first field that breaks its rule.
    public func validate() throws(ConfigurationError) {
        try ConfigurationError.require(maximumClients, atLeast: 1, field: "maximumClients")
        try ConfigurationError.require(maximumStreamsPerClient, atLeast: 1, field: "maximumStreamsPerClient")
        try ConfigurationError.require(maximumWaiters, atLeast: 0, field: "maximumWaiters")
        try ConfigurationError.requireDuration(waitTimeout, field: "waitTimeout")
        try ConfigurationError.requireName(componentName)
    }
}

/// What a new client does when the manager is full: be refused at once (the default, as in the
/// seed) or wait, first come first served, for a slot up to a deadline.
///
/// The deadline counts from the call and is enforced by ``ClientManager/run()``.
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

    /// How long to wait under `configuration`; nil when the caller must not wait.
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
