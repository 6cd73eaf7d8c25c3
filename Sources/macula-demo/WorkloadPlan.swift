import MaculaMemory
import MaculaDemoSupport

/// What the workload does in one step: decided by ``WorkloadPlan`` from the rates, the seed and
/// the scheduled departures, carried out by ``Workload`` through a world's facades.
struct WorkloadStep: Sendable {
    enum PoolOperation: Sendable {
        case send(Int, leased: Bool)
        case peerLeft(Int)
        case maintain
    }

    enum ClientOperation: Sendable {
        case join(Int, streams: [Int])
        case leave(Int, streams: [Int], graceful: Bool)
    }

    /// A client whose lifetime is a task of its own (`withClient`).
    struct ScopedClient: Sendable {
        var client: Int
        var streams: [Int]
        var lifetime: Double
        /// When its task is cancelled, in seconds after it starts; nil when it runs its course.
        var cancelAfter: Double?
    }

    enum ServiceOperation: Sendable {
        case advertise(String)
        case stop(String)
        case once(String)
    }

    struct Call: Sendable {
        var service: String
        /// When the caller's task is cancelled, in seconds after the call starts.
        var cancelAfter: Double?
    }

    var peersJoining: [Int] = []
    var peersLeaving: [Int] = []
    var pool: [PoolOperation] = []
    var clients: [ClientOperation] = []
    var scopedClients: [ScopedClient] = []
    var services: [ServiceOperation] = []
    var calls: [Call] = []
}

/// Decides the workload, step by step, from the profile and a seed: who joins, who leaves, what
/// is sent, advertised and called. It holds no reference to a world, so both worlds get the same
/// decisions for the same seed and the same step times.
struct WorkloadPlan {
    private enum Departure {
        case peer(Int, announced: Bool)
        case client(Int, streams: [Int], graceful: Bool)
        case service(String)
    }

    /// The most recent peers, where messages go.
    private struct RecentPeers {
        private var ring: [Int]
        private var next = 0
        private var filled = 0

        init(capacity: Int) { ring = Array(repeating: 0, count: max(1, capacity)) }

        mutating func add(_ peer: Int) {
            ring[next] = peer
            next = (next + 1) % ring.count
            filled = min(filled + 1, ring.count)
        }

        func pick(using random: inout SplitMix64) -> Int? {
            filled == 0 ? nil : ring[Int.random(in: 0..<filled, using: &random)]
        }
    }

    let profile: WorkloadProfile
    private var random: SplitMix64
    private var departures = EventQueue<Departure>()
    private var recent: RecentPeers
    private var newPeers = RateAccumulator()
    private var sends = RateAccumulator()
    private var newClients = RateAccumulator()
    private var churn = RateAccumulator()
    private var oneShots = RateAccumulator()
    private var calls = RateAccumulator()
    private var newRemoteServices = RateAccumulator()
    private var nextPeer = 0
    private var nextClient = 0
    private var nextStream = 0
    private var nextLocalService = 0
    /// Remote services are numbered; calls go to the most recent `activeRemoteServices`. Some
    /// exist when the node starts.
    private var remoteServiceHorizon: Int
    private var nextMaintenance: Double
    private var last = 0.0

    init(profile: WorkloadProfile, seed: UInt64) {
        self.profile = profile
        random = SplitMix64(seed: seed)
        recent = RecentPeers(capacity: profile.recentPeers)
        remoteServiceHorizon = profile.activeRemoteServices
        nextMaintenance = profile.maintenanceInterval
    }

    /// The services this node advertises for the whole run.
    var keptServices: [String] { (0..<profile.keptServices).map { "node-service-\($0)" } }

