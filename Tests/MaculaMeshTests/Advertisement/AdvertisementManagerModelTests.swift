@testable import MaculaMesh
import MaculaTesting
import Testing

/// Thousands of random operations on the real core, compared after every step with
/// ``AdvertisementReferenceModel``: the actions returned, every record and its deadlines, the
/// usage and the next deadline. Time moves by random amounts, often exactly onto a deadline.
@Suite("AdvertisementManager model", .timeLimit(.minutes(1)))
struct AdvertisementManagerModelTests {
    @Test("the core agrees with a plain-dictionary model after each of 5,000 random operations", arguments: [0xAD_0001, 0xAD_0002, 0xAD_0003] as [UInt64])
    func randomOperations(seed: UInt64) throws {
        var run = try AdvertisementModelRun(seed: seed)
        for step in 0..<5_000 {
            run.step = step
            run.randomOperation()
            run.compareState()
            if run.failed { return }
        }
    }
}

/// One run: the real core and the model side by side, the same random operations on both, and
/// what the actor would know about the core's publish tasks and run loop.
struct AdvertisementModelRun {
    typealias Core = AdvertisementManagerCore

    let seed: UInt64
    var random: SplitMix64
    var core: Core
    var model: AdvertisementReferenceModel
    let defaultTTL: Duration
    /// Milliseconds since the clock's origin.
    var now = 0
    var step = 0
    var operation = "start"
    var failed = false

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

    init(seed: UInt64) throws {
        self.seed = seed
        random = SplitMix64(seed: seed)
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

    mutating func randomOperation() {
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
