/// The state of an ``AdvertisementManager``: the advertisements it keeps, their publication state,
/// and every deadline in one heap. Invariants: every record has exactly one `.reAdvertise`
/// deadline; at most one publish attempt per service is in flight, across withdrawals too (a
/// withdrawn service's running attempt stays in `unowned` until it reports back); `.cleanup` is in
/// the heap exactly while `run()` runs.
package struct AdvertisementManagerCore: Sendable {
    package typealias Instant = Duration

    package enum DeadlineID: Hashable, Sendable {
        case cleanup
        case reAdvertise(String)
        case publishTimeout(String)
    }

    package struct Attempt: Sendable {
        /// The actor aborts the publish by this ID.
        package let id: UInt64
        /// Once the timeout passed, the attempt's end counts as a failure.
        package var timedOut = false
        /// Set when `advertise` changed the advertisement meanwhile: its end publishes the new one.
        package var superseded = false
    }

    package enum Publication: Sendable {
        case idle
        case publishing(Attempt)
    }

    package struct Record: Sendable {
        package var advertisement: ServiceAdvertisement
        package var publication: Publication = .idle
        package var failures = 0
    }

    package enum PublishOutcome: Sendable {
        case published
        case failed(any Error)
        /// Aborted by the actor, or by the task's cancellation.
        case interrupted
    }

    package enum AdmitAction: Hashable, Sendable {
        case admitted
        case rejectedAtLimit(limit: Int)
        case invalidTTL
    }

    package enum AdvertisedAction: Sendable {
        case unchanged
        /// Wake the loop when `wakeLoop`; abort the superseded attempt `abort` when set.
        case scheduled(wakeLoop: Bool, abort: UInt64?)
    }

    package enum WithdrawnAction: Sendable {
        case unknown
        /// Abort the running attempt `abort` when set.
        case removed(ServiceAdvertisement, abort: UInt64?)
    }

    package enum RunStartedAction: Sendable {
        case started
        case alreadyRunning
    }

    package enum TickAction: Sendable {
        case cleanup
        /// A publish of this advertisement is already in flight.
        case refresh(ServiceAdvertisement)
        case refreshAndPublish(ServiceAdvertisement, attempt: UInt64)
        case abortTimedOut(ServiceAdvertisement, attempt: UInt64)
    }

    package enum PublishFinishedAction: Sendable {
        /// The service was withdrawn or re-advertised meanwhile: ignore.
        case stale
        case published(ServiceAdvertisement)
        case failed(ServiceAdvertisement, error: any Error, failures: Int, retryIn: Duration, wakeLoop: Bool)
        /// Ended after its timeout (already logged).
        case timedOutRetry(retryIn: Duration, wakeLoop: Bool)
        /// Cancelled without failing: publish again as soon as `run()` runs.
        case republish(wakeLoop: Bool)
    }

    package let configuration: AdvertisementManagerConfiguration
    package private(set) var lifecycle = RunLifecycle.notStarted
    package private(set) var records: [String: Record] = [:]
    /// The still-running attempts of withdrawn services, by service; advertising the service again
    /// adopts its attempt, so no second publish starts beside a task that ignores cancellation.
    package private(set) var unowned: [String: Attempt] = [:]
    package private(set) var deadlines = DeadlineHeap<DeadlineID, Instant>()
    package private(set) var budget: MemoryBudget
    private var nextAttemptID: UInt64 = 0

    package init(configuration: AdvertisementManagerConfiguration) throws(ConfigurationError) {
        try configuration.validate()
        self.configuration = configuration
        self.budget = try MemoryBudget(baseLimit: configuration.maximumAdvertisements, field: "maximumAdvertisements")
    }

    /// Changes nothing. - Complexity: O(1).
    package func admit(_ service: String, ttl: Duration) -> AdmitAction {
        guard ttl > configuration.reAdvertiseInterval, ttl <= ConfigurationError.maximumDuration else {
            return .invalidTTL
        }
        if records[service] == nil, records.count >= budget.effectiveLimit {
            return .rejectedAtLimit(limit: budget.effectiveLimit)
        }
        return .admitted
    }

    /// A new or changed advertisement is published as soon as `run()` runs; an unchanged one keeps
    /// its schedule. - Complexity: O(log n).
    package mutating func advertised(_ advertisement: ServiceAdvertisement, now: Instant) -> AdvertisedAction {
        let service = advertisement.service
        var abort: UInt64?
        if var record = records[service] {
            guard record.advertisement != advertisement else { return .unchanged }
            record.advertisement = advertisement
            record.failures = 0
            if case .publishing(let attempt) = record.publication {
                // Its task reports `.interrupted`, which schedules the new publish.
                abort = attempt.id
                deadlines.remove(.publishTimeout(service))
                record.publication = .publishing(Attempt(id: attempt.id, timedOut: false, superseded: true))
            }
            records[service] = record
        } else {
            var record = Record(advertisement: advertisement)
            if let attempt = unowned.removeValue(forKey: service) {
                // An earlier advertisement's attempt still runs: its end publishes the new one.
                record.publication = .publishing(Attempt(id: attempt.id, timedOut: false, superseded: true))
            }
            records[service] = record
            budget.recordSize(records.count)
        }
        return .scheduled(wakeLoop: schedule(.reAdvertise(service), at: now), abort: abort)
    }

    /// Its running publish, if any, is kept in `unowned` until it reports back. - Complexity: O(log n).
    package mutating func withdrawn(_ service: String) -> WithdrawnAction {
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

    /// The first cleanup is one interval away.
    package mutating func runStarted(now: Instant) -> RunStartedAction {
        switch lifecycle.start() {
        case .alreadyRunning, .shutDown:
            return .alreadyRunning
        case .started:
            deadlines.set(.cleanup, deadline: now + configuration.cleanupInterval)
            return .started
        }
    }

    /// Called once `run()`'s task group has drained, so every attempt has reported back.
    package mutating func runEnded(now: Instant) {
        _ = lifecycle.end()
        deadlines.remove(.cleanup)
        unowned.removeAll()
        for (service, record) in records {
            guard case .publishing = record.publication else { continue }
            // Kept so a next `run()` publishes.
            records[service]?.publication = .idle
            deadlines.remove(.publishTimeout(service))
            deadlines.set(.reAdvertise(service), deadline: now)
        }
    }

    /// - Returns: the actions to carry out, and the next deadline.
    /// - Complexity: O(k log n) for k deadlines handled.
    package mutating func deadlinesPassed(now: Instant) -> (actions: [TickAction], next: Instant?) {
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

    /// - Complexity: O(log n).
    package mutating func publishFinished(_ service: String, attempt id: UInt64, outcome: PublishOutcome, now: Instant) -> PublishFinishedAction {
        guard var record = records[service], case .publishing(let attempt) = record.publication, attempt.id == id else {
            if unowned[service]?.id == id { unowned.removeValue(forKey: service) }
            return .stale
        }
        record.publication = .idle
        deadlines.remove(.publishTimeout(service))
        let action: PublishFinishedAction
        if attempt.timedOut {
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

    package mutating func setLimit(_ limit: Int) throws(ConfigurationError) {
        try budget.setBaseLimit(limit, field: "maximumAdvertisements")
    }

    package mutating func setPressureScale(_ scale: Double) {
        budget.setPressureScale(scale)
    }

    package func usage() -> MemoryUsage { budget.usage(size: records.count) }

    /// `publishRetryDelay × 2^(failures − 1)`, at most `reAdvertiseInterval`.
    package func retryDelay(afterFailures failures: Int) -> Duration {
        var delay = configuration.publishRetryDelay
        var doublings = max(0, failures - 1)
        while doublings > 0, delay < configuration.reAdvertiseInterval {
            delay = delay * 2
            doublings -= 1
        }
        return min(delay, configuration.reAdvertiseInterval)
    }

    /// - Returns: whether `run()` runs and the deadline is now the earliest, so its loop must wake.
    private mutating func schedule(_ id: DeadlineID, at deadline: Instant) -> Bool {
        let earliest = deadlines.first?.deadline
        deadlines.set(id, deadline: deadline)
        guard lifecycle == .running else { return false }
        return earliest.map { deadline < $0 } ?? true
    }

    /// Moves a deadline earlier only: a retry never postpones the regular re-advertisement.
    private mutating func scheduleEarlier(_ id: DeadlineID, at deadline: Instant) -> Bool {
        if let current = deadlines.deadline(of: id), !(deadline < current) { return false }
        return schedule(id, at: deadline)
    }
}