    /// The step at `now` seconds since the start: everything due since the previous step.
    mutating func step(at now: Double) -> WorkloadStep {
        let elapsed = max(0, now - last)
        last = now
        var step = WorkloadStep()
        peers(&step, now: now, elapsed: elapsed)
        for departure in departures.popDue(at: now) {
            switch departure {
            case .peer(let peer, let announced):
                step.peersLeaving.append(peer)
                if announced { step.pool.append(.peerLeft(peer)) }
            case .client(let client, let streams, let graceful):
                step.clients.append(.leave(client, streams: streams, graceful: graceful))
            case .service(let service):
                step.services.append(.stop(service))
            }
        }
        if now >= nextMaintenance {
            step.pool.append(.maintain)
            nextMaintenance += profile.maintenanceInterval
        }
        clients(&step, now: now, elapsed: elapsed)
        services(&step, now: now, elapsed: elapsed)
        remoteCalls(&step, elapsed: elapsed)
        return step
    }

    /// Peers join (and are connected to at once); messages go to recent peers.
    private mutating func peers(_ step: inout WorkloadStep, now: Double, elapsed: Double) {
        for _ in 0..<newPeers.due(rate: profile.rate(profile.newPeersPerSecond), elapsed: elapsed) {
            let peer = nextPeer
            nextPeer += 1
            step.peersJoining.append(peer)
            recent.add(peer)
            departures.schedule(.peer(peer, announced: random.chance(profile.announcedLeaveShare)), at: now + random.uniform(profile.peerLifetime))
            step.pool.append(.send(peer, leased: random.chance(profile.leasedShare)))
        }
        for _ in 0..<sends.due(rate: profile.rate(profile.sendsPerSecond), elapsed: elapsed) {
            if let peer = recent.pick(using: &random) {
                step.pool.append(.send(peer, leased: random.chance(profile.leasedShare)))
            }
        }
    }

    /// Clients arrive with their streams: some scoped to a task (some of those cancelled), the
    /// rest connected and later disconnected explicitly.
    private mutating func clients(_ step: inout WorkloadStep, now: Double, elapsed: Double) {
        for _ in 0..<newClients.due(rate: profile.rate(profile.newClientsPerSecond), elapsed: elapsed) {
            let client = nextClient
            nextClient += 1
            let streams = (0..<Int.random(in: profile.streamsPerClient, using: &random)).map { nextStream + $0 }
            nextStream += streams.count
            let lifetime = random.uniform(profile.clientLifetime)
            if random.chance(profile.scopedShare) {
                let cancelAfter = random.chance(profile.cancelledScopedShare) ? lifetime * random.uniform(0.05...0.95) : nil
                step.scopedClients.append(.init(client: client, streams: streams, lifetime: lifetime, cancelAfter: cancelAfter))
            } else {
                step.clients.append(.join(client, streams: streams))
                departures.schedule(.client(client, streams: streams, graceful: random.chance(profile.gracefulCloseShare)), at: now + lifetime)
            }
        }
    }

    /// This node's short-lived advertisements and one-shots.
    private mutating func services(_ step: inout WorkloadStep, now: Double, elapsed: Double) {
        for _ in 0..<churn.due(rate: profile.rate(profile.serviceChurnPerSecond), elapsed: elapsed) {
            let service = "local-\(nextLocalService)"
            nextLocalService += 1
            step.services.append(.advertise(service))
            departures.schedule(.service(service), at: now + random.uniform(profile.serviceLifetime))
        }
        for _ in 0..<oneShots.due(rate: profile.rate(profile.oneShotAdvertisementsPerSecond), elapsed: elapsed) {
            step.services.append(.once("once-\(nextLocalService)"))
            nextLocalService += 1
        }
    }

    /// Calls to recent remote services, while new ones keep appearing.
    private mutating func remoteCalls(_ step: inout WorkloadStep, elapsed: Double) {
        remoteServiceHorizon += newRemoteServices.due(rate: profile.rate(profile.newRemoteServicesPerSecond), elapsed: elapsed)
        for _ in 0..<calls.due(rate: profile.rate(profile.callsPerSecond), elapsed: elapsed) {
            let service = "svc-\(remoteServiceHorizon - 1 - Int.random(in: 0..<profile.activeRemoteServices, using: &random))"
            let cancelAfter = random.chance(profile.cancelledCallShare) ? random.uniform(profile.cancelAfter) : nil
            step.calls.append(.init(service: service, cancelAfter: cancelAfter))
        }
    }
}
