import MaculaMemory
import MaculaMesh

/// One run: the real core and the model side by side, the same random operations on both, and
/// what the actor would know about the core's publish tasks and run loop.
package struct AdvertisementModelRun {
    package typealias Core = AdvertisementManagerCore

    /// Where the choices come from: a seed (the model test) or a fuzzer's input.
    package var random: ModelRandom
    var core: Core
    var model: AdvertisementReferenceModel
    let defaultTTL: Duration
    /// Milliseconds since the clock's origin.
    var now = 0
    package var step = 0
    var operation = "start"
    /// The first difference found, with the step and operation after which it showed.
    package private(set) var failure: String?

    /// Every attempt's abort signal by ID (kept alive, so identities stay unique).
    /// Every attempt ID the core issued.
    var issued: Set<UInt64> = []
    /// Attempts whose task has not reported back yet, with their service.
    var inFlight: [UInt64: String] = [:]
    /// Attempts whose task reported back (or was dropped by `run()` ending), for stale reports.
    var finished: [UInt64] = []
    /// The running loop's signal, and what the loop would do now: sleep towards `loopTarget`
    /// (nil: until signalled) unless a signal is pending.
    var loopTarget: Int?
    var wakePending = false

    let services = (0..<7).map { "svc-\($0)" }
    let nodes = ["me", "me-moved", "me-elsewhere"]

    func provider(_ node: String) -> ServiceProvider {
        ServiceProvider(nodeID: node, address: "quic://\(node):4433")
    }

    package init(random choices: ModelRandom) throws {
        random = choices
        let reAdvertise = Int.random(in: 8...15, using: &random) * 1_000
        let intervals = AdvertisementReferenceModel.Intervals(
            cleanup: Int.random(in: 3...20, using: &random) * 1_000,
            reAdvertise: reAdvertise,
            // Sometimes longer than the re-advertise interval.
            publishTimeout: Int.random(in: 1...(reAdvertise / 1_000 + 4), using: &random) * 1_000,
            retryDelay: [500, 1_000, 1_500, 3_000][Int.random(in: 0...3, using: &random)]
        )
        let maximum = Int.random(in: 1...6, using: &random)
        defaultTTL = .milliseconds(reAdvertise + Int.random(in: 1...30, using: &random) * 1_000)
        var configuration = AdvertisementManagerConfiguration()
        configuration.cleanupInterval = .milliseconds(intervals.cleanup)
        configuration.reAdvertiseInterval = .milliseconds(intervals.reAdvertise)
        configuration.publishTimeout = .milliseconds(intervals.publishTimeout)
        configuration.publishRetryDelay = .milliseconds(intervals.retryDelay)
        configuration.advertisementTTL = defaultTTL
        configuration.maximumAdvertisements = maximum
        core = try Core(configuration: configuration)
        model = AdvertisementReferenceModel(
            intervals: intervals,
            maximumAdvertisements: maximum,
            maximumTTL: ConfigurationError.maximumDuration
        )
    }

    // MARK: Operations

    package mutating func randomOperation() {
        let roll = Int.random(in: 0..<100, using: &random)
        switch roll {
        case 0..<22: advertise()
        case 22..<29: unadvertise()
        case 29..<45: finishPublish()
        case 45..<48: reportStale()
        case 48..<60: advance()
        case 60..<73: advanceOntoDeadline()
        case 73..<86: tick()
        case 86..<89: setLimit()
        case 89..<92: setPressureScale()
        case 92..<97: runStarted()
        default: runEnded(drained: Int.random(in: 0..<8, using: &random) > 0)
        }
    }

    mutating func advertise() {
        let service = services.randomElement(using: &random)!
        let node = nodes.randomElement(using: &random)!
        let ttl = randomTTL()
        let advertisement = ServiceAdvertisement(service: service, provider: provider(node), ttl: ttl)
        operation = "advertise(\(AdModelAction.name(advertisement)))"
        var real = [describe(core.admit(service, ttl: ttl))]
        var expected = [model.admit(service, ttl: ttl)]
        if real[0].text == "admitted", expected[0].text == "admitted" {
            real.append(describe(core.advertised(advertisement, now: instant(now))))
            expected.append(model.advertised(advertisement, now: now))
        }
        compare(real, expected)
    }

    mutating func randomTTL() -> Duration {
        let reAdvertise = core.configuration.reAdvertiseInterval
        let maximum = ConfigurationError.maximumDuration
        switch Int.random(in: 0..<20, using: &random) {
        case 0: return reAdvertise // invalid: not longer
        case 1: return reAdvertise + .nanoseconds(1)
        case 2: return reAdvertise - .seconds(1)
        case 3: return maximum
        case 4: return maximum + .nanoseconds(1)
        case 5..<9: return reAdvertise + .seconds(Int.random(in: 1...60, using: &random))
        default: return defaultTTL
        }
    }

    mutating func unadvertise() {
        let service = services.randomElement(using: &random)!
        operation = "unadvertise(\(service))"
        // A running publish stays in flight: its task reports back later, stale unless the
        // service was advertised again meanwhile (which took the attempt over).
        compare([describe(core.withdrawn(service))], [model.unadvertised(service)])
    }

    mutating func finishPublish() {
        guard let id = inFlightInOrder().randomElement(using: &random) else { return tick() }
        let outcome: AdvertisementReferenceModel.Outcome
        switch Int.random(in: 0..<20, using: &random) {
        case 0..<9: outcome = .published
        case 9..<15: outcome = .failed(ModelOutage(tag: Int.random(in: 0...2, using: &random)))
        default: outcome = .interrupted
        }
        let actions = reportBack(id, outcome: outcome)
        compare([actions.real], [actions.expected])
    }

    /// The task of attempt `id` reports `outcome` to both.
    mutating func reportBack(_ id: UInt64, outcome: AdvertisementReferenceModel.Outcome) -> (real: AdModelAction, expected: AdModelAction) {
        let service = inFlight.removeValue(forKey: id)!
        finished.append(id)
        operation = "publishFinished(\(service), #\(id), \(outcome))"
        let realOutcome: Core.PublishOutcome
        switch outcome {
        case .published: realOutcome = .published
        case .interrupted: realOutcome = .interrupted
        case .failed(let error): realOutcome = .failed(error)
        }
        let real = describe(core.publishFinished(service, attempt: id, outcome: realOutcome, now: instant(now)))
        return (real, model.publishFinished(service, attempt: id, outcome: outcome, now: now))
    }

    /// A report from an attempt that is not current (it already reported, or was never issued).
    mutating func reportStale() {
        let id = finished.isEmpty || Bool.random(using: &random)
            ? UInt64.random(in: 1_000_000...1_000_010, using: &random)
            : finished.randomElement(using: &random)!
        let service = services.randomElement(using: &random)!
        operation = "publishFinished(\(service), #\(id), published) (not in flight)"
        let real = describe(core.publishFinished(service, attempt: id, outcome: .published, now: instant(now)))
        compare([real], [model.publishFinished(service, attempt: id, outcome: .published, now: now)])
    }

    mutating func advance() {
        switch Int.random(in: 0..<10, using: &random) {
        case 0: break
        case 1..<4: now += Int.random(in: 1...999, using: &random)
        default: now += Int.random(in: 1...(model.intervals.reAdvertise / 1_000), using: &random) * 1_000
        }
        operation = "advance(to: \(show(now)))"
    }

    /// Moves time exactly onto a deadline (or one millisecond before it), then lets the loop run.
    mutating func advanceOntoDeadline() {
        let future = Set(model.deadlines.map(\.at).filter { $0 > now }).sorted()
        guard let first = future.first else { return tick() }
        let target = Bool.random(using: &random) ? first : future.randomElement(using: &random)!
        now = Int.random(in: 0..<4, using: &random) == 0 ? max(now, target - 1) : target
        tick()
    }

    mutating func tick() {
        guard model.running else {
            operation = "advance(to: \(show(now))) while idle"
            return
        }
        operation = "deadlinesPassed(now: \(show(now)))"
        let (realActions, realNext) = core.deadlinesPassed(now: instant(now))
        let (expected, expectedNext) = model.deadlinesPassed(now: now)
        var real: [AdModelAction] = []
        for action in realActions {
            switch action {
            case .cleanup:
                real.append(AdModelAction(text: "cleanup"))
            case .refresh(let advertisement):
                real.append(AdModelAction(text: "refresh(\(AdModelAction.name(advertisement)))"))
            case .refreshAndPublish(let advertisement, let attempt):
                real.append(AdModelAction(text: "publish(\(AdModelAction.name(advertisement)))"))
                started(attempt, for: advertisement.service)
            case .abortTimedOut(let advertisement, let abort):
                real.append(AdModelAction(text: "abortTimedOut(\(AdModelAction.name(advertisement)), abort: \(name(abort)))"))
            }
        }
        // The loop has fired: it sleeps towards the next deadline until signalled again.
        wakePending = false
        loopTarget = realNext.map(milliseconds)
        compareTick(real, expected)
        if realNext != expectedNext.map(instant) {
            fail("next deadline \(show(realNext)), model \(show(expectedNext.map(instant)))")
        }
    }

    /// The attempts in flight by service, then age. Not by ID alone: the core numbers the
    /// attempts of one tick in the order of its heap, whose ties (after `runEnded`) follow the
    /// order of a dictionary, which changes from one process to the next; the run must replay.
    func inFlightInOrder() -> [UInt64] {
        inFlight.sorted { ($0.value, $0.key) < ($1.value, $1.key) }.map(\.key)
    }

    /// Records an attempt the core started and gives its ID to the model's new attempt.
    mutating func started(_ attempt: UInt64, for service: String) {
        if issued.contains(attempt) || finished.contains(attempt) {
            fail("attempt ID #\(attempt) was issued before")
        }
        issued.insert(attempt)
        // `ServicePublisher` promises at most one attempt per service while an earlier one's task
        // still runs, unadvertising and advertising it again included.
        if let running = inFlight.filter({ $0.value == service }).keys.min() {
            fail("started attempt #\(attempt) for \(service) while the task of attempt #\(running) had not reported back")
        }
        inFlight[attempt] = service
        if model.records[service]?.attempt.map({ $0.id == nil }) == true {
            model.records[service]!.attempt!.id = attempt
        }
    }

    mutating func setLimit() {
        let limit = Int.random(in: 0...7, using: &random)
        operation = "setLimit(\(limit))"
        let real: AdModelAction
        do {
            try core.setLimit(limit)
            real = AdModelAction(text: "ok")
        } catch {
            real = AdModelAction(text: "threw(\(error.field))")
        }
        compare([real], [model.setLimit(limit)])
    }

    mutating func setPressureScale() {
        let scale = [1, 0.9, 0.75, 0.5, 0.34, 0.2, 0.1, 0, -0.5, 1.5, .nan][Int.random(in: 0...10, using: &random)]
        operation = "setPressureScale(\(scale))"
        core.setPressureScale(scale)
        model.setPressureScale(scale)
    }

    mutating func runStarted() {
        operation = "runStarted"
        let real: AdModelAction
        switch core.runStarted(now: instant(now)) {
        case .alreadyRunning:
            real = AdModelAction(text: "alreadyRunning")
        case .started:
            real = AdModelAction(text: "started")
            // The loop fires once as soon as it starts.
            wakePending = true
            loopTarget = nil
        }
        compare([real], [model.runStarted(now: now)])
    }

    /// `run()` ends: its task group cancels every publish and awaits it, so each attempt reports
    /// back (most as interrupted, some having finished just before), then the core hears of the
    /// end. When not `drained`, the core is told before the reports (which its documentation
    /// calls unreachable), and the attempts are forgotten.
    mutating func runEnded(drained: Bool) {
        guard model.running else { return runStarted() }
        var real: [AdModelAction] = []
        var expected: [AdModelAction] = []
        if drained {
            for id in inFlightInOrder() {
                let outcome: AdvertisementReferenceModel.Outcome = switch Int.random(in: 0..<10, using: &random) {
                case 0: .published
                case 1: .failed(ModelOutage(tag: 9))
                default: .interrupted
                }
                let actions = reportBack(id, outcome: outcome)
                real.append(actions.real)
                expected.append(actions.expected)
            }
        } else {
            finished += inFlightInOrder()
            inFlight = [:]
        }
        operation = drained ? "run ended (after every attempt reported back)" : "run ended (attempts had not reported back)"
        core.runEnded(now: instant(now))
        model.runEnded(now: now)
        compare(real, expected)
    }
}

