import MaculaMemory
import MaculaMesh

// The reference model the randomized test compares `AdvertisementManagerCore` with, and the
// comparable form of the actions both return.

/// One action in a form both the core and the model produce: `text` names the action and its
/// payload (advertisements, attempt numbers, delays); `wake` says whether the run loop is woken.
package struct AdModelAction: Equatable, CustomStringConvertible {
    package enum Wake: Equatable, CustomStringConvertible {
        /// The action carries no wake-up signal.
        case notApplicable
        case yes
        case no
        /// The documentation allows both (see ``AdvertisementReferenceModel/wake(at:before:after:)``).
        case either
        /// A signal that is not the running loop's (only the core produces this, and it is wrong).
        case foreign

        package var description: String {
            switch self {
            case .notApplicable: "-"
            case .yes: "wake"
            case .no: "no wake"
            case .either: "wake or not"
            case .foreign: "foreign signal"
            }
        }
    }

    var text: String
    var wake: Wake = .notApplicable

    /// Whether `real` (the core's action) is what this expected action allows.
    func allows(_ real: AdModelAction) -> Bool {
        guard text == real.text else { return false }
        if wake == .either { return real.wake == .yes || real.wake == .no }
        return wake == real.wake
    }

    package var description: String { wake == .notApplicable ? text : "\(text) [\(wake)]" }

    /// `svc-1@me/300 seconds`: an advertisement in actions and diffs.
    static func name(_ advertisement: ServiceAdvertisement) -> String {
        "\(advertisement.service)@\(advertisement.provider.nodeID)/\(advertisement.ttl)"
    }
}

/// An error a publish task reports, named so that the actions can be compared.
package struct ModelOutage: Error, CustomStringConvertible {
    var tag: Int
    package var description: String { "outage-\(tag)" }
}

