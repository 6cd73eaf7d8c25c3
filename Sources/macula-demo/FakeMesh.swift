import MaculaMemory
import MaculaDemoSupport
import MaculaMesh
import Synchronization

// The simulated mesh both worlds talk to: peers that come and go, connections that carry real
// buffers (so memory is visible in the resident set), client sessions, and an advertisement
// publisher. Every table here is bounded by the workload's live population, never by its history.

/// Counts what happened to every connection the demo opened, in either world.
final class ConnectionLedger: Sendable {
    private let openedCount = Atomic<Int>(0)
    private let closedCount = Atomic<Int>(0)
    private let closedTwiceCount = Atomic<Int>(0)
    private let releasedCount = Atomic<Int>(0)

    init() {}

    func opened() { openedCount.add(1, ordering: .relaxed) }
    func closed() { closedCount.add(1, ordering: .relaxed) }
    func closedTwice() { closedTwiceCount.add(1, ordering: .relaxed) }
    func released() { releasedCount.add(1, ordering: .relaxed) }

    /// Connections opened.
    var opens: Int { openedCount.load(ordering: .relaxed) }
    /// Connections closed (once each).
    var closes: Int { closedCount.load(ordering: .relaxed) }
    /// `close()` calls on an already closed connection: must stay 0.
    var doubleCloses: Int { closedTwiceCount.load(ordering: .relaxed) }
    /// Connections whose memory was freed (nobody holds them any more).
    var releases: Int { releasedCount.load(ordering: .relaxed) }
}

/// Whether a peer is still up; shared by the directory and every connection to the peer.
final class PeerState: Sendable {
    private let up = Atomic<Bool>(true)
    var isUp: Bool { up.load(ordering: .relaxed) }
    func goDown() { up.store(false, ordering: .relaxed) }
}

/// The peers that are up now. Bounded by the live population: a peer leaves the table when it
/// goes down.
final class PeerDirectory: Sendable {
    private let peers = LockedState<[Int: PeerState]>([:])

    init() {}

    /// A new peer comes up.
    func join(_ peer: Int) {
        peers.withLock { $0[peer] = PeerState() }
    }

    /// `peer` goes down: its connections stop being alive.
    func leave(_ peer: Int) {
        peers.withLock { $0.removeValue(forKey: peer) }?.goDown()
    }

    /// The state of `peer` if it is up.
    func state(of peer: Int) -> PeerState? {
        peers.withLock { $0[peer] }
    }

    /// How many peers are up.
    var count: Int { peers.withLock { $0.count } }
}

/// The peer did not answer: it has left the mesh.
struct PeerUnreachable: Error, CustomStringConvertible {
    var peer: Int
    var description: String { "peer \(peer) is unreachable" }
}

/// A connection to a peer, holding a send/receive buffer of real, touched memory (a QUIC
/// connection holds far more; the size is the workload's `connectionBufferBytes`).
final class DemoConnection: Sendable {
    let peer: Int
    private let state: PeerState
    /// Written once, at creation (so every page is resident), then only read.
    private let buffer: [UInt8]
    private let closedFlag = Atomic<Bool>(false)
    private let sends = Atomic<Int>(0)
    private let ledger: ConnectionLedger

    /// Opens a connection to `peer`, or throws when the peer is gone.
    static func open(to peer: Int, directory: PeerDirectory, bufferBytes: Int, ledger: ConnectionLedger) throws -> DemoConnection {
        guard let state = directory.state(of: peer) else { throw PeerUnreachable(peer: peer) }
        return DemoConnection(peer: peer, state: state, bufferBytes: bufferBytes, ledger: ledger)
    }

    private init(peer: Int, state: PeerState, bufferBytes: Int, ledger: ConnectionLedger) {
        self.peer = peer
        self.state = state
        self.ledger = ledger
        buffer = [UInt8](repeating: UInt8(truncatingIfNeeded: peer | 1), count: max(1, bufferBytes))
        ledger.opened()
    }

    deinit {
        ledger.released()
    }

    /// Usable while the peer is up and the connection is not closed.
    var isAlive: Bool { state.isUp && !closedFlag.load(ordering: .relaxed) }

