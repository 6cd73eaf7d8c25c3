import MaculaDemoSupport

/// The shape of the simulated node's traffic: rates at scale 1, lifetimes, sizes, and the
/// compressed time of the library's settings (TTLs of seconds instead of minutes, so that
/// expiry and cleanup happen many times in a 30-second run).
///
/// Sized so that the default limits are pressed: peers churn through the 1,000-connection pool
/// several times a run, clients arrive as fast as the client limit lets them stay, and calls
/// touch more services than the provider cache holds.
struct WorkloadProfile: Sendable {
    /// The workload multiplier (`--scale`); multiplies every rate, never a limit.
    var scale: Double = 1

    // MARK: Peers and the connection pool

    /// New peers per second; each is connected to at once.
    var newPeersPerSecond = 300.0
    /// Further messages per second, each to one of the `recentPeers` most recent peers.
    var sendsPerSecond = 1_200.0
    /// How many recent peers messages go to (some have left: their connect fails).
    var recentPeers = 3_000
    /// Share of messages sent through a lease (`withConnection`).
    var leasedShare = 0.25
    /// How long a peer stays up, in seconds.
    var peerLifetime = 2.0...12.0
    /// Share of departing peers that announce it (the rest vanish: their connection goes dead).
    var announcedLeaveShare = 0.5
    /// Bytes each connection holds (send and receive buffers).
    var connectionBufferBytes = 32 * 1_024

    // MARK: Clients

    /// New clients per second.
    var newClientsPerSecond = 450.0
    /// How long a client stays, in seconds.
    var clientLifetime = 0.5...4.0
    /// Streams each client opens.
    var streamsPerClient = 1...4
    /// Share of clients whose lifetime is scoped (`withClient` in a task of their own).
    var scopedShare = 0.3
    /// Share of scoped clients whose task is cancelled before the end of their lifetime.
    var cancelledScopedShare = 0.5
    /// Share of explicit disconnects that close their streams first (the rest leave them to
    /// the manager).
    var gracefulCloseShare = 0.5
    /// Bytes of session state each client holds.
    var sessionBytes = 8 * 1_024

    // MARK: Services

    /// Services this node advertises for the whole run (re-advertised by the manager).
    var keptServices = 40
    /// New short-lived advertisements per second, withdrawn after `serviceLifetime`.
    var serviceChurnPerSecond = 10.0
    /// How long a short-lived advertisement is kept, in seconds.
    var serviceLifetime = 1.0...4.0
    /// One-shot advertisements per second: advertised once, never refreshed, left to expire.
    var oneShotAdvertisementsPerSecond = 20.0
    /// Their TTL.
    var oneShotTTL: Duration = .seconds(2)

    // MARK: Calls

    /// RPC calls per second.
    var callsPerSecond = 500.0
    /// New remote services appearing per second (peers joining with their services).
    var newRemoteServicesPerSecond = 40.0
    /// Calls go to one of this many most recent remote services.
    var activeRemoteServices = 1_000
    /// Providers per remote service.
    var providersPerService = 3
    /// The provider population.
    var providerNodes = 500
    /// Share of provider nodes that never answer (calls to them time out and fail over).
    var silentProviderShare = 0.1
    /// Reply latency of a provider that answers, in seconds.
    var replyLatency = 0.001...0.015
    /// Discovery latency, in seconds.
    var discoveryLatency = 0.002...0.02
    /// Share of callers whose task is cancelled before the reply.
    var cancelledCallShare = 0.1
    /// When they are cancelled, in seconds after the call starts.
    var cancelAfter = 0.001...0.05
    /// Bytes of arguments per call.
    var payloadBytes = 4 * 1_024
    /// The per-attempt timeout.
    var callTimeout: Duration = .milliseconds(250)

    // MARK: The library's timing, compressed

    /// Local advertisement TTL (the seed's 300 s).
    var localTTL: Duration = .seconds(4)
    /// Remote cache TTL (the library's 60 s).
    var cacheTTL: Duration = .seconds(3)
    /// Advertisement cleanup interval (the seed's 60 s).
    var cleanupInterval: Duration = .seconds(1)
    /// Re-advertisement interval (the library's 150 s); shorter than `localTTL`.
    var reAdvertiseInterval: Duration = .seconds(2)
    /// How long the pool lets a caller wait for a slot.
    var poolWaitTimeout: Duration = .milliseconds(500)
    /// How long the client manager lets a caller wait for a slot (clients that wait).
    var clientWaitTimeout: Duration = .milliseconds(200)
    /// The pressure monitor's check interval.
    var pressureCheckInterval: Duration = .milliseconds(250)
    /// How often the node prunes its pool (a server's maintenance tick).
    var maintenanceInterval = 1.0

    /// `base` per second at this scale.
    func rate(_ base: Double) -> Double { base * scale }

    /// How long, after a limit is lowered, owners get to finish before the lowered limit must
    /// hold: the longest client and short-lived advertisement lifetime, plus a second for the
    /// monitor and the sampler.
    var drainAllowance: Double {
        max(clientLifetime.upperBound, serviceLifetime.upperBound) + 1
    }
}
