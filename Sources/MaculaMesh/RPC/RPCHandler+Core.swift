/// A procedure this node runs itself: the handler calls it directly, in the caller's task.
/// It gets the encoded arguments and returns the encoded result; an error it throws reaches the
/// caller as ``RPCError/procedureFailed``.
public typealias RPCLocalHandler = @Sendable ([UInt8]) async throws -> [UInt8]

/// What a suspended caller is resumed with. Kept small (17 bytes): it is part of every suspended
/// caller's frame.
enum RPCStep: Sendable {
    /// Send the call's current attempt (the first after a discovery, or a failover; see
    /// `RPCHandlerCore.attempt(of:)`), then wait again.
    case send
    /// The call is over: its entry is already gone.
    case finished(Result<[UInt8], RPCError>)
    /// The caller's task was cancelled while it waited: it removes its own entry.
    case cancelled
}

/// One attempt, as the core hands it out (the caller's task reads it when it sends).
struct RPCAttempt: Sendable, Hashable {
    var provider: ServiceProvider
    var number: Int
}

/// The pure state of an ``RPCHandler``: pending calls, the discoveries they wait for, every
/// deadline, the local handlers and the lifecycle. Synchronous, no clock (instants come in as
/// `now:`), no I/O. Every method returns what the actor must do.
///
/// Pending calls live in a slot table (an array with a free list threaded through free slots);
/// a call's ``RPCCallID`` is its slot plus a generation, so lookups by ID are an array index and
/// a stale ID never matches a newer call in the same slot.
struct RPCHandlerCore: Sendable {
    /// "No deadline" for a call without an overall timeout.
    static let never = Duration.seconds(Int64.max)

    /// Something that happened to a call while its caller was busy sending; the caller acts on
    /// it when its send returns.
    enum Interruption: UInt8, Sendable {
        /// The attempt's deadline passed.
        case attemptFailed
        /// The reply arrived (kept in `storedReplies`).
        case replied
        /// The handler shut down.
        case shutdown
        /// `run()` ended.
        case stopped
    }

    enum Phase: Sendable, Hashable {
        /// The slot holds no call; `next` is the next free slot, or -1.
        case free(next: Int32)
        /// Waiting (suspended) for the discovery with this ID.
        case discovering(UInt32)
        /// The caller's task is running the transport's `send` (not suspended on the handler).
        case sending(Interruption?)
        /// The caller is suspended until the reply, the attempt's deadline or the end.
        case awaitingReply
    }

    /// One slot of the call table. Kept small: every pending call costs one.
    struct Call: Sendable {
        var generation: UInt32
        /// The provider of the attempt in flight (an index into `providers`), or -1.
        var current: Int32 = -1
        /// Providers tried so far, the one in flight included.
        var attempts: UInt16 = 0
        var maximumAttempts: UInt16 = 0
        var strategy: RPCProviderStrategy = .first
        var phase: Phase
        var providers: [ServiceProvider] = []
        /// Providers excluded after a timeout or a failed send (indices into `providers`).
        var excluded: [Int32] = []
        /// The timeout of each attempt.
        var timeout: Duration = .zero
        /// The overall deadline, or `never`.
        var overallDeadline: Duration = RPCHandlerCore.never
        /// The suspended caller, while it waits for its discovery or its reply.
        var waiter: Waiter<RPCStep>?
    }

    /// Why a call left the table: one byte in the core, a ``RemovalReason`` in metrics.
    enum Removal: UInt8, Sendable, CaseIterable {
        case replied, timedOut, callFailed, callerCancelled, shutdown, stopped

