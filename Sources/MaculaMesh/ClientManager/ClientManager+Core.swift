/// The client manager's state: clients with their streams, the limit, and the callers waiting for
/// a slot. Invariants (``invariantViolations()``): `owners` and the clients' `streams` list the
/// same streams at the recorded indexes; the queue is empty or no slot is free; at most one offer
/// is outstanding, answered before any other call.
@usableFromInline
package struct ClientManagerCore<
    ClientID: Hashable & Sendable,
    ClientInfo: Sendable,
    StreamID: Hashable & Sendable
>: Sendable {
    @usableFromInline package typealias Disconnection = ClientDisconnection<ClientID, ClientInfo, StreamID>

    @usableFromInline
    struct Client: Sendable {
        @usableFromInline var info: ClientInfo
        @usableFromInline var registration: UInt64
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

    @usableFromInline package typealias Outcome = Result<UInt64, ClientManagerError>

    struct Waiting: Sendable {
        var client: ClientID
        var info: ClientInfo
        var waiter: Waiter<Outcome>
    }

    @usableFromInline
    package enum Action: Sendable {
        /// The oldest waiter may take a freed slot: ``Waiter/claim()`` it, then call
        /// ``answerOffer(claimed:)``. Always the last action of a list.
        case offer(Waiter<Outcome>)
        /// Finish the waiter with the outcome; when that delivers, report the rejection (if any).
        case resume(Waiter<Outcome>, Outcome, rejection: RejectionReason?)
        case report(Report)
        /// A deadline earlier than every other appeared.
        case wakeDeadlineLoop
    }

    package enum Admission: Sendable {
        case registered(UInt64)
        case queued(UInt64, [Action])
    }

    @usableFromInline private(set) var lifecycle = RunLifecycle.notStarted
    @usableFromInline package private(set) var budget: MemoryBudget
    @usableFromInline let maximumStreamsPerClient: Int

    @usableFromInline var clients: [ClientID: Client] = [:]
    @usableFromInline var owners: [StreamID: Owner] = [:]
    private var waiters: WaitQueue<Waiting>
    private var offered: UInt64?
    @usableFromInline var lastRegistration: UInt64 = 0

    /// - Throws: ``ConfigurationError`` naming the first invalid field.
    package init(configuration: ClientManagerConfiguration) throws(ConfigurationError) {
        try configuration.validate()
        budget = try MemoryBudget(baseLimit: configuration.maximumClients, field: "maximumClients")
        maximumStreamsPerClient = configuration.maximumStreamsPerClient
        waiters = WaitQueue(capacity: configuration.maximumWaiters)
    }

    @inlinable package var clientCount: Int { clients.count }
    @inlinable package var streamCount: Int { owners.count }
    package var waiterCount: Int { waiters.count }
    package var nextDeadline: Duration? { waiters.nextDeadline }

    @inlinable package func info(for client: ClientID) -> ClientInfo? { clients[client]?.info }
    @inlinable package func registration(of client: ClientID) -> UInt64? { clients[client]?.registration }
    @inlinable package func streams(for client: ClientID) -> [StreamID] { clients[client]?.streams ?? [] }
    @inlinable package func client(for stream: StreamID) -> ClientID? { owners[stream]?.client }

    /// - Complexity: O(n).
    package var connected: [(ClientID, ClientInfo)] { clients.map { ($0.key, $0.value.info) } }

    @usableFromInline var hasWaiters: Bool { !waiters.isEmpty }

    @inlinable var isFull: Bool { clients.count >= budget.effectiveLimit || hasWaiters }

    /// Also the one-time `run_not_started` warning when queued callers are overdue. - Complexity: O(1).
    mutating func usage(now: Duration) -> (MemoryUsage, Report?) {
        let overdue = waiters.isEmpty ? nil : waiters.checkOverdue(lifecycle, now: now)
        return (budget.usage(size: clients.count), overdue.map { .runNotStarted(overdueBy: $0) })
    }

    /// - Returns: the one-time warning for overdue callers queued before it.
    /// - Throws: `alreadyRunning` or `shutdown`; nothing changes then. - Complexity: O(1).
    package mutating func runStarted(now: Duration) throws(ClientManagerError) -> [Action] {
        let overdue = waiters.checkOverdue(lifecycle, now: now)
        switch lifecycle.start() {
        case .started: return overdue.map { [.report(.runNotStarted(overdueBy: $0))] } ?? []
        case .alreadyRunning: throw .alreadyRunning
        case .shutDown: throw .shutdown
        }
    }

    /// Fails every waiter with `notRunning`. - Complexity: O(w) for w waiters.
    package mutating func runStopped() -> [Action] {
        guard lifecycle.end() else { return [] }
        return failAllWaiters(.notRunning)
    }

    /// A second call removes nothing. - Complexity: O(n + s + w).
    package mutating func shutdown() -> [Action] {
        _ = lifecycle.shutDown()
        var actions: [Action] = [.report(.removed(clients.count, .shutdown)), .report(.event(.streamsRemoved, owners.count))]
        actions += failAllWaiters(.shutdown)
        clients.removeAll()
        owners.removeAll()
        return actions
    }

    /// - Returns: the new registration.
    /// - Throws: `maxClientsReached` when a newcomer does not fit; `shutdown`. - Complexity: O(1).
    @inlinable
    package mutating func clientConnected(_ client: ClientID, info: ClientInfo) throws(ClientManagerError) -> UInt64 {
        if case .shutDown = lifecycle { throw .shutdown }
        if let registration = reregister(client, info: info) { return registration }
        guard !isFull else { throw .maxClientsReached }
        return register(client, info: info)
    }

    /// Queues `waiter` until `now + timeout` when the manager is full.
    /// - Throws: `maxClientsReached`, `waitersLimitReached`, `notRunning`, `shutdown`.
    /// - Complexity: O(log w) for w waiters.
    package mutating func clientConnected(
        _ client: ClientID, info: ClientInfo, waiter: Waiter<Outcome>, timeout: Duration, now: Duration
    ) throws(ClientManagerError) -> Admission {
        if case .shutDown = lifecycle { throw .shutdown }
        if let registration = reregister(client, info: info) { return .registered(registration) }
        guard isFull else { return .registered(register(client, info: info)) }
        let queued: WaitQueue<Waiting>.Queued
        do {
            queued = try waiters.enqueue(Waiting(client: client, info: info, waiter: waiter),
                                         deadline: now + timeout, lifecycle: lifecycle, now: now)
        } catch {
            switch error {
            case .noWaiting: throw .maxClientsReached
            case .full: throw .waitersLimitReached
            case .notRunning: throw .notRunning
            case .shutDown: throw .shutdown
            }
        }
        var actions: [Action] = queued.beforeRun?.reports.map { .report($0) } ?? []
        if queued.isEarliest { actions.append(.wakeDeadlineLoop) }
        return .queued(queued.id, actions)
    }

    /// - Returns: false, a no-op, when the waiter already left the queue. - Complexity: O(log w).
    @discardableResult
    package mutating func waiterCancelled(_ id: UInt64) -> Bool {
        waiters.remove(id) != nil
    }

    /// `claimed` is false when the waiter's cancellation won; the slot then goes to the next.
    /// - Complexity: O(log w).
    package mutating func answerOffer(claimed: Bool) -> [Action] {
        guard let id = offered, let waiting = waiters.remove(id) else { return [] }
        offered = nil
        var actions: [Action] = []
        if claimed {
            let registration = reregister(waiting.client, info: waiting.info)
                ?? register(waiting.client, info: waiting.info)
            actions.append(.resume(waiting.waiter, .success(registration), rejection: nil))
        }
        return actions + offerSlot()
    }

    /// - Returns: the actions and the next deadline. - Complexity: O(k log w) for k timed out.
    package mutating func deadlinePassed(now: Duration) -> (actions: [Action], next: Duration?) {
        let actions = waiters.popDue(at: now).map { fail($0.element, .timedOut) }
        return (actions, waiters.nextDeadline)
    }

    /// - Complexity: O(s) for the client's s streams.
    @inlinable
    package mutating func clientDisconnected(_ client: ClientID) -> (removed: Disconnection?, actions: [Action]) {
        guard let removed = remove(client) else { return (nil, []) }
        return (removed, hasWaiters ? offerSlot() : [])
    }

    /// Removes `client` only if `registration` still owns it. - Complexity: O(s).
    @inlinable
    package mutating func registrationEnded(
        _ client: ClientID, registration: UInt64
    ) -> (removed: Disconnection?, actions: [Action]) {
        guard clients[client]?.registration == registration else { return (nil, []) }
        return clientDisconnected(client)
    }

    /// - Returns: the actions and how many were removed. - Complexity: O(d + s) for d clients and
    ///   their s streams.
    package mutating func removeDead(_ dead: [ClientID]) -> (removed: Int, actions: [Action]) {
        var removed = 0
        var streams = 0
        for id in dead {
            guard let disconnection = remove(id) else { continue }
            removed += 1
            streams += disconnection.streams.count
        }
        return (removed, [.report(.removed(removed, .dead)), .report(.event(.streamsRemoved, streams))] + offerSlot())
    }

    /// - Throws: `unknownClient`, `streamOwnedByAnotherClient`, `maxStreamsReached`, `shutdown`.
    /// - Complexity: O(1).
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

    /// Closes `stream`. - Returns: false (a no-op) when it is not open. - Complexity: O(1).
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

    /// - Throws: ``ConfigurationError`` when `limit < 1`. - Complexity: O(1).
    package mutating func setBaseLimit(_ limit: Int) throws(ConfigurationError) -> [Action] {
        try budget.setBaseLimit(limit, field: "maximumClients")
        return offerSlot()
    }

    /// - Complexity: O(1).
    package mutating func setPressureScale(_ scale: Double) -> [Action] {
        budget.setPressureScale(scale)
        return offerSlot()
    }

    /// - Returns: nil when `client` is unknown.
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

    /// A waiter whose client is connected already takes no slot, so it is offered one regardless.
    @usableFromInline
    mutating func offerSlot() -> [Action] {
        guard offered == nil, let (id, waiting) = waiters.first(),
              clients[waiting.client] != nil || clients.count < budget.effectiveLimit
        else { return [] }
        offered = id
        return [.offer(waiting.waiter)]
    }

    private func fail(_ waiting: Waiting, _ error: ClientManagerError) -> Action {
        .resume(waiting.waiter, .failure(error), rejection: error.rejectionReason)
    }

    private mutating func failAllWaiters(_ error: ClientManagerError) -> [Action] {
        offered = nil
        return waiters.removeAll().map { fail($0.element, error) }
    }

    /// For tests. - Complexity: O(n + s + w).
    package func invariantViolations() -> [String] {
        var violations = waiters.invariantViolations()
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
        if offered != nil {
            violations.append("an offer is unanswered")
        }
        if lifecycle == .shutDown && !(clients.isEmpty && owners.isEmpty && waiters.isEmpty) {
            violations.append("entries left after shutdown")
        }
        if lifecycle == .stopped && !waiters.isEmpty {
            violations.append("waiters queued after run() stopped")
        }
        return violations
    }
}
