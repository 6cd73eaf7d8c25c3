/// The pure state of an ``AdvertisementManager``: the advertisements it keeps alive, their
/// publication state, and every deadline (the cleanup tick, each service's next re-advertisement,
/// each running publish's timeout) in one heap.
///
/// Invariants:
/// - every record has exactly one `.reAdvertise` deadline; a record is `.publishing` exactly when
///   it has a `.publishTimeout` deadline or its attempt timed out or was superseded; at most one
///   attempt per service is in flight (a new one starts only when the previous attempt's task has
///   reported back), across withdrawals too: the running attempt of a withdrawn service is
///   kept in `unowned` until its task reports back, and advertising the service again adopts it;
/// - `.cleanup` is in the heap exactly while `run()` runs.
struct AdvertisementManagerCore: Sendable {
    typealias Instant = Duration

    enum DeadlineID: Hashable, Sendable {
        case cleanup
        case reAdvertise(String)
        case publishTimeout(String)
    }

    /// A publish in flight.
    struct Attempt: Sendable {
        /// The attempt's ID; the actor aborts the publish by it (timeout, superseded, withdrawn).
        let id: UInt64
        /// Whether the timeout passed; the attempt's end then counts as a failure.
        var timedOut = false
        /// Whether `advertise` changed the advertisement while this attempt ran; its end then
        /// schedules a publish of the new one at once, whatever it reported.
        var superseded = false
    }

    enum Publication: Sendable {
        /// No publish in flight; the next happens at the `.reAdvertise` deadline. → publishing
        case idle
        /// A publish task is running. → idle when it reports back
        case publishing(Attempt)
    }

    struct Record: Sendable {
        var advertisement: ServiceAdvertisement
        var publication: Publication = .idle
        /// Consecutive failed publishes, for the back-off.
        var failures = 0
    }

    /// How a publish ended, as the publishing task saw it.
    enum PublishOutcome: Sendable {
        case published
        case failed(any Error)
        /// Cancelled: aborted by the actor, or by the task's cancellation.
        case interrupted
    }

    enum AdmitAction: Hashable, Sendable {
        case admitted
        case rejectedAtLimit(limit: Int)
        case invalidTTL
    }

    enum AdvertisedAction: Sendable {
        /// The same advertisement was already kept: nothing to schedule.
        case unchanged
        /// Scheduled for publication now: wake the loop (when `wakeLoop`) so `run()` sees the
        /// earlier deadline, and abort attempt `abort` (when set), the superseded advertisement's.
        case scheduled(wakeLoop: Bool, abort: UInt64?)
    }

    enum WithdrawnAction: Sendable {
        /// The service was not kept (a no-op).
        case unknown
        /// Forgotten; abort attempt `abort` (when set), its running publish.
        case removed(ServiceAdvertisement, abort: UInt64?)
    }

    enum RunStartedAction: Sendable {
        case started
        case alreadyRunning
    }

    /// What `run()` does for the deadlines that passed.
    enum TickAction: Sendable {
        /// Prune the registry.
        case cleanup
        /// Refresh the local TTL; a publish of this advertisement is already in flight.
        case refresh(ServiceAdvertisement)
        /// Refresh the local TTL and start a publish task for `attempt`.
        case refreshAndPublish(ServiceAdvertisement, attempt: UInt64)
        /// The publish of this advertisement (attempt `attempt`) timed out: abort it.
        case abortTimedOut(ServiceAdvertisement, attempt: UInt64)
    }

    enum PublishFinishedAction: Sendable {
        /// The attempt is not current (its service was withdrawn or re-advertised): ignore.
        case stale
        case published(ServiceAdvertisement)
        /// The publish threw; the next attempt is in `retryIn`.
        case failed(ServiceAdvertisement, error: any Error, failures: Int, retryIn: Duration, wakeLoop: Bool)
        /// The attempt ended after its timeout (already logged); the next attempt is in `retryIn`.
        case timedOutRetry(retryIn: Duration, wakeLoop: Bool)
        /// The attempt was cancelled without failing: publish again as soon as `run()` runs.
        case republish(wakeLoop: Bool)
    }

