import MaculaTesting
import Testing

@testable import MaculaMesh

private struct Outage: Error {}

@Suite("AdvertisementManager core", .timeLimit(.minutes(3)))
struct AdvertisementManagerCoreTests {
    typealias Core = AdvertisementManagerCore

    /// TTL 300 s, re-advertise 150 s, cleanup 60 s, publish timeout 30 s, retry 5 s.
    static func makeCore(maximum: Int = 1_000) throws -> Core {
        var configuration = AdvertisementManagerConfiguration()
        configuration.maximumAdvertisements = maximum
        return try Core(configuration: configuration)
    }

    static func ad(_ service: String, _ node: String = "me", ttl: Duration = .seconds(300)) -> ServiceAdvertisement {
        ServiceAdvertisement(service: service, provider: provider(node), ttl: ttl)
    }

    /// Runs the deadlines due at `now` and returns the first publish attempt started.
    static func startPublish(_ core: inout Core, at now: Duration) -> UInt64? {
        for action in core.deadlinesPassed(now: now).actions {
            if case .refreshAndPublish(_, let attempt) = action { return attempt }
        }
        return nil
    }

    @Test("admission checks the TTL against the re-advertise interval and the limit")
    func admission() throws {
        var core = try Self.makeCore(maximum: 1)
        #expect(core.admit("a", ttl: .seconds(150)) == .invalidTTL)
        #expect(core.admit("a", ttl: .seconds(151)) == .admitted)
        #expect(core.admit("a", ttl: ConfigurationError.maximumDuration + .seconds(1)) == .invalidTTL)
        _ = core.advertised(Self.ad("a"), now: time(0))
        #expect(core.admit("b", ttl: .seconds(300)) == .rejectedAtLimit(limit: 1))
        #expect(core.admit("a", ttl: .seconds(300)) == .admitted)
        core.setPressureScale(0.1)
        #expect(core.usage() == MemoryUsage(size: 1, effectiveLimit: 1, baseLimit: 1, pressureScale: 0.1, highWaterMark: 1))
    }

    @Test("a new advertisement is published at once, then every re-advertise interval; the loop is woken only while running")
    func schedule() throws {
        var core = try Self.makeCore()
        guard case .scheduled(let idleWake, nil) = core.advertised(Self.ad("a"), now: time(0)) else {
            Issue.record("expected a schedule")
            return
        }
        #expect(idleWake == false)
        #expect(core.deadlines.deadline(of: .reAdvertise("a")) == time(0))
        guard case .started = core.runStarted(now: time(0)) else {
            Issue.record("expected start")
            return
        }
        if case .alreadyRunning = core.runStarted(now: time(0)) {} else { Issue.record("a second run must be refused") }
        #expect(core.deadlines.deadline(of: .cleanup) == time(60))

        let tick = core.deadlinesPassed(now: time(0))
        #expect(tick.actions.count == 1)
        guard case .refreshAndPublish(let published, let attempt) = tick.actions.first else {
            Issue.record("expected a publish")
            return
        }
        #expect(published == Self.ad("a"))
        #expect(core.deadlines.deadline(of: .publishTimeout("a")) == time(30))
        #expect(core.deadlines.deadline(of: .reAdvertise("a")) == time(150))
        #expect(tick.next == time(30))
        #expect(core.publishFinished("a", attempt: attempt, outcome: .published, now: time(1)).isPublished)
        #expect(core.deadlines.deadline(of: .publishTimeout("a")) == nil)
        #expect(core.deadlines.first?.deadline == time(60))

        // A second service advertised while running, earlier than every deadline: wake the loop.
        guard case .scheduled(let runningWake, nil) = core.advertised(Self.ad("b"), now: time(2)) else {
            Issue.record("expected a schedule")
            return
        }
        #expect(runningWake)
        // An unchanged re-advertisement keeps the schedule.
        guard case .unchanged = core.advertised(Self.ad("a"), now: time(3)) else {
            Issue.record("expected unchanged")
            return
        }
        #expect(core.deadlines.deadline(of: .reAdvertise("a")) == time(150))

        core.runEnded(now: time(4))
        #expect(core.deadlines.deadline(of: .cleanup) == nil)
        #expect(core.lifecycle == .stopped)
    }

    @Test("deadlines are handled in order; a due re-advertisement with a publish in flight refreshes only")
    func refreshWhilePublishing() throws {
        var core = try Self.makeCore()
        _ = core.advertised(Self.ad("a"), now: time(0))
        _ = core.runStarted(now: time(0))
        #expect(Self.startPublish(&core, at: time(0)) != nil)
        // The loop was late: at 150 s the timeout (30), the cleanup (60) and the re-advertisement
        // (150) are all due, and the attempt has not reported back.
        let tick = core.deadlinesPassed(now: time(150))
        let kinds = tick.actions.map { action -> String in
            switch action {
            case .cleanup: "cleanup"
            case .refresh: "refresh"
            case .refreshAndPublish: "publish"
            case .abortTimedOut: "timeout"
            }
        }
        #expect(kinds == ["timeout", "cleanup", "refresh"])
        // One cleanup, rescheduled from now rather than replayed for every missed tick.
        #expect(core.deadlines.deadline(of: .cleanup) == time(210))
        #expect(core.deadlines.deadline(of: .reAdvertise("a")) == time(300))
        #expect(tick.next == time(210))
    }