        var reason: RemovalReason {
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

    /// A resumption the actor performs: `removal` is why the entry left, nil when it stays.
    struct Resume: Sendable {
        var id: RPCCallID
        /// The suspended caller; nil only if it never suspended (then it counts as cancelled).
        var waiter: Waiter<RPCStep>?
        var step: RPCStep
        var removal: Removal?
    }

    /// A discovery the actor must start in `run()`'s task group.
    struct DiscoveryStart: Sendable {
        var id: UInt32
        var service: String
    }

    /// Everything a deadline pass, a discovery result or the end of `run()` asks of the actor.
    struct Effects: Sendable {
        var resumes: [Resume] = []
        /// Discoveries nobody waits for any more: abort each.
        var aborts: [UInt32] = []
        var starts: [DiscoveryStart] = []
        var attemptTimeouts = 0
        var failovers = 0
        /// Entries (calls and discoveries) that left the handler.
        var removed = 0
        /// Whether a deadline earlier than the loop's next wake-up was set.
        var wakeLoop = false
    }

    /// Local calls work in every state but `shutDown`; remote calls are accepted before `run()`
    /// starts (their deadlines wait for it) and while it runs, refused once it has stopped.
    private(set) var lifecycle = RunLifecycle.notStarted
    var overdueBeforeRun = OverdueBeforeRun()
    var budget: MemoryBudget
    let maximumLocalProcedures: Int
    private(set) var localHandlers: [String: RPCLocalHandler] = [:]

    /// The call table; `freeHead` is the first free slot or -1.
    var calls: [Call] = []
    private var freeHead: Int32 = -1
    private var nextGeneration: UInt32 = 1
    /// Live calls.
    private(set) var callCount = 0
    /// Every deadline of the handler: one per call (its discovery, attempt or overall deadline,
    /// whichever comes first), keyed by the call ID's raw value.
    var deadlines = DeadlineHeap<UInt64, Duration>()
    /// The instant `run()`'s loop sleeps towards (the next deadline it was given), or nil when it
    /// waits for a signal. A new deadline earlier than this one must wake it.
    var loopWakeAt: Duration?
    /// Replies that arrived while their caller was still sending.
    var storedReplies: [UInt64: RPCReply.Outcome] = [:]

    var discoveries: [UInt32: Discovery] = [:]
    var discoveryByService: [String: UInt32] = [:]
    var discoveriesToStart: [UInt32] = []
    var nextDiscoveryID: UInt32 = 0

    var random: SplitMix64
    var roundRobin: [String: UInt32] = [:]

    init(configuration: RPCHandlerConfiguration) throws(ConfigurationError) {
        try configuration.validate()
        budget = try MemoryBudget(baseLimit: configuration.maximumPendingCalls, field: "maximumPendingCalls")
        maximumLocalProcedures = configuration.maximumLocalProcedures
        var system = SystemRandomNumberGenerator()
        random = SplitMix64(seed: configuration.randomSeed ?? system.next())
    }

    /// Pending calls plus pending discoveries: the memory contract's size.
    var size: Int { callCount + discoveries.count }

    /// The earliest deadline, as a duration, for the one-time warning about calls waiting for a
    /// `run()` that has not started.
    var earliestDeadline: Duration? { deadlines.first?.deadline }

    /// Whether calls wait for a `run()` that has not started yet.
    var awaitsRun: Bool {
        guard case .notStarted = lifecycle else { return false }
        return callCount > 0
    }

    /// Whether calls accepted before `run()` started are past their deadline at `now`.
    /// - Returns: how far past its deadline the oldest is, when the one-time warning is due.
    /// - Complexity: O(1).
    mutating func checkOverdueBeforeRun(now: Duration) -> Duration? {
        overdueBeforeRun.check(lifecycle, earliestDeadline: earliestDeadline, now: now)
    }

    // MARK: Lifecycle

    enum RunStartAction: Sendable, Hashable {
        /// It runs; `overdueBy` when calls accepted before it are past their deadline (warn once).
        case started(overdueBy: Duration?)
        case alreadyRunning, shutDown
    }

    /// `run()` starts at `now`. - Complexity: O(1).
    mutating func runStarted(now: Duration) -> RunStartAction {
        let overdue = checkOverdueBeforeRun(now: now)
        switch lifecycle.start() {
        case .started: return .started(overdueBy: overdue)
        case .alreadyRunning: return .alreadyRunning
        case .shutDown: return .shutDown
        }
    }

    /// `run()` ended: every pending call fails with `notRunning`, every discovery is dropped.
    /// - Complexity: O(table size).
    mutating func runEnded() -> Effects {
        guard lifecycle.end() else { return Effects() }
        return endEverything(.stopped)
    }

    /// Fails every pending call with `shutdown`; from now on everything is refused.
    /// - Complexity: O(table size).
    mutating func shutdown() -> Effects {
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

    // MARK: Local handlers

    enum RegisterAction: Sendable, Hashable { case registered, replaced, rejectedAtLimit(Int), shutDown }

    /// Registers (or replaces) the local handler of `procedure`.
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

    /// Removes the local handler of `procedure`; a no-op for an unknown one.
    /// - Complexity: O(1).
    mutating func unregister(_ procedure: String) -> Bool {
        localHandlers.removeValue(forKey: procedure) != nil
    }

    enum LocalCallAction: Sendable { case run(RPCLocalHandler), remote, shutDown }

    /// Whether `procedure` runs locally.
    /// - Complexity: O(1).
    func localCallStarted(_ procedure: String) -> LocalCallAction {
        if case .shutDown = lifecycle { return .shutDown }
        guard !localHandlers.isEmpty else { return .remote }  // the common case: no hashing
        return localHandlers[procedure].map { .run($0) } ?? .remote
    }

    // MARK: Table

    /// The slot of `id` when it names a live call.
    /// - Complexity: O(1).
    func liveSlot(_ id: RPCCallID) -> Int? {
        let slot = id.slot
        guard slot < calls.count, calls[slot].generation == id.generation else { return nil }
        if case .free = calls[slot].phase { return nil }
        return slot
    }

    /// The attempt `id`'s call is on: its provider and number; nil when the call is not live or
    /// has not started an attempt (it waits for a discovery).
    /// - Complexity: O(1).
    func attempt(of id: RPCCallID) -> RPCAttempt? {
        guard let slot = liveSlot(id), calls[slot].current >= 0 else { return nil }
        let call = calls[slot]
        return RPCAttempt(provider: call.providers[Int(call.current)], number: Int(call.attempts))
    }

    /// The phase of `id`'s call, nil when it is not live (for tests).
    func phase(of id: RPCCallID) -> Phase? {
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

    /// Records that `id`'s caller suspends on `waiter`. - Complexity: O(1).
    mutating func park(_ id: RPCCallID, _ waiter: Waiter<RPCStep>) {
        guard let slot = liveSlot(id) else { return }
        calls[slot].waiter = waiter
    }

    /// Whether `id`'s caller is suspended (waiting for its discovery or its reply).
    /// - Complexity: O(1).
    func isParked(_ id: RPCCallID) -> Bool {
        guard let slot = liveSlot(id), calls[slot].waiter != nil else { return false }
        switch calls[slot].phase {
        case .discovering, .awaitingReply: return true
        case .free, .sending: return false
        }
    }

    /// Takes the waiter of the call in `slot` (the caller is resumed once).
    mutating func takeWaiter(_ slot: Int) -> Waiter<RPCStep>? {
        defer { calls[slot].waiter = nil }
        return calls[slot].waiter
    }

    /// Frees the slot of a call (its deadline and stored reply too).
    mutating func remove(_ slot: Int, _ id: RPCCallID) {
        deadlines.remove(id.rawValue)
        if case .sending(.replied) = calls[slot].phase { storedReplies.removeValue(forKey: id.rawValue) }
        release(slot)
    }

    /// Frees `slot`. An empty table gives its memory back when it had grown large.
    mutating func release(_ slot: Int) {
        calls[slot] = Call(generation: calls[slot].generation, phase: .free(next: freeHead))
        freeHead = Int32(truncatingIfNeeded: slot)
        callCount -= 1
        if callCount == 0 {
            calls.removeAll(keepingCapacity: calls.capacity < 1024)
            freeHead = -1
        }
    }

    /// Sets `id`'s deadline.
    /// - Returns: whether it is earlier than the instant the loop sleeps towards (the loop must
    ///   wake and sleep again towards it).
    /// - Complexity: O(log n).
    mutating func schedule(_ id: RPCCallID, at deadline: Duration) -> Bool {
        deadlines.set(id.rawValue, deadline: deadline)
        guard loopWakeAt.map({ deadline < $0 }) ?? true else { return false }
        loopWakeAt = deadline
        return true
    }

    static func result(of outcome: RPCReply.Outcome) -> Result<[UInt8], RPCError> {
        switch outcome {
        case .success(let bytes): .success(bytes)
        case .failure(let message): .failure(.procedureFailed("", message: message))
        }
    }
}