    let configuration: AdvertisementManagerConfiguration
    private(set) var lifecycle = RunLifecycle.notStarted
    private(set) var records: [String: Record] = [:]
    /// The attempts still running for services that were withdrawn meanwhile (already told to
    /// abort), by service: one per service at most, each gone when its task reports back. An
    /// advertisement of the service takes its attempt over, so that no second publish starts
    /// while a task that ignores cancellation still runs.
    private(set) var unowned: [String: Attempt] = [:]
    private(set) var deadlines = DeadlineHeap<DeadlineID, Instant>()
    private(set) var budget: MemoryBudget
    private var nextAttemptID: UInt64 = 0

    init(configuration: AdvertisementManagerConfiguration) throws(ConfigurationError) {
        try configuration.validate()
        self.configuration = configuration
        self.budget = try MemoryBudget(baseLimit: configuration.maximumAdvertisements, field: "maximumAdvertisements")
    }

    // MARK: Advertising

    /// Whether `service` may be advertised with `ttl`. Changes nothing.
    /// - Complexity: O(1).
    func admit(_ service: String, ttl: Duration) -> AdmitAction {
        guard ttl > configuration.reAdvertiseInterval, ttl <= ConfigurationError.maximumDuration else {
            return .invalidTTL
        }
        if records[service] == nil, records.count >= budget.effectiveLimit {
            return .rejectedAtLimit(limit: budget.effectiveLimit)
        }
        return .admitted
    }

    /// Keeps `advertisement` alive from now on (the registry accepted it): a new or changed one is
    /// published at once (as soon as `run()` runs), an unchanged one keeps its schedule.
    /// - Complexity: O(log n).
    mutating func advertised(_ advertisement: ServiceAdvertisement, now: Instant) -> AdvertisedAction {
        let service = advertisement.service
        var abort: UInt64?
        if var record = records[service] {
            guard record.advertisement != advertisement else { return .unchanged }
            record.advertisement = advertisement
            record.failures = 0
            if case .publishing(let attempt) = record.publication {
                // The superseded publish is cancelled; its task reports `.interrupted`, which
                // schedules the new advertisement's publish (one attempt in flight per service).
                abort = attempt.id
                deadlines.remove(.publishTimeout(service))
                record.publication = .publishing(Attempt(id: attempt.id, timedOut: false, superseded: true))
            }
            records[service] = record
        } else {
            var record = Record(advertisement: advertisement)
            if let attempt = unowned.removeValue(forKey: service) {
                // The attempt of an earlier advertisement still runs (it was told to abort):
                // when it reports back, the new advertisement is published at once.
                record.publication = .publishing(Attempt(id: attempt.id, timedOut: false, superseded: true))
            }
            records[service] = record
            budget.recordSize(records.count)
        }
        return .scheduled(wakeLoop: schedule(.reAdvertise(service), at: now), abort: abort)
    }

    /// Forgets `service`: no more refreshes or publishes. Its running publish, if any, is told to
    /// abort and kept (unowned) until its task reports back.
    /// - Complexity: O(log n).
    mutating func withdrawn(_ service: String) -> WithdrawnAction {
        guard let record = records.removeValue(forKey: service) else { return .unknown }
        deadlines.remove(.reAdvertise(service))
        deadlines.remove(.publishTimeout(service))
        var abort: UInt64?
        if case .publishing(let attempt) = record.publication {
            abort = attempt.id
            unowned[service] = attempt
        }
        return .removed(record.advertisement, abort: abort)
    }

    // MARK: run()

    /// `run()` starts at `now`: the first cleanup is one interval away.
    mutating func runStarted(now: Instant) -> RunStartedAction {
        switch lifecycle.start() {
        case .alreadyRunning, .shutDown:
            return .alreadyRunning
        case .started:
            deadlines.set(.cleanup, deadline: now + configuration.cleanupInterval)
            return .started
        }
    }

    /// `run()` ended (its task group has drained, so every attempt has reported back).
    mutating func runEnded(now: Instant) {
        _ = lifecycle.end()
        deadlines.remove(.cleanup)
        // Unreachable when every attempt reported back, as the unowned ones did too.
        unowned.removeAll()
        for (service, record) in records {
            guard case .publishing = record.publication else { continue }
            // Unreachable when every attempt reported back; kept so a next `run()` publishes.
            records[service]?.publication = .idle
            deadlines.remove(.publishTimeout(service))
            deadlines.set(.reAdvertise(service), deadline: now)
        }
    }

