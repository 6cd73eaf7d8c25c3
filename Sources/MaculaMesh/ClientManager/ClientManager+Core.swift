/// The client manager's state and rules (package-visible so that `macula-bench` can measure it
/// bare): clients with their streams, the limit, the queue of
/// callers waiting for a slot and their deadlines. Synchronous, no clock (instants come in as
/// arguments), no I/O. The only call out is ``ClientSlotClaimable/claim()`` on a waiter, the atomic
/// step that decides a grant against the waiter's cancellation before any state changes.
///
/// Invariants, checked by the tests after every step:
/// - every stream in `owners` is listed, at the index it records, in its client's `streams`, and
///   every listed stream is in `owners` (so removing a client removes exactly its streams);
/// - the queue is empty or the manager is full: a freed slot goes to the oldest waiter at once,
///   so a newcomer can never pass the queue;
/// - every queued waiter has exactly one deadline, and nothing else has one.
@usableFromInline
package struct ClientManagerCore<
    ClientID: Hashable & Sendable,
    ClientInfo: Sendable,
    StreamID: Hashable & Sendable,
    Waiter: ClientSlotClaimable
>: Sendable {
    @usableFromInline package typealias Disconnection = ClientDisconnection<ClientID, ClientInfo, StreamID>

    @usableFromInline
    struct Client: Sendable {
        @usableFromInline var info: ClientInfo
        /// Which registration owns the client now; see ``ClientManager/withClient(_:info:admission:_:)``.
        @usableFromInline var registration: UInt64
        /// The client's open streams; a stream's position is recorded in `owners`, so closing one
        /// is a swap with the last, O(1).
        @usableFromInline var streams: [StreamID]

        @inlinable
        init(info: ClientInfo, registration: UInt64, streams: [StreamID]) {
            self.info = info
            self.registration = registration
            self.streams = streams
        }
    }

    @usableFromInline
    struct Owner: Sendable {
        @usableFromInline var client: ClientID
        @usableFromInline var index: Int

        @inlinable
        init(client: ClientID, index: Int) {
            self.client = client
            self.index = index
        }
    }

    struct Waiting: Sendable {
        var client: ClientID
        var info: ClientInfo
        var waiter: Waiter
    }

    /// Something the actor must do to a waiter after the state changed.
    @usableFromInline
    package enum Action {
        /// The waiter was claimed and its client registered: resume it with the registration.
        case grant(Waiter, registration: UInt64)
        /// The waiter left the queue without a slot: fail it (it may have been cancelled first).
        case fail(Waiter, ClientManagerError)
    }

    /// What a caller that may wait gets at once.
    enum Admission: Equatable {
        /// Registered without waiting.
        case registered(UInt64)
        /// Queued under `id`; `wakeDeadlineLoop` when its deadline is now the earliest;
        /// `beforeRun` when `run()` has not started yet.
        case queued(id: UInt64, wakeDeadlineLoop: Bool, beforeRun: AcceptedBeforeRun?)
    }

    /// What `run()` starting means.
    enum RunStartAction: Equatable {
        /// It runs; `overdueBy` when callers queued before it are past their deadline (warn once).
        case started(overdueBy: Duration?)
    }

    /// What a removal of clients did: the removed clients' stream count and the waiters that got
    /// the freed slots.
    struct Removal {
        var clients = 0
        var streams = 0
        var actions: [Action] = []
    }

    /// Clients and streams work in every state but `shutDown`; waiting for a slot is accepted
    /// before `run()` starts and while it runs, refused once it has stopped.
    @usableFromInline private(set) var lifecycle = RunLifecycle.notStarted
    private var overdueBeforeRun = OverdueBeforeRun()
    @usableFromInline private(set) var budget: MemoryBudget
    @usableFromInline let maximumStreamsPerClient: Int
    let maximumWaiters: Int

    @usableFromInline var clients: [ClientID: Client] = [:]
    @usableFromInline var owners: [StreamID: Owner] = [:]
    private var waiters = FIFOQueue<UInt64, Waiting>()
    private var deadlines = DeadlineHeap<UInt64, Duration>()
    @usableFromInline var lastRegistration: UInt64 = 0
    private var lastWaiterID: UInt64 = 0

    /// - Throws: ``ConfigurationError`` naming the first invalid field.
    package init(configuration: ClientManagerConfiguration) throws(ConfigurationError) {
        try configuration.validate()
        budget = try MemoryBudget(baseLimit: configuration.maximumClients, field: "maximumClients")
        maximumStreamsPerClient = configuration.maximumStreamsPerClient
        maximumWaiters = configuration.maximumWaiters
    }

    // MARK: Reading

    @inlinable package var clientCount: Int { clients.count }
    @inlinable package var streamCount: Int { owners.count }
    var waiterCount: Int { waiters.count }
    var nextDeadline: Duration? { deadlines.first?.deadline }
    var usage: MemoryUsage { budget.usage(size: clients.count) }

    @inlinable func info(for client: ClientID) -> ClientInfo? { clients[client]?.info }
    @inlinable func registration(of client: ClientID) -> UInt64? { clients[client]?.registration }
    @inlinable func streams(for client: ClientID) -> [StreamID] { clients[client]?.streams ?? [] }
    @inlinable func client(for stream: StreamID) -> ClientID? { owners[stream]?.client }

    /// Whether callers are queued. Not inlinable: the queue's type is package-internal to
    /// MaculaMemory, so the inlined hot path calls this (cheaply) instead.
    @usableFromInline var hasWaiters: Bool { !waiters.isEmpty }

    /// No newcomer fits: at the limit, or callers are queued ahead of it. The core keeps "queued
    /// implies full" (a freed slot is granted in the step that frees it), so the queue test never
    /// decides alone; it guards the no-queue-jumping rule should that invariant ever break.
    @inlinable var isFull: Bool { clients.count >= budget.effectiveLimit || hasWaiters }

    // MARK: Lifecycle

    /// `run()` began at `now`.
    /// - Throws: `alreadyRunning` or `shutdown`; the state is unchanged then.
    /// - Complexity: O(1).
    mutating func runStarted(now: Duration) throws(ClientManagerError) -> RunStartAction {
        let overdue = overdueBeforeRun.check(lifecycle, earliestDeadline: deadlines.first?.deadline, now: now)
        switch lifecycle.start() {
        case .started: return .started(overdueBy: overdue)
        case .alreadyRunning: throw .alreadyRunning
        case .shutDown: throw .shutdown
        }
    }

    /// Whether callers wait for a `run()` that has not started yet.
    var awaitsRun: Bool {
        guard case .notStarted = lifecycle else { return false }
        return !waiters.isEmpty
    }

    /// Whether callers queued before `run()` started are past their deadline at `now`.
    /// - Returns: how far past its deadline the oldest is, when the one-time warning is due.
    /// - Complexity: O(1).
    mutating func checkOverdueBeforeRun(now: Duration) -> Duration? {
        overdueBeforeRun.check(lifecycle, earliestDeadline: deadlines.first?.deadline, now: now)
    }

    /// `run()` ended: nobody enforces deadlines any more, so every waiter fails with `notRunning`.
    /// - Complexity: O(w) for w waiters.
    mutating func runStopped() -> [Action] {
        guard lifecycle.end() else { return [] }
        return failAllWaiters(.notRunning)
    }

    /// Removes every client and stream, fails every waiter with `shutdown`; later calls are refused.
    /// Idempotent: a second call removes nothing.
    mutating func shutdown() -> Removal {
        _ = lifecycle.shutDown()
        var removal = Removal(clients: clients.count, streams: owners.count)
        removal.actions = failAllWaiters(.shutdown)
        clients.removeAll()
        owners.removeAll()
        return removal
    }

    // MARK: Clients

    /// Registers `client`, or updates its info when it is already connected (not counted twice).
    /// - Returns: the new registration.
    /// - Throws: `maxClientsReached` when a newcomer does not fit; `shutdown`.
    @inlinable
    package mutating func clientConnected(_ client: ClientID, info: ClientInfo) throws(ClientManagerError) -> UInt64 {
        if case .shutDown = lifecycle { throw .shutdown }
        if let registration = reregister(client, info: info) { return registration }
        guard !isFull else { throw .maxClientsReached }
        return register(client, info: info)
    }

    /// Registers `client` like ``clientConnected(_:info:)``, or queues `waiter` for up to
    /// `timeout` from `now` when the manager is full.
    /// - Throws: `maxClientsReached` when nobody may wait (`maximumWaiters` is 0);
    ///   `waitersLimitReached`; `notRunning` when it would have to wait and a `run()` has ended;
    ///   `shutdown`.
    /// - Complexity: O(log w) for w waiters.
    mutating func clientConnected(
        _ client: ClientID, info: ClientInfo, waiter: Waiter, timeout: Duration, now: Duration
    ) throws(ClientManagerError) -> Admission {
        if case .shutDown = lifecycle { throw .shutdown }
        if let registration = reregister(client, info: info) { return .registered(registration) }
        guard isFull else { return .registered(register(client, info: info)) }
        guard maximumWaiters > 0 else { throw .maxClientsReached }
        guard waiters.count < maximumWaiters else { throw .waitersLimitReached }
        switch lifecycle {
        case .notStarted, .running: break
        case .stopped: throw .notRunning
        case .shutDown: throw .shutdown
        }
        let beforeRun = overdueBeforeRun.accept(lifecycle, earliestDeadline: deadlines.first?.deadline, now: now)
        lastWaiterID &+= 1
        let id = lastWaiterID
        waiters.append(Waiting(client: client, info: info, waiter: waiter), id: id)
        deadlines.set(id, deadline: now + timeout)
        return .queued(id: id, wakeDeadlineLoop: deadlines.first?.id == id, beforeRun: beforeRun)
    }

    /// A queued caller was cancelled: removes its entry. A no-op when it already left the queue.
    /// - Returns: whether an entry was removed.
    @discardableResult
    mutating func waiterCancelled(_ id: UInt64) -> Bool {
        guard waiters.remove(id) != nil else { return false }
        deadlines.remove(id)
        return true
    }

    /// Removes every waiter whose deadline is at or before `now`.
    /// - Returns: the actions (`fail(_, .timedOut)`) and the next deadline.
    mutating func deadlinePassed(now: Duration) -> (actions: [Action], next: Duration?) {
        var actions: [Action] = []
        for (id, _) in deadlines.popDue(at: now) {
            if let waiting = waiters.remove(id) {
                actions.append(.fail(waiting.waiter, .timedOut))
            }
        }
        return (actions, deadlines.first?.deadline)
    }

    /// Removes `client` and exactly its streams; the freed slot goes to the oldest waiter.
    /// Unknown clients are a no-op.
    @inlinable
    package mutating func clientDisconnected(_ client: ClientID) -> (removed: Disconnection?, actions: [Action]) {
        guard let removed = remove(client) else { return (nil, []) }
        return (removed, hasWaiters ? grantWaiters() : [])
    }

    /// The scope that registered `client` under `registration` ended: removes the client like
    /// ``clientDisconnected(_:)`` only if that registration still owns it. When the client was
    /// disconnected meanwhile, or registered again by another call, this is a no-op.
    @inlinable
    mutating func registrationEnded(
        _ client: ClientID, registration: UInt64
    ) -> (removed: Disconnection?, actions: [Action]) {
        guard clients[client]?.registration == registration else { return (nil, []) }
        return clientDisconnected(client)
    }

    /// Removes every client for which `isAlive` returns false, with its streams.
    mutating func prune(isAlive: (ClientID, ClientInfo) -> Bool) -> Removal {
        var dead: [ClientID] = []
        for (id, entry) in clients where !isAlive(id, entry.info) {
            dead.append(id)
        }
        var removal = Removal()
        for id in dead {
            guard let removed = remove(id) else { continue }
            removal.clients += 1
            removal.streams += removed.streams.count
        }
        removal.actions = grantWaiters()
        return removal
    }

    // MARK: Streams

    /// Opens `stream` for `client`. Opening a stream the client already has is a no-op.
    /// - Throws: `unknownClient`, `streamOwnedByAnotherClient`, `maxStreamsReached`, `shutdown`.
    @inlinable
    package mutating func openStream(_ stream: StreamID, for client: ClientID) throws(ClientManagerError) {
        if case .shutDown = lifecycle { throw .shutdown }
        guard let index = clients.index(forKey: client) else { throw .unknownClient }
        if let owner = owners[stream] {
            guard owner.client == client else { throw .streamOwnedByAnotherClient }
            return
        }
        let position = clients.values[index].streams.count
        guard position < maximumStreamsPerClient else { throw .maxStreamsReached }
        clients.values[index].streams.append(stream)
        owners[stream] = Owner(client: client, index: position)
    }

    /// Closes `stream`. - Returns: false (a no-op) when it is not open.
    @inlinable
    package mutating func closeStream(_ stream: StreamID) -> Bool {
        guard let owner = owners.removeValue(forKey: stream) else { return false }
        guard let index = clients.index(forKey: owner.client) else { return true }
        guard let last = clients.values[index].streams.popLast() else { return true }
        if owner.index < clients.values[index].streams.count {
            clients.values[index].streams[owner.index] = last
            owners[last]?.index = owner.index
        }
        return true
    }

    // MARK: Limits

    /// Sets the operator's limit. Raising it hands the new slots to waiters; lowering it keeps
    /// every client and refuses newcomers until the count is under it.
    mutating func setBaseLimit(_ limit: Int) throws(ConfigurationError) -> [Action] {
        try budget.setBaseLimit(limit, field: "maximumClients")
        return grantWaiters()
    }

    /// Sets the pressure scale, with the same rules as ``setBaseLimit(_:)``.
    mutating func setPressureScale(_ scale: Double) -> [Action] {
        budget.setPressureScale(scale)
        return grantWaiters()
    }

    // MARK: Building blocks

    /// Updates a connected client's info under a new registration. - Returns: nil when unknown.
    @inlinable
    mutating func reregister(_ client: ClientID, info: ClientInfo) -> UInt64? {
        guard let index = clients.index(forKey: client) else { return nil }
        lastRegistration &+= 1
        clients.values[index].info = info
        clients.values[index].registration = lastRegistration
        return lastRegistration
    }

    @inlinable
    mutating func register(_ client: ClientID, info: ClientInfo) -> UInt64 {
        lastRegistration &+= 1
        clients[client] = Client(info: info, registration: lastRegistration, streams: [])
        budget.recordSize(clients.count)
        return lastRegistration
    }

    @inlinable
    mutating func remove(_ client: ClientID) -> Disconnection? {
        guard let entry = clients.removeValue(forKey: client) else { return nil }
        for stream in entry.streams {
            owners.removeValue(forKey: stream)
        }
        return Disconnection(client: client, info: entry.info, streams: entry.streams)
    }

    /// Hands free slots to the oldest waiters. A waiter whose client is connected already (it was
    /// registered by another call while it waited) takes no slot: its info is updated.
    @usableFromInline
    mutating func grantWaiters() -> [Action] {
        guard !waiters.isEmpty else { return [] }
        var actions: [Action] = []
        while let (id, waiting) = waiters.first() {
            let isConnected = clients[waiting.client] != nil
            guard isConnected || clients.count < budget.effectiveLimit else { break }
            _ = waiters.popFirst()
            deadlines.remove(id)
            // The waiter's cancellation won: skip it; its own call removes nothing more.
            guard waiting.waiter.claim() else { continue }
            let registration = reregister(waiting.client, info: waiting.info)
                ?? register(waiting.client, info: waiting.info)
            actions.append(.grant(waiting.waiter, registration: registration))
        }
        return actions
    }

    /// Every broken invariant, described; empty when the state is consistent. O(n + s + w): for
    /// tests, which check it after every step.
    func invariantViolations() -> [String] {
        var violations: [String] = []
        var listed = 0
        for (client, entry) in clients {
            listed += entry.streams.count
            if entry.streams.count > maximumStreamsPerClient {
                violations.append("\(client) has \(entry.streams.count) streams, over the limit")
            }
            for (index, stream) in entry.streams.enumerated() {
                guard let owner = owners[stream] else {
                    violations.append("stream \(stream) of \(client) has no owner entry")
                    continue
                }
                if owner.client != client || owner.index != index {
                    violations.append("stream \(stream) of \(client) is recorded at \(owner.client)[\(owner.index)]")
                }
            }
        }
        if listed != owners.count {
            violations.append("\(owners.count) owner entries for \(listed) listed streams")
        }
        if !waiters.isEmpty && clients.count < budget.effectiveLimit {
            violations.append("\(waiters.count) waiters queued with a free slot")
        }
        if deadlines.count != waiters.count {
            violations.append("\(deadlines.count) deadlines for \(waiters.count) waiters")
        }
        if lifecycle == .shutDown && !(clients.isEmpty && owners.isEmpty && waiters.isEmpty) {
            violations.append("entries left after shutdown")
        }
        if lifecycle == .stopped && !waiters.isEmpty {
            violations.append("waiters queued after run() stopped")
        }
        return violations
    }

    private mutating func failAllWaiters(_ error: ClientManagerError) -> [Action] {
        _ = deadlines.removeAll()
        return waiters.removeAll().map { .fail($0.element.waiter, error) }
    }
}
