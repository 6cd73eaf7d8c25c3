/// A procedure this node runs itself, in the caller's task, on the encoded arguments; an error it
/// throws reaches the caller as ``RPCError/procedureFailed``.
public typealias RPCLocalHandler = @Sendable ([UInt8]) async throws -> [UInt8]

/// What a suspended caller is resumed with. Kept small: it is part of every suspended caller's frame.
package enum RPCStep: Sendable {
    /// Send the call's current attempt, then wait again.
    case send
    /// The call is over and its entry gone.
    case finished(Result<[UInt8], RPCError>)
    /// Cancelled while it waited: the caller removes its own entry.
    case cancelled
}

package struct RPCAttempt: Sendable, Hashable {
    package var provider: ServiceProvider
    package var number: Int
}

/// The state of an ``RPCHandler``: pending calls, the discoveries they wait for, every deadline,
/// the local handlers and the lifecycle. Pending calls live in a slot table with a free list; a
/// ``RPCCallID`` is a slot plus a generation, so a stale ID never matches a newer call.
package struct RPCHandlerCore: Sendable {
    package static let never = Duration.seconds(Int64.max)

    /// What happened to a call while its caller was sending; the caller acts on it when `send` returns.
    package enum Interruption: UInt8, Sendable {
        case attemptFailed
    /// The reply arrived and is kept in `storedReplies`.
        case replied
        case shutdown
        case stopped
    }

    package enum Phase: Sendable, Hashable {
        /// `next` is the next free slot, or -1.
        case free(next: Int32)
        case discovering(UInt32)
        /// The caller's task is in the transport's `send`, not suspended on the handler.
        case sending(Interruption?)
        case awaitingReply
    }

    /// Kept small: every pending call costs one.
    struct Call: Sendable {
        var generation: UInt32
        /// An index into `providers`, or -1.
        var current: Int32 = -1
        /// Providers tried so far, the one in flight included.
        var attempts: UInt16 = 0
        var maximumAttempts: UInt16 = 0
        var strategy: RPCProviderStrategy = .first
        var phase: Phase
        var providers: [ServiceProvider] = []
        var excluded: [Int32] = []
        var timeout: Duration = .zero
        var overallDeadline: Duration = RPCHandlerCore.never
        var waiter: Waiter<RPCStep>?
    }

    package enum Removal: UInt8, Sendable, CaseIterable {
        case replied, timedOut, callFailed, callerCancelled, shutdown, stopped

        package var reason: RemovalReason {
            switch self {
            case .replied: .replied
            case .timedOut: .timedOut
            case .callFailed: .callFailed
            case .callerCancelled: .callerCancelled
            case .shutdown: .shutdown
            case .stopped: .stopped
            }
        }
    }

    /// `removal` is why the entry left, nil when it stays.
    package struct Resume: Sendable {
        package var id: RPCCallID
        /// Nil only if the caller never suspended; it then counts as cancelled.
        package var waiter: Waiter<RPCStep>?
        package var step: RPCStep
        package var removal: Removal?
    }

    package struct DiscoveryStart: Sendable {
        package var id: UInt32
        package var service: String
    }

    /// An attempt handed to the transport's `send` that will never be answered: the actor tells
    /// the transport (``RPCTransport/abandon(_:attempt:)``), once, after that `send` returned.
    package struct Abandoned: Sendable, Hashable {
        package var id: RPCCallID
        package var attempt: Int

        package init(id: RPCCallID, attempt: Int) {
            self.id = id
            self.attempt = attempt
        }
    }

    package struct Effects: Sendable {
        package var resumes: [Resume] = []
        package var abandoned: [Abandoned] = []
        package var aborts: [UInt32] = []
        package var starts: [DiscoveryStart] = []
        package var attemptTimeouts = 0
        /// Attempts the transport reported failed (``RPCHandler/attemptFailed(_:attempt:)``).
        package var attemptFailures = 0
        package var failovers = 0
        package var removed = 0
        package var wakeLoop = false
    }

    private(set) var lifecycle = RunLifecycle.notStarted
    var overdueBeforeRun = OverdueBeforeRun()
    package var budget: MemoryBudget
    let maximumLocalProcedures: Int
    private(set) var localHandlers: [String: RPCLocalHandler] = [:]

    /// `freeHead` is the first free slot or -1.
    var calls: [Call] = []
    private var freeHead: Int32 = -1
    private var nextGeneration: UInt32 = 1
    package private(set) var callCount = 0
    /// One deadline per call (the earliest of its discovery, attempt and overall deadlines), keyed
    /// by the call ID's raw value.
    package var deadlines = DeadlineHeap<UInt64, Duration>()
    /// The instant `run()`'s loop sleeps towards, or nil; an earlier new deadline must wake it.
    var loopWakeAt: Duration?
    /// Replies that arrived while their caller was still sending.
    var storedReplies: [UInt64: RPCReply.Outcome] = [:]

    package var discoveries: [UInt32: Discovery] = [:]
    package var discoveryByService: [String: UInt32] = [:]
    var discoveriesToStart: [UInt32] = []
    var nextDiscoveryID: UInt32 = 0

    var random: SplitMix64
    var roundRobin: [String: UInt32] = [:]

    package init(configuration: RPCHandlerConfiguration) throws(ConfigurationError) {
        try configuration.validate()
        budget = try MemoryBudget(baseLimit: configuration.maximumPendingCalls, field: "maximumPendingCalls")
        maximumLocalProcedures = configuration.maximumLocalProcedures
        var system = SystemRandomNumberGenerator()
        random = SplitMix64(seed: configuration.randomSeed ?? system.next())
    }

    package var size: Int { callCount + discoveries.count }

    var earliestDeadline: Duration? { deadlines.first?.deadline }

    var awaitsRun: Bool {
        guard case .notStarted = lifecycle else { return false }
        return callCount > 0
    }

    /// - Returns: how far past its deadline the oldest call accepted before `run()` is, when the
    ///   one-time warning is due. - Complexity: O(1).
    mutating func checkOverdueBeforeRun(now: Duration) -> Duration? {
        overdueBeforeRun.check(lifecycle, earliestDeadline: earliestDeadline, now: now)
    }

    package enum RunStartAction: Sendable, Hashable {
        case started(overdueBy: Duration?)
        case alreadyRunning, shutDown
    }

    /// - Complexity: O(1).
    package mutating func runStarted(now: Duration) -> RunStartAction {
        let overdue = checkOverdueBeforeRun(now: now)
        switch lifecycle.start() {
        case .started: return .started(overdueBy: overdue)
        case .alreadyRunning: return .alreadyRunning
        case .shutDown: return .shutDown
        }
    }

    /// Every pending call fails with `notRunning`. - Complexity: O(table size).
    package mutating func runEnded() -> Effects {
        guard lifecycle.end() else { return Effects() }
        return endEverything(.stopped)
    }

    /// - Complexity: O(table size).
    package mutating func shutdown() -> Effects {
        guard lifecycle.shutDown() else { return Effects() }
        return endEverything(.shutdown)
    }

    private mutating func endEverything(_ ending: Interruption) -> Effects {
        var effects = Effects()
        let error: RPCError = ending == .shutdown ? .shutdown : .notRunning
        let reason: Removal = ending == .shutdown ? .shutdown : .stopped
        var slot = -1
        // `release` empties the table when the last call leaves: re-check the bound every turn.
        while slot + 1 < calls.count {
            slot += 1
            let id = RPCCallID(slot: slot, generation: calls[slot].generation)
            switch calls[slot].phase {
            case .free:
                continue
            case .discovering, .awaitingReply:
                if case .awaitingReply = calls[slot].phase {
                    effects.abandoned.append(Abandoned(id: id, attempt: Int(calls[slot].attempts)))
                }
                let waiter = takeWaiter(slot)
                release(slot)
                effects.resumes.append(Resume(id: id, waiter: waiter, step: .finished(.failure(error)), removal: reason))
                effects.removed += 1
            case .sending:
                // The caller learns it when its send returns (see `sendCompleted`).
                calls[slot].phase = .sending(ending)
                storedReplies.removeValue(forKey: id.rawValue)
            }
        }
        _ = deadlines.removeAll()
        loopWakeAt = nil
        effects.aborts.append(contentsOf: discoveries.keys)
        effects.removed += discoveries.count
        discoveries.removeAll()
        discoveryByService.removeAll()
        discoveriesToStart.removeAll()
        return effects
    }

    enum RegisterAction: Sendable, Hashable { case registered, replaced, rejectedAtLimit(Int), shutDown }

    /// - Complexity: O(1).
    mutating func register(_ procedure: String, handler: @escaping RPCLocalHandler) -> RegisterAction {
        if case .shutDown = lifecycle { return .shutDown }
        if localHandlers[procedure] != nil {
            localHandlers[procedure] = handler
            return .replaced
        }
        guard localHandlers.count < maximumLocalProcedures else { return .rejectedAtLimit(maximumLocalProcedures) }
        localHandlers[procedure] = handler
        return .registered
    }

    /// - Complexity: O(1).
    mutating func unregister(_ procedure: String) -> Bool {
        localHandlers.removeValue(forKey: procedure) != nil
    }

    enum LocalCallAction: Sendable { case run(RPCLocalHandler), remote, shutDown }

    /// - Complexity: O(1).
    func localCallStarted(_ procedure: String) -> LocalCallAction {
        if case .shutDown = lifecycle { return .shutDown }
        guard !localHandlers.isEmpty else { return .remote }  // the common case: no hashing
        return localHandlers[procedure].map { .run($0) } ?? .remote
    }

    /// - Complexity: O(1).
    func liveSlot(_ id: RPCCallID) -> Int? {
        let slot = id.slot
        guard slot < calls.count, calls[slot].generation == id.generation else { return nil }
        if case .free = calls[slot].phase { return nil }
        return slot
    }

    /// Nil when the call is not live or waits for a discovery. - Complexity: O(1).
    package func attempt(of id: RPCCallID) -> RPCAttempt? {
        guard let slot = liveSlot(id), calls[slot].current >= 0 else { return nil }
        let call = calls[slot]
        return RPCAttempt(provider: call.providers[Int(call.current)], number: Int(call.attempts))
    }

    package func phase(of id: RPCCallID) -> Phase? {
        liveSlot(id).map { calls[$0].phase }
    }

    mutating func allocate(_ call: Call) -> RPCCallID {
        var call = call
        call.generation = nextGeneration
        nextGeneration = nextGeneration == .max ? 1 : nextGeneration + 1
        let slot: Int
        if freeHead >= 0 {
            slot = Int(freeHead)
            if case .free(let next) = calls[slot].phase { freeHead = next } else { freeHead = -1 }
            calls[slot] = call
        } else {
            slot = calls.count
            calls.append(call)
        }
        callCount += 1
        return RPCCallID(slot: slot, generation: call.generation)
    }

    /// - Complexity: O(1).
    /// - Returns: false (nothing parked) when `id` names no live call.
    mutating func park(_ id: RPCCallID, _ waiter: Waiter<RPCStep>) -> Bool {
        guard let slot = liveSlot(id) else { return false }
        calls[slot].waiter = waiter
        return true
    }

    /// - Complexity: O(1).
    func isParked(_ id: RPCCallID) -> Bool {
        guard let slot = liveSlot(id), calls[slot].waiter != nil else { return false }
        switch calls[slot].phase {
        case .discovering, .awaitingReply: return true
        case .free, .sending: return false
        }
    }

    mutating func takeWaiter(_ slot: Int) -> Waiter<RPCStep>? {
        defer { calls[slot].waiter = nil }
        return calls[slot].waiter
    }

    mutating func remove(_ slot: Int, _ id: RPCCallID) {
        deadlines.remove(id.rawValue)
        if case .sending(.replied) = calls[slot].phase { storedReplies.removeValue(forKey: id.rawValue) }
        release(slot)
    }

    /// An empty table gives its memory back when it had grown large.
    mutating func release(_ slot: Int) {
        calls[slot] = Call(generation: calls[slot].generation, phase: .free(next: freeHead))
        freeHead = Int32(truncatingIfNeeded: slot)
        callCount -= 1
        if callCount == 0 {
            calls.removeAll(keepingCapacity: calls.capacity < 1024)
            freeHead = -1
        }
    }

    /// - Returns: whether the deadline is earlier than the instant the loop sleeps towards.
    /// - Complexity: O(log n).
    mutating func schedule(_ id: RPCCallID, at deadline: Duration) -> Bool {
        deadlines.set(id.rawValue, deadline: deadline)
        guard loopWakeAt.map({ deadline < $0 }) ?? true else { return false }
        loopWakeAt = deadline
        return true
    }

    package static func result(of outcome: RPCReply.Outcome) -> Result<[UInt8], RPCError> {
        switch outcome {
        case .success(let bytes): .success(bytes)
        case .failure(let message): .failure(.procedureFailed("", message: message))
        }
    }
}