// How the randomized test puts the core's actions and state in comparable form, compares them
// with the model's, and reports a difference.

extension AdvertisementModelRun {
    func instant(_ milliseconds: Int) -> Duration { .milliseconds(milliseconds) }

    func milliseconds(_ instant: Duration) -> Int {
        let (seconds, attoseconds) = instant.components
        return Int(seconds) * 1_000 + Int(attoseconds / 1_000_000_000_000_000)
    }

    /// `12.345s`, and the nanoseconds beyond the millisecond when there are any.
    func show(_ instant: Duration?) -> String {
        guard let instant else { return "none" }
        let (seconds, attoseconds) = instant.components
        let milliseconds = attoseconds / 1_000_000_000_000_000
        let rest = (attoseconds % 1_000_000_000_000_000) / 1_000_000_000
        let fraction = String(milliseconds + 1_000).dropFirst()
        return "\(seconds).\(fraction)s" + (rest == 0 ? "" : "+\(rest)ns")
    }

    func show(_ milliseconds: Int) -> String { show(instant(milliseconds)) }

    func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16, uppercase: true) }

    /// An attempt to abort, by the attempt's ID ("foreign" when the core never issued it).
    func name(_ abort: UInt64?) -> String {
        guard let abort else { return "none" }
        return issued.contains(abort) ? "#\(abort)" : "foreign"
    }

    /// A wake-up of the loop; only a running loop may be woken.
    mutating func wake(_ wakeLoop: Bool) -> AdModelAction.Wake {
        guard wakeLoop else { return .no }
        guard core.lifecycle == .running else { return .foreign }
        wakePending = true
        return .yes
    }

    func describe(_ action: Core.AdmitAction) -> AdModelAction {
        switch action {
        case .admitted: AdModelAction(text: "admitted")
        case .invalidTTL: AdModelAction(text: "invalidTTL")
        case .rejectedAtLimit(let limit): AdModelAction(text: "rejectedAtLimit(\(limit))")
        }
    }

    mutating func describe(_ action: Core.AdvertisedAction) -> AdModelAction {
        switch action {
        case .unchanged: AdModelAction(text: "unchanged")
        case .scheduled(let wakeUp, let abort): AdModelAction(text: "scheduled(abort: \(name(abort)))", wake: wake(wakeUp))
        }
    }

    func describe(_ action: Core.WithdrawnAction) -> AdModelAction {
        switch action {
        case .unknown: AdModelAction(text: "unknown")
        case .removed(let advertisement, let abort): AdModelAction(text: "removed(\(AdModelAction.name(advertisement)), abort: \(name(abort)))")
        }
    }

    mutating func describe(_ action: Core.PublishFinishedAction) -> AdModelAction {
        switch action {
        case .stale:
            AdModelAction(text: "stale")
        case .published(let advertisement):
            AdModelAction(text: "published(\(AdModelAction.name(advertisement)))")
        case .failed(let advertisement, let error, let failures, let retryIn, let wakeUp):
            AdModelAction(
                text: "failed(\(AdModelAction.name(advertisement)), error: \(error), failures: \(failures), retryIn: \(retryIn))",
                wake: wake(wakeUp)
            )
        case .timedOutRetry(let retryIn, let wakeUp):
            AdModelAction(text: "timedOutRetry(retryIn: \(retryIn))", wake: wake(wakeUp))
        case .republish(let wakeUp):
            AdModelAction(text: "republish", wake: wake(wakeUp))
        }
    }

    mutating func fail(_ message: String) {
        guard failure == nil else { return }
        failure = "step \(step), after \(operation): \(message)"
    }

    mutating func compare(_ real: [AdModelAction], _ expected: [AdModelAction]) {
        guard real.count != expected.count || zip(expected, real).contains(where: { !$0.allows($1) }) else { return }
        fail("actions differ\n  core:  \(real)\n  model: \(expected)")
    }

    /// The tick's actions must be the model's, in deadline order; deadlines due at the same
    /// instant may come in any order.
    mutating func compareTick(_ real: [AdModelAction], _ expected: [(at: Int, action: AdModelAction)]) {
        var matches = real.count == expected.count
        var start = 0
        while matches, start < expected.count {
            let end = expected[start...].firstIndex { $0.at != expected[start].at } ?? expected.count
            matches = real[start..<end].map(\.text).sorted() == expected[start..<end].map(\.action.text).sorted()
            start = end
        }
        guard !matches else { return }
        let shown = expected.map { "\($0.action) (due \(show($0.at)))" }
        fail("tick actions differ\n  core:  \(real)\n  model: \(shown)")
    }

    /// Everything both sides hold, compared after every step.
    package mutating func compareState() {
        guard failure == nil else { return }
        let realRecords = core.records.keys.sorted().map { describeRecord(core: $0) }
        let modelRecords = model.records.keys.sorted().map { describeRecord(model: $0) }
        if realRecords != modelRecords {
            let removed = realRecords.filter { !modelRecords.contains($0) }.map { "\n  - core:  \($0)" }
            let added = modelRecords.filter { !realRecords.contains($0) }.map { "\n  + model: \($0)" }
            return fail("records differ:" + (removed + added).joined())
        }
        // The services come from a fixed list, so every deadline the core could hold is known.
        for service in services where model.records[service] == nil {
            for id in [Core.DeadlineID.reAdvertise(service), .publishTimeout(service)] {
                if let stray = core.deadlines.deadline(of: id) {
                    return fail("the core holds \(id) at \(show(stray)) for a service it does not keep")
                }
            }
        }
        let realCleanup = core.deadlines.deadline(of: .cleanup)
        if realCleanup != model.cleanupAt.map(instant) {
            return fail("cleanup at \(show(realCleanup)), model \(show(model.cleanupAt.map(instant)))")
        }
        if core.deadlines.count != model.deadlines.count {
            return fail("the core holds \(core.deadlines.count) deadlines, model \(model.deadlines.count)")
        }
        if core.deadlines.first?.deadline != model.earliest.map(instant) {
            return fail("next deadline \(show(core.deadlines.first?.deadline)), model \(show(model.earliest.map(instant)))")
        }
        let running = core.lifecycle == .running
        if running != model.running { return fail("running \(running), model \(model.running)") }
        if core.usage() != model.usage { return fail("usage \(core.usage()), model \(model.usage)") }
        // Never a missed wake-up: the loop sleeps towards `loopTarget` unless woken, so no
        // deadline may be earlier than that without a pending signal.
        if running, !wakePending, let first = core.deadlines.first?.deadline, loopTarget.map({ first < instant($0) }) ?? true {
            fail("the loop sleeps until \(loopTarget.map(show) ?? "signalled") but a deadline at \(show(first)) was added without waking it")
        }
    }

    func describeRecord(core service: String) -> String {
        let record = core.records[service]!
        var attempt = "idle"
        if case .publishing(let current) = record.publication { attempt = "publishing #\(current.id)" }
        return describe(
            record.advertisement,
            attempt: attempt,
            failures: record.failures,
            reAdvertise: core.deadlines.deadline(of: .reAdvertise(service)),
            timeout: core.deadlines.deadline(of: .publishTimeout(service))
        )
    }

    func describeRecord(model service: String) -> String {
        let record = model.records[service]!
        return describe(
            record.advertisement,
            attempt: record.attempt.map { "publishing #\($0.id ?? 0)" } ?? "idle",
            failures: record.failures,
            reAdvertise: instant(record.reAdvertiseAt),
            timeout: record.attempt?.timeoutAt.map(instant)
        )
    }

    func describe(_ advertisement: ServiceAdvertisement, attempt: String, failures: Int, reAdvertise: Duration?, timeout: Duration?) -> String {
        "\(AdModelAction.name(advertisement)) (\(advertisement.provider.address)) \(attempt), \(failures) failures, re-advertise at \(show(reAdvertise)), timeout at \(show(timeout))"
    }
}