    @Test("failures back off exponentially up to the re-advertise interval and move the next attempt earlier")
    func backOff() throws {
        var core = try Self.makeCore()
        #expect((1...7).map { core.retryDelay(afterFailures: $0) } == [5, 10, 20, 40, 80, 150, 150].map { Duration.seconds($0) })
        #expect(core.retryDelay(afterFailures: Int.max) == .seconds(150))
        _ = core.advertised(Self.ad("a"), now: time(0))
        _ = core.runStarted(now: time(0))
        var now = time(0)
        for failures in 1...3 {
            let attempt = try #require(Self.startPublish(&core, at: now))
            let action = core.publishFinished("a", attempt: attempt, outcome: .failed(Outage()), now: now)
            guard case .failed(_, _, let count, let retryIn, _) = action else {
                Issue.record("expected a failure")
                return
            }
            #expect(count == failures && retryIn == core.retryDelay(afterFailures: failures))
            now += retryIn
            #expect(core.deadlines.deadline(of: .reAdvertise("a")) == now)
        }
        let attempt = try #require(Self.startPublish(&core, at: now))
        #expect(core.publishFinished("a", attempt: attempt, outcome: .published, now: now).isPublished)
        #expect(core.records["a"]?.failures == 0)
    }

    @Test("a timed-out publish is aborted, and its end counts as a failure whatever it reports")
    func timeout() throws {
        var core = try Self.makeCore()
        _ = core.advertised(Self.ad("a"), now: time(0))
        _ = core.runStarted(now: time(0))
        let attempt = try #require(Self.startPublish(&core, at: time(0)))
        let actions = core.deadlinesPassed(now: time(30)).actions
        guard case .abortTimedOut(let advertisement, let abort)? = actions.first else {
            Issue.record("expected an abort")
            return
        }
        #expect(advertisement.service == "a" && abort == attempt)
        guard case .timedOutRetry(let retryIn, _) = core.publishFinished("a", attempt: attempt, outcome: .published, now: time(31)) else {
            Issue.record("expected a retry")
            return
        }
        #expect(retryIn == .seconds(5))
        #expect(core.deadlines.deadline(of: .reAdvertise("a")) == time(36))
    }

    @Test("a changed advertisement cancels the publish in flight and is published when it ends")
    func superseded() throws {
        var core = try Self.makeCore()
        _ = core.advertised(Self.ad("a"), now: time(0))
        _ = core.runStarted(now: time(0))
        let attempt = try #require(Self.startPublish(&core, at: time(0)))
        guard case .scheduled(_, let abort) = core.advertised(Self.ad("a", "me-moved"), now: time(1)) else {
            Issue.record("expected a schedule")
            return
        }
        #expect(abort == attempt)
        #expect(core.deadlines.deadline(of: .publishTimeout("a")) == nil)
        // The deadline at 1 s passes while the old attempt still runs: refresh only.
        let actions = core.deadlinesPassed(now: time(1)).actions
        guard case .refresh(let refreshed)? = actions.first, actions.count == 1 else {
            Issue.record("expected a refresh only")
            return
        }
        #expect(refreshed.provider.nodeID == "me-moved")
        // The old attempt ends (even successfully): publish the new advertisement at once.
        guard case .republish = core.publishFinished("a", attempt: attempt, outcome: .published, now: time(2)) else {
            Issue.record("expected a republish")
            return
        }
        let next = try #require(Self.startPublish(&core, at: time(2)))
        #expect(next != attempt)
    }

    @Test("unadvertising forgets the service at once and aborts its publish; the late end is stale")
    func unadvertise() throws {
        var core = try Self.makeCore()
        if case .unknown = core.withdrawn("nothing") {} else { Issue.record("expected a no-op") }
        _ = core.advertised(Self.ad("a"), now: time(0))
        _ = core.runStarted(now: time(0))
        let attempt = try #require(Self.startPublish(&core, at: time(0)))
        guard case .removed(let advertisement, let abort) = core.withdrawn("a") else {
            Issue.record("expected a removal")
            return
        }
        #expect(advertisement.service == "a" && abort == attempt)
        #expect(core.records.isEmpty)
        #expect(core.deadlines.count == 1) // only the cleanup tick
        guard case .stale = core.publishFinished("a", attempt: attempt, outcome: .published, now: time(1)) else {
            Issue.record("expected stale")
            return
        }
    }

    @Test("an interrupted publish (run() ended) is retried as soon as run() runs again")
    func interrupted() throws {
        var core = try Self.makeCore()
        _ = core.advertised(Self.ad("a"), now: time(0))
        _ = core.runStarted(now: time(0))
        let attempt = try #require(Self.startPublish(&core, at: time(0)))
        guard case .republish = core.publishFinished("a", attempt: attempt, outcome: .interrupted, now: time(7)) else {
            Issue.record("expected a republish")
            return
        }
        core.runEnded(now: time(7))
        #expect(core.deadlines.deadline(of: .reAdvertise("a")) == time(7))
        _ = core.runStarted(now: time(8))
        #expect(Self.startPublish(&core, at: time(8)) != nil)
    }
}

extension AdvertisementManagerCore.PublishFinishedAction {
    var isPublished: Bool {
        if case .published = self { return true }
        return false
    }
}