    /// Marks the connection closed (counted once; a second close is counted as a defect).
    nonisolated(nonsending) func close() async {
        if closedFlag.exchange(true, ordering: .relaxed) {
            ledger.closedTwice()
        } else {
            ledger.closed()
        }
    }

    /// Sends one message through the buffer. - Returns: whether the connection was usable.
    @discardableResult
    func send() -> Bool {
        guard isAlive else { return false }
        let count = sends.add(1, ordering: .relaxed).newValue
        return buffer[(count &* 64) % buffer.count] != 0
    }
}

/// A client's session state (authentication, flow-control windows, buffers): real memory.
final class ClientSession: Sendable {
    let client: Int
    let state: [UInt8]

    init(client: Int, bytes: Int) {
        self.client = client
        self.state = [UInt8](repeating: UInt8(truncatingIfNeeded: client), count: max(1, bytes))
    }
}

/// Publishes advertisements to the simulated mesh: counts them and returns at once.
final class DemoPublisher: ServicePublisher {
    private let count = Atomic<Int>(0)

    init() {}

    func publish(_ advertisement: ServiceAdvertisement) async throws {
        count.add(1, ordering: .relaxed)
    }

    /// Publishes so far.
    var publishes: Int { count.load(ordering: .relaxed) }
}

/// Counts the advertisement manager's log events by kind, and the entries its cleanups removed.
final class DemoAdvertisementLog: ComponentLogHandler {
    private let state = LockedState<(events: [String: Int], removed: Int)>(([:], 0))

    init() {}

    func log(_ event: ComponentLogEvent) {
        state.withLock { state in
            state.events["\(event.kind) (\(event.level.rawValue))", default: 0] += 1
            if event.kind == .cleanupFinished, let removed = event.metadata["removed"].flatMap({ Int($0) }) {
                state.removed += removed
            }
        }
    }

    /// Events by kind and level, and the total the cleanups removed.
    var summary: (events: [String: Int], removed: Int) { state.withLock { $0 } }
}

/// The simulated mesh both worlds share: the peer directory, the connection ledger, the
/// advertisement publisher, and the remote services with their providers. Provider sets and
/// silent providers are fixed functions of the names, so both worlds meet the same mesh.
final class SimulatedMesh: Sendable {
    let peers = PeerDirectory()
    let ledger = ConnectionLedger()
    let publisher = DemoPublisher()
    let clock = ContinuousClock()
    let profile: WorkloadProfile
    /// The run's seed.
    let seed: UInt64
    private let random: LockedState<SplitMix64>

    init(profile: WorkloadProfile, seed: UInt64) {
        self.profile = profile
        self.seed = seed
        self.random = LockedState(SplitMix64(seed: seed ^ 0xA5A5_5A5A))
    }

    /// The providers of `service`: `providersPerService` nodes out of a fixed population.
    func providers(of service: String) -> [ServiceProvider] {
        let hash = Self.fnv1a(service)
        return (0..<UInt64(profile.providersPerService)).map { k in
            let node = Int((hash &+ k &* 0x9E37_79B9) % UInt64(profile.providerNodes))
            return ServiceProvider(nodeID: "node-\(node)", address: "mem://node-\(node)")
        }
    }

    /// Whether `provider` never answers (a node that hangs: its calls time out and fail over).
    func isSilent(_ provider: ServiceProvider) -> Bool {
        let share = profile.silentProviderShare
        guard share > 0 else { return false }
        return Double(Self.fnv1a(provider.nodeID) % 10_000) < share * 10_000
    }

    /// How long `provider` takes to reply; nil when it never does.
    func replyLatency(of provider: ServiceProvider) -> Duration? {
        guard !isSilent(provider) else { return nil }
        return seconds(random.withLock { $0.uniform(profile.replyLatency) })
    }

    /// How long one discovery takes.
    func discoveryLatency() -> Duration {
        seconds(random.withLock { $0.uniform(profile.discoveryLatency) })
    }

    /// Sleeps on the real clock; throws when the task is cancelled.
    func sleep(_ duration: Duration) async throws {
        try await clock.sleep(for: duration)
    }

    private func seconds(_ value: Double) -> Duration { .nanoseconds(Int64(value * 1e9)) }

    /// FNV-1a: a hash that is the same in every process (Swift's `hashValue` is not).
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01B3
        }
        return hash
    }
}