/// The reference model, written from the documentation of `AdvertisementManagerCore` and
/// `AdvertisementManager` rather than from the code: one dictionary of records, each holding its
/// own deadlines as plain numbers (milliseconds since the clock's origin), the earliest deadline
/// found by scanning everything, and the limit computed as `max(1, ⌊base × scale⌋)`.
///
/// Attempt IDs are the core's: a new attempt has `id == nil` until the test reads the ID from the
/// core's publish action (both start the same publishes in the same step, or the step fails).
package struct AdvertisementReferenceModel {
    struct Intervals {
        var cleanup: Int
        var reAdvertise: Int
        var publishTimeout: Int
        var retryDelay: Int
    }

    struct Attempt {
        var id: UInt64?
        /// When the attempt times out; nil once it has, or once a changed advertisement
        /// superseded it.
        var timeoutAt: Int?
        /// The timeout passed: the end counts as a failure whatever the task reports.
        var timedOut = false
        /// A changed advertisement replaced the one being published: the end publishes again at
        /// once, whatever the task reports.
        var superseded = false
    }

    struct Record {
        var advertisement: ServiceAdvertisement
        /// When the next refresh and publish happen ("how long after each (re-)advertisement").
        var reAdvertiseAt: Int
        /// The publish in flight, if any (at most one per service).
        var attempt: Attempt?
        /// Consecutive failed publishes, for the back-off.
        var failures = 0
    }

    enum Deadline: Hashable {
        case cleanup
        case reAdvertise(String)
        case publishTimeout(String)
    }

    enum Outcome {
        case published
        case failed(ModelOutage)
        case interrupted
    }

    let intervals: Intervals
    let maximumTTL: Duration
    var running = false
    var cleanupAt: Int?
    var records: [String: Record] = [:]
    /// The publishes still running for services that were unadvertised meanwhile: an
    /// advertisement of the service takes one over instead of starting a second publish.
    var unowned: [String: Attempt] = [:]
    var baseLimit: Int
    var scalePPM = 1_000_000
    var highWaterMark = 0

    init(intervals: Intervals, maximumAdvertisements: Int, maximumTTL: Duration) {
        self.intervals = intervals
        self.baseLimit = maximumAdvertisements
        self.maximumTTL = maximumTTL
    }

    // MARK: Derived

    var limit: Int { max(1, baseLimit * scalePPM / 1_000_000) }

    var deadlines: [(id: Deadline, at: Int)] {
        var all: [(id: Deadline, at: Int)] = cleanupAt.map { [(.cleanup, $0)] } ?? []
        for (service, record) in records {
            all.append((.reAdvertise(service), record.reAdvertiseAt))
            if let timeout = record.attempt?.timeoutAt { all.append((.publishTimeout(service), timeout)) }
        }
        return all
    }

    var earliest: Int? { deadlines.map(\.at).min() }

    var usage: MemoryUsage {
        MemoryUsage(
            size: records.count,
            effectiveLimit: limit,
            baseLimit: baseLimit,
            pressureScale: Double(scalePPM) / 1_000_000,
            highWaterMark: max(highWaterMark, records.count)
        )
    }

    /// `publishRetryDelay × 2^(failures − 1)`, at most `reAdvertiseInterval`.
    func retryDelay(afterFailures failures: Int) -> Int {
        let exponent = failures - 1
        if exponent >= 40 { return intervals.reAdvertise }
        return min(intervals.retryDelay << exponent, intervals.reAdvertise)
    }

    /// Whether setting a deadline at `deadline` wakes the loop: only while running, and only when
    /// the loop sleeps towards a later deadline (or none), i.e. when `deadline` is earlier than
    /// every deadline held before it was set. When the same operation also dropped a deadline
    /// (the publish timeout of the attempt it ends or supersedes), the documentation does not say
    /// whether that one still counts: `before` includes it, `after` does not, and when the two
    /// answers differ either is accepted (the loop is then due anyway, so no wake-up is missed).
    func wake(at deadline: Int, before: Int?, after: Int?) -> AdModelAction.Wake {
        guard running else { return .no }
        let wakes = { (earliest: Int?) in earliest.map { deadline < $0 } ?? true }
        if wakes(before) == wakes(after) { return wakes(after) ? .yes : .no }
        return .either
    }

    /// Moves `service`'s re-advertisement earlier only (a retry never postpones the regular one).
    mutating func reAdvertiseNoLaterThan(_ service: String, at deadline: Int, before: Int?) -> AdModelAction.Wake {
        guard deadline < records[service]!.reAdvertiseAt else { return .no }
        let wake = wake(at: deadline, before: before, after: earliest)
        records[service]!.reAdvertiseAt = deadline
        return wake
    }

    // MARK: Operations

    /// A TTL must be longer than the re-advertise interval and at most ten years; a new service
    /// is refused when the manager keeps as many as its effective limit.
    func admit(_ service: String, ttl: Duration) -> AdModelAction {
        guard ttl > .milliseconds(intervals.reAdvertise), ttl <= maximumTTL else { return AdModelAction(text: "invalidTTL") }
        if records[service] == nil, records.count >= limit { return AdModelAction(text: "rejectedAtLimit(\(limit))") }
        return AdModelAction(text: "admitted")
    }

    /// A new or changed advertisement is published at once (the re-advertisement is due now);
    /// a changed one cancels the publish in flight, which then ends as superseded. The same
    /// advertisement again keeps its schedule.
    mutating func advertised(_ advertisement: ServiceAdvertisement, now: Int) -> AdModelAction {
        let service = advertisement.service
        if records[service]?.advertisement == advertisement { return AdModelAction(text: "unchanged") }
        let before = earliest
        var abort = "none"
        if var record = records[service] {
            record.advertisement = advertisement
            record.failures = 0
            if var attempt = record.attempt {
                abort = "#\(attempt.id ?? 0)"
                attempt.timeoutAt = nil
                attempt.superseded = true
                record.attempt = attempt
            }
            records[service] = record
            let wake = wake(at: now, before: before, after: earliest)
            records[service]!.reAdvertiseAt = now
            return AdModelAction(text: "scheduled(abort: \(abort))", wake: wake)
        }
        let wake = wake(at: now, before: before, after: before)
        var record = Record(advertisement: advertisement, reAdvertiseAt: now)
        if let running = unowned.removeValue(forKey: service) {
            // At most one publish per service: the new advertisement waits for the running one,
            // which ends as superseded.
            record.attempt = Attempt(id: running.id, timeoutAt: nil, timedOut: false, superseded: true)
        }
        records[service] = record
        highWaterMark = max(highWaterMark, records.count)
        return AdModelAction(text: "scheduled(abort: none)", wake: wake)
    }

    /// Forgets the service at once, with its deadlines; its publish in flight is cancelled, and
    /// kept until its task reports back.
    mutating func unadvertised(_ service: String) -> AdModelAction {
        guard let record = records.removeValue(forKey: service) else { return AdModelAction(text: "unknown") }
        if let attempt = record.attempt { unowned[service] = attempt }
        let abort = record.attempt.map { "#\($0.id ?? 0)" } ?? "none"
        return AdModelAction(text: "removed(\(AdModelAction.name(record.advertisement)), abort: \(abort))")
    }

    /// The first cleanup is one interval after `run()` starts.
    mutating func runStarted(now: Int) -> AdModelAction {
        guard !running else { return AdModelAction(text: "alreadyRunning") }
        running = true
        cleanupAt = now + intervals.cleanup
        return AdModelAction(text: "started")
    }

    /// No cleanup while idle; an attempt that never reported back is forgotten and its service
    /// published again as soon as `run()` runs.
    mutating func runEnded(now: Int) {
        running = false
        cleanupAt = nil
        unowned = [:]
        for service in records.keys where records[service]!.attempt != nil {
            records[service]!.attempt = nil
            records[service]!.reAdvertiseAt = now
        }
    }

    /// Every deadline at or before `now`, each with the instant it was due. The cleanup and the
    /// re-advertisements are rescheduled from `now` (one pass, not one per missed interval).
    mutating func deadlinesPassed(now: Int) -> (actions: [(at: Int, action: AdModelAction)], next: Int?) {
        var actions: [(at: Int, action: AdModelAction)] = []
        for (id, at) in deadlines.filter({ $0.at <= now }).sorted(by: { $0.at < $1.at }) {
            switch id {
            case .cleanup:
                cleanupAt = now + intervals.cleanup
                actions.append((at, AdModelAction(text: "cleanup")))
            case .reAdvertise(let service):
                var record = records[service]!
                record.reAdvertiseAt = now + intervals.reAdvertise
                let name = AdModelAction.name(record.advertisement)
                if record.attempt != nil {
                    actions.append((at, AdModelAction(text: "refresh(\(name))")))
                } else {
                    record.attempt = Attempt(id: nil, timeoutAt: now + intervals.publishTimeout)
                    actions.append((at, AdModelAction(text: "publish(\(name))")))
                }
                records[service] = record
            case .publishTimeout(let service):
                var attempt = records[service]!.attempt!
                attempt.timeoutAt = nil
                attempt.timedOut = true
                records[service]!.attempt = attempt
                let name = AdModelAction.name(records[service]!.advertisement)
                actions.append((at, AdModelAction(text: "abortTimedOut(\(name), abort: #\(attempt.id ?? 0))")))
            }
        }
        return (actions, earliest)
    }

    /// The task of attempt `id` reported back. Only the service's current attempt counts.
    mutating func publishFinished(_ service: String, attempt id: UInt64, outcome: Outcome, now: Int) -> AdModelAction {
        guard var record = records[service], let attempt = record.attempt, attempt.id == id else {
            if unowned[service]?.id == id { unowned[service] = nil }
            return AdModelAction(text: "stale")
        }
        let before = earliest
        record.attempt = nil
        let name = AdModelAction.name(record.advertisement)
        if attempt.superseded {
            records[service] = record
            return AdModelAction(text: "republish", wake: reAdvertiseNoLaterThan(service, at: now, before: before))
        }
        if attempt.timedOut {
            record.failures += 1
            records[service] = record
            let delay = retryDelay(afterFailures: record.failures)
            let wake = reAdvertiseNoLaterThan(service, at: now + delay, before: before)
            return AdModelAction(text: "timedOutRetry(retryIn: \(Duration.milliseconds(delay)))", wake: wake)
        }
        switch outcome {
        case .published:
            record.failures = 0
            records[service] = record
            return AdModelAction(text: "published(\(name))")
        case .interrupted:
            records[service] = record
            return AdModelAction(text: "republish", wake: reAdvertiseNoLaterThan(service, at: now, before: before))
        case .failed(let error):
            record.failures += 1
            records[service] = record
            let delay = retryDelay(afterFailures: record.failures)
            let wake = reAdvertiseNoLaterThan(service, at: now + delay, before: before)
            return AdModelAction(
                text: "failed(\(name), error: \(error), failures: \(record.failures), retryIn: \(Duration.milliseconds(delay)))",
                wake: wake
            )
        }
    }

    /// A limit below 1 is refused and changes nothing; advertisements are never evicted.
    mutating func setLimit(_ limit: Int) -> AdModelAction {
        guard limit >= 1 else { return AdModelAction(text: "threw(maximumAdvertisements)") }
        baseLimit = limit
        return AdModelAction(text: "ok")
    }

    /// The scale is clamped into (0, 1] in millionths: 0 or less is one millionth, NaN or more
    /// than 1 is 1.
    mutating func setPressureScale(_ scale: Double) {
        if scale.isNaN || scale >= 1 {
            scalePPM = 1_000_000
        } else {
            scalePPM = max(1, Int((scale * 1_000_000).rounded()))
        }
    }
}