    /// Handles every deadline at or before `now`.
    /// - Returns: the actions to carry out, and the next deadline.
    /// - Complexity: O(k log n) for k deadlines handled.
    mutating func deadlinesPassed(now: Instant) -> (actions: [TickAction], next: Instant?) {
        var actions: [TickAction] = []
        for (id, _) in deadlines.popDue(at: now) {
            switch id {
            case .cleanup:
                actions.append(.cleanup)
                deadlines.set(.cleanup, deadline: now + configuration.cleanupInterval)
            case .reAdvertise(let service):
                guard var record = records[service] else { continue }
                deadlines.set(.reAdvertise(service), deadline: now + configuration.reAdvertiseInterval)
                switch record.publication {
                case .publishing:
                    actions.append(.refresh(record.advertisement))
                case .idle:
                    nextAttemptID &+= 1
                    record.publication = .publishing(Attempt(id: nextAttemptID))
                    records[service] = record
                    deadlines.set(.publishTimeout(service), deadline: now + configuration.publishTimeout)
                    actions.append(.refreshAndPublish(record.advertisement, attempt: nextAttemptID))
                }
            case .publishTimeout(let service):
                guard var record = records[service], case .publishing(var attempt) = record.publication else { continue }
                attempt.timedOut = true
                record.publication = .publishing(attempt)
                records[service] = record
                actions.append(.abortTimedOut(record.advertisement, attempt: attempt.id))
            }
        }
        return (actions, deadlines.first?.deadline)
    }

    /// The publish task of `attempt` for `service` reported `outcome`.
    /// - Complexity: O(log n).
    mutating func publishFinished(_ service: String, attempt id: UInt64, outcome: PublishOutcome, now: Instant) -> PublishFinishedAction {
        guard var record = records[service], case .publishing(let attempt) = record.publication, attempt.id == id else {
            if unowned[service]?.id == id { unowned.removeValue(forKey: service) }
            return .stale
        }
        record.publication = .idle
        deadlines.remove(.publishTimeout(service))
        let action: PublishFinishedAction
        if attempt.timedOut {
            // Ended after its timeout (already logged): a failure, whatever it reported.
            record.failures += 1
            let delay = retryDelay(afterFailures: record.failures)
            action = .timedOutRetry(retryIn: delay, wakeLoop: scheduleEarlier(.reAdvertise(service), at: now + delay))
        } else if attempt.superseded {
            action = .republish(wakeLoop: scheduleEarlier(.reAdvertise(service), at: now))
        } else {
            switch outcome {
            case .published:
                record.failures = 0
                action = .published(record.advertisement)
            case .interrupted:
                action = .republish(wakeLoop: scheduleEarlier(.reAdvertise(service), at: now))
            case .failed(let error):
                record.failures += 1
                let delay = retryDelay(afterFailures: record.failures)
                let wakeLoop = scheduleEarlier(.reAdvertise(service), at: now + delay)
                action = .failed(record.advertisement, error: error, failures: record.failures, retryIn: delay, wakeLoop: wakeLoop)
            }
        }
        records[service] = record
        return action
    }

    // MARK: Limits

    mutating func setLimit(_ limit: Int) throws(ConfigurationError) {
        try budget.setBaseLimit(limit, field: "maximumAdvertisements")
    }

    mutating func setPressureScale(_ scale: Double) {
        budget.setPressureScale(scale)
    }

    func usage() -> MemoryUsage { budget.usage(size: records.count) }

    // MARK: Helpers

    /// `publishRetryDelay × 2^(failures − 1)`, at most `reAdvertiseInterval`.
    func retryDelay(afterFailures failures: Int) -> Duration {
        var delay = configuration.publishRetryDelay
        var doublings = max(0, failures - 1)
        while doublings > 0, delay < configuration.reAdvertiseInterval {
            delay = delay * 2
            doublings -= 1
        }
        return min(delay, configuration.reAdvertiseInterval)
    }

    /// Sets a deadline. - Returns: whether `run()` runs and the deadline is now the earliest (its
    /// loop, sleeping towards a later one, must wake).
    private mutating func schedule(_ id: DeadlineID, at deadline: Instant) -> Bool {
        let earliest = deadlines.first?.deadline
        deadlines.set(id, deadline: deadline)
        guard lifecycle == .running else { return false }
        return earliest.map { deadline < $0 } ?? true
    }

    /// Moves a deadline earlier only (a retry never postpones the regular re-advertisement).
    private mutating func scheduleEarlier(_ id: DeadlineID, at deadline: Instant) -> Bool {
        if let current = deadlines.deadline(of: id), !(deadline < current) { return false }
        return schedule(id, at: deadline)
    }
}
