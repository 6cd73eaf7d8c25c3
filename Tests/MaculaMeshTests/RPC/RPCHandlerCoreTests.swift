@testable import MaculaMesh
import Testing

/// Accessors that make core actions easy to assert on.
extension RPCHandlerCore.CallStartAction {
    var sent: (id: RPCCallID, attempt: RPCAttempt, wake: Bool)? {
        if case .send(let id, let attempt, let wake) = self { return (id, attempt, wake) }
        return nil
    }
    var waiting: (id: RPCCallID, wake: Bool, created: Bool)? {
        if case .awaitDiscovery(let id, let wake, let created) = self { return (id, wake, created) }
        return nil
    }
    var rejection: (error: RPCError, atLimit: Bool)? {
        if case .rejected(let error, let atLimit) = self { return (error, atLimit) }
        return nil
    }
}

extension RPCHandlerCore.SendCompletedAction {
    var isAwaitingReply: Bool {
        if case .awaitReply = self { return true }
        return false
    }
    var next: RPCAttempt? {
        if case .send(let attempt, _) = self { return attempt }
        return nil
    }
    var finished: (result: Result<[UInt8], RPCError>, reason: RPCHandlerCore.Removal)? {
        if case .finished(let result, let reason) = self { return (result, reason) }
        return nil
    }
}

extension RPCStep {
    var isSend: Bool {
        if case .send = self { return true }
        return false
    }
    var error: RPCError? {
        if case .finished(.failure(let error)) = self { return error }
        return nil
    }
    var bytes: [UInt8]? {
        if case .finished(.success(let bytes)) = self { return bytes }
        return nil
    }
}

extension Result where Failure == RPCError {
    var error: RPCError? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

private func runningCore(_ configuration: RPCHandlerConfiguration = RPCTest.configuration()) -> RPCHandlerCore {
    var core = try! RPCHandlerCore(configuration: configuration)
    #expect(core.runStarted() == .started)
    return core
}

private let abc = RPCTest.nodes("a", "b", "c")

@Suite("RPCHandler core")
struct RPCHandlerCoreTests {
    // MARK: Lifecycle

    @Test("lifecycle: idle refuses remote calls, runs once at a time, shutdown is terminal")
    func lifecycle() throws {
        var core = try RPCHandlerCore(configuration: RPCTest.configuration())
        #expect(core.state == .idle)
        let idle = core.callStarted(service: "s", providers: abc, options: RPCTest.options(), now: 0)
        #expect(idle.rejection?.error == .notRunning)
        #expect(core.size == 0)
        #expect(core.runStarted() == .started)
        #expect(core.runStarted() == .alreadyRunning)
        _ = core.runEnded()
        #expect(core.state == .idle)
        #expect(core.runStarted() == .started)
        _ = core.shutdown()
        #expect(core.state == .shutDown)
        #expect(core.runStarted() == .shutDown)
        let late = core.callStarted(service: "s", providers: abc, options: RPCTest.options(), now: 0)
        #expect(late.rejection?.error == .shutdown)
        #expect(core.shutdown().resumes.isEmpty)
    }

    @Test("configuration: every invalid field is named")
    func configuration() {
        func field(_ edit: (inout RPCHandlerConfiguration) -> Void) -> String? {
            var configuration = RPCHandlerConfiguration()
            edit(&configuration)
            do throws(ConfigurationError) {
                _ = try RPCHandlerCore(configuration: configuration)
                return nil
            } catch {
                return error.field
            }
        }
        #expect(field { _ in } == nil)
        #expect(field { $0.callTimeout = .zero } == "callTimeout")
        #expect(field { $0.overallTimeout = .seconds(-1) } == "overallTimeout")
        #expect(field { $0.discoveryTimeout = .seconds(20 * 365 * 86_400) } == "discoveryTimeout")
        #expect(field { $0.maximumAttempts = 0 } == "maximumAttempts")
        #expect(field { $0.maximumPendingCalls = 0 } == "maximumPendingCalls")
        #expect(field { $0.maximumLocalProcedures = 0 } == "maximumLocalProcedures")
        #expect(throws: ConfigurationError.self) {
            try ResolvedCallOptions(RPCCallOptions(timeout: .zero), configuration: RPCHandlerConfiguration())
        }
    }

    // MARK: Starting

    @Test("a call with cached providers sends its first attempt and sets one deadline")
    func startWithProviders() {
        var core = runningCore()
        let first = core.callStarted(service: "s", providers: abc, options: RPCTest.options(), now: RPCTest.at(1))
        let sent = try! #require(first.sent)
        #expect(sent.attempt == RPCAttempt(provider: RPCTest.node("a"), number: 1))
        #expect(sent.wake)  // the first deadline: the loop must wake
        #expect(core.deadlines.deadline(of: sent.id.rawValue) == RPCTest.at(6))
        #expect(core.phase(of: sent.id) == .sending(nil))
        // A later deadline does not wake the loop; an earlier one does.
        let later = core.callStarted(service: "s", providers: abc, options: RPCTest.options(), now: RPCTest.at(2))
        #expect(later.sent?.wake == false)
        let sooner = core.callStarted(
            service: "s", providers: abc, options: RPCTest.options(RPCCallOptions(timeout: .seconds(1))), now: RPCTest.at(2)
        )
        #expect(sooner.sent?.wake == true)
        #expect(core.size == 3)
        #expect(core.budget.highWaterMark == 3)
    }

    @Test("an empty cached result fails at once with noProviders")
    func emptyCache() {
        var core = runningCore()
        let action = core.callStarted(service: "s", providers: [], options: RPCTest.options(), now: 0)
        #expect(action.rejection?.error == .noProviders)
        #expect(core.size == 0)
    }

    @Test("a miss creates one discovery; concurrent callers join it, each with its own deadline")
    func sharedDiscovery() {
        var core = runningCore()
        let first = try! #require(core.callStarted(service: "s", providers: nil, options: RPCTest.options(), now: 0).waiting)
        #expect(first.created && first.wake)
        let second = try! #require(core.callStarted(
            service: "s", providers: nil, options: RPCTest.options(RPCCallOptions(discoveryTimeout: .seconds(2))), now: RPCTest.at(1)
        ).waiting)
        #expect(!second.created)
        #expect(core.discoveries.count == 1)
        #expect(core.size == 3)  // two calls and one discovery
        #expect(core.deadlines.deadline(of: first.id.rawValue) == RPCTest.at(5))
        #expect(core.deadlines.deadline(of: second.id.rawValue) == RPCTest.at(3))
        let starts = core.takeDiscoveriesToStart()
        #expect(starts.map(\.service) == ["s"])
        #expect(core.takeDiscoveriesToStart().isEmpty)
        // Another service gets its own discovery.
        _ = core.callStarted(service: "t", providers: nil, options: RPCTest.options(), now: 0)
        #expect(core.discoveries.count == 2)
    }

    @Test("the pending limit counts calls and discoveries, and refuses at once")
    func pendingLimit() {
        var core = runningCore(RPCTest.configuration(maximumPendingCalls: 3))
        #expect(core.callStarted(service: "s", providers: nil, options: RPCTest.options(), now: 0).waiting != nil)
        #expect(core.size == 2)
        // A second miss for another service needs two more entries.
        let refused = core.callStarted(service: "t", providers: nil, options: RPCTest.options(), now: 0)
        #expect(refused.rejection?.error == .tooManyPendingCalls)
        #expect(refused.rejection?.atLimit == true)
        // Joining the running discovery needs one.
        #expect(core.callStarted(service: "s", providers: nil, options: RPCTest.options(), now: 0).waiting != nil)
        #expect(core.size == 3)
        #expect(core.callStarted(service: "u", providers: abc, options: RPCTest.options(), now: 0).rejection?.error == .tooManyPendingCalls)
        #expect(core.size == 3)
    }

    // MARK: Sends and replies

    @Test("send, then reply: the caller is resumed with the result and nothing remains")
    func sendThenReply() {
        var core = runningCore()
        let id = try! #require(core.callStarted(service: "s", providers: abc, options: RPCTest.options(), now: 0).sent).id
        #expect(core.sendCompleted(id, failed: false, now: RPCTest.at(0.1)).isAwaitingReply)
        #expect(core.phase(of: id) == .awaitingReply)
        guard case .resume(let resume) = core.replyReceived(.success(id, [9])) else {
            Issue.record("expected a resume")
            return
        }
        #expect(resume.id == id)
        #expect(resume.step.bytes == [9])
        #expect(resume.removal == .replied)
        #expect(core.size == 0)
        #expect(core.deadlines.isEmpty)
        // A second reply is late.
        guard case .late = core.replyReceived(.success(id, [9])) else {
            Issue.record("expected late")
            return
        }
    }

    @Test("a reply that arrives while the caller still sends is kept until the send returns")
    func replyDuringSend() {
        var core = runningCore()
        let id = try! #require(core.callStarted(service: "s", providers: abc, options: RPCTest.options(), now: 0).sent).id
        guard case .stored = core.replyReceived(.failure(id, "boom")) else {
            Issue.record("expected stored")
            return
        }
        #expect(core.deadlines.isEmpty)  // answered: no deadline can fire for it any more
        guard case .late = core.replyReceived(.success(id, [1])) else {
            Issue.record("a duplicate reply is late")
            return
        }
        let finished = try! #require(core.sendCompleted(id, failed: false, now: RPCTest.at(9)).finished)
        #expect(finished.result.error == .procedureFailed)
        #expect(finished.result.error?.detail == "boom")
        #expect(finished.reason == .replied)
        #expect(core.size == 0)
    }

    @Test("a failed send fails over at once; after the last provider: attemptsExhausted with the count")
    func sendFailures() {
        var core = runningCore()
        let id = try! #require(core.callStarted(service: "s", providers: abc, options: RPCTest.options(), now: 0).sent).id
        let second = try! #require(core.sendCompleted(id, failed: true, now: RPCTest.at(1)).next)
        #expect(second == RPCAttempt(provider: RPCTest.node("b"), number: 2))
        #expect(core.deadlines.deadline(of: id.rawValue) == RPCTest.at(6))  // a fresh attempt timeout
        let third = try! #require(core.sendCompleted(id, failed: true, now: RPCTest.at(2)).next)
        #expect(third == RPCAttempt(provider: RPCTest.node("c"), number: 3))
        let finished = try! #require(core.sendCompleted(id, failed: true, now: RPCTest.at(3)).finished)
        #expect(finished.result.error == .attemptsExhausted)
        #expect(finished.result.error?.providersTried == 3)
        #expect(finished.reason == .callFailed)
        #expect(core.size == 0)
        #expect(core.deadlines.isEmpty)
    }

    @Test("attempt timeouts fail over across three providers, then fail with the count")
    func timeoutFailover() {
        var core = runningCore()
        let id = try! #require(core.callStarted(service: "s", providers: abc, options: RPCTest.options(), now: 0).sent).id
        _ = core.sendCompleted(id, failed: false, now: 0)
        var (effects, next) = core.deadlinesPassed(now: RPCTest.at(4.999), takeStarts: true)
        #expect(effects.resumes.isEmpty)
        #expect(next == RPCTest.at(5))
        (effects, next) = core.deadlinesPassed(now: RPCTest.at(5), takeStarts: true)
        #expect(effects.attemptTimeouts == 1)
        #expect(effects.failovers == 1)
        #expect(effects.resumes.count == 1)
        #expect(effects.resumes[0].step.isSend)
        #expect(core.attempt(of: id) == RPCAttempt(provider: RPCTest.node("b"), number: 2))
        #expect(effects.resumes[0].removal == nil)
        #expect(next == RPCTest.at(10))
        #expect(core.phase(of: id) == .sending(nil))
        _ = core.sendCompleted(id, failed: false, now: RPCTest.at(5))
        (effects, next) = core.deadlinesPassed(now: RPCTest.at(10), takeStarts: true)
        #expect(effects.resumes[0].step.isSend)
        #expect(core.attempt(of: id)?.provider == RPCTest.node("c"))
        _ = core.sendCompleted(id, failed: false, now: RPCTest.at(10))
        (effects, next) = core.deadlinesPassed(now: RPCTest.at(15), takeStarts: true)
        #expect(effects.attemptTimeouts == 1)
        #expect(effects.failovers == 0)
        #expect(effects.resumes[0].step.error == .attemptsExhausted)
        #expect(effects.resumes[0].step.error?.providersTried == 3)
        #expect(effects.resumes[0].removal == .timedOut)
        #expect(effects.removed == 1)
        #expect(next == nil)
        #expect(core.size == 0)
    }

    @Test("an attempt that times out while its caller still sends fails over when the send returns")
    func timeoutDuringSend() {
        var core = runningCore()
        let id = try! #require(core.callStarted(service: "s", providers: abc, options: RPCTest.options(), now: 0).sent).id
        let (effects, next) = core.deadlinesPassed(now: RPCTest.at(5), takeStarts: true)
        #expect(effects.resumes.isEmpty)  // nothing to resume: the caller is running
        #expect(effects.attemptTimeouts == 1)
        #expect(next == nil)
        #expect(core.phase(of: id) == .sending(.attemptFailed))
        let next2 = try! #require(core.sendCompleted(id, failed: false, now: RPCTest.at(6)).next)
        #expect(next2.provider == RPCTest.node("b"))
        #expect(core.deadlines.deadline(of: id.rawValue) == RPCTest.at(11))
    }

    @Test("maximumAttempts caps the providers tried; one provider means one attempt")
    func attemptCap() {
        var core = runningCore()
        let five = RPCTest.nodes("a", "b", "c", "d", "e")
        let id = try! #require(core.callStarted(
            service: "s", providers: five, options: RPCTest.options(RPCCallOptions(maximumAttempts: 2)), now: 0
        ).sent).id
        _ = core.sendCompleted(id, failed: true, now: 0)
        let finished = try! #require(core.sendCompleted(id, failed: true, now: 0).finished)
        #expect(finished.result.error?.providersTried == 2)
        let single = try! #require(core.callStarted(service: "s", providers: RPCTest.nodes("a"), options: RPCTest.options(), now: 0).sent).id
        #expect(core.sendCompleted(single, failed: true, now: 0).finished?.result.error?.providersTried == 1)
    }

    @Test("the overall deadline ends a call whatever attempt it is on")
    func overallDeadline() {
        var core = runningCore()
        let options = RPCTest.options(RPCCallOptions(timeout: .seconds(5), overallTimeout: .seconds(7)))
        let id = try! #require(core.callStarted(service: "s", providers: abc, options: options, now: 0).sent).id
        _ = core.sendCompleted(id, failed: false, now: 0)
        var (effects, next) = core.deadlinesPassed(now: RPCTest.at(5), takeStarts: true)
        #expect(effects.resumes[0].step.isSend)
        #expect(core.attempt(of: id)?.number == 2)
        #expect(next == RPCTest.at(7))  // capped by the overall deadline
        _ = core.sendCompleted(id, failed: false, now: RPCTest.at(5))
        (effects, next) = core.deadlinesPassed(now: RPCTest.at(7), takeStarts: true)
        #expect(effects.resumes[0].step.error == .deadlineExceeded)
        #expect(effects.resumes[0].step.error?.providersTried == 2)
        #expect(effects.resumes[0].removal == .timedOut)
        #expect(core.size == 0)
        // Past the overall deadline when a send returns: deadlineExceeded too.
        let other = try! #require(core.callStarted(service: "s", providers: abc, options: options, now: RPCTest.at(10)).sent).id
        #expect(core.sendCompleted(other, failed: true, now: RPCTest.at(17)).finished?.result.error == .deadlineExceeded)
    }

    // MARK: Discovery

    @Test("each discovery waiter times out on its own deadline; the discovery lives while anyone waits")
    func discoveryWaiterTimeouts() {
        var core = runningCore()
        let short = try! #require(core.callStarted(
            service: "s", providers: nil, options: RPCTest.options(RPCCallOptions(discoveryTimeout: .seconds(1))), now: 0
        ).waiting).id
        let long = try! #require(core.callStarted(service: "s", providers: nil, options: RPCTest.options(), now: 0).waiting).id
        _ = core.takeDiscoveriesToStart()
        var (effects, next) = core.deadlinesPassed(now: RPCTest.at(1), takeStarts: true)
        #expect(effects.resumes.map(\.id) == [short])
        #expect(effects.resumes[0].step.error == .discoveryTimedOut)
        #expect(effects.aborts.isEmpty)  // the other caller still waits
        #expect(core.discoveries.count == 1)
        #expect(core.phase(of: long) == .discovering(core.discoveryByService["s"]!))
        #expect(next == RPCTest.at(5))
        (effects, next) = core.deadlinesPassed(now: RPCTest.at(5), takeStarts: true)
        #expect(effects.resumes.map(\.id) == [long])
        #expect(effects.aborts.count == 1)  // the last waiter left: cancel the discovery
        #expect(effects.removed == 2)
        #expect(core.size == 0)
        #expect(core.discoveryByService.isEmpty)
    }

    @Test("discovered providers move every waiter to its first attempt, timed from the result")
    func discoveryFound() {
        var core = runningCore()
        let first = try! #require(core.callStarted(service: "s", providers: nil, options: RPCTest.options(), now: 0).waiting).id
        let second = try! #require(core.callStarted(service: "s", providers: nil, options: RPCTest.options(), now: RPCTest.at(1)).waiting).id
        let start = try! #require(core.takeDiscoveriesToStart().first)
        let effects = core.discoveryFinished(start.id, outcome: .found(abc), now: RPCTest.at(2))
        #expect(effects.resumes.map(\.id) == [first, second])  // in arrival order
        #expect(effects.resumes.allSatisfy { $0.step.isSend && core.attempt(of: $0.id)?.number == 1 && $0.removal == nil })
        #expect(effects.removed == 1)  // the discovery
        #expect(core.discoveries.isEmpty)
        #expect(core.deadlines.deadline(of: first.rawValue) == RPCTest.at(7))
        #expect(core.size == 2)
        // Waiting for the discovery used up no attempt: three providers, three attempts.
        _ = core.sendCompleted(first, failed: true, now: RPCTest.at(2))
        _ = core.sendCompleted(first, failed: true, now: RPCTest.at(2))
        #expect(core.sendCompleted(first, failed: true, now: RPCTest.at(2)).finished?.result.error?.providersTried == 3)
        // A result for a discovery that is gone changes nothing.
        #expect(core.discoveryFinished(start.id, outcome: .found(abc), now: RPCTest.at(3)).resumes.isEmpty)
    }

    @Test("no providers, a failure, an interruption")
    func discoveryOutcomes() {
        var core = runningCore()
        let a = try! #require(core.callStarted(service: "s", providers: nil, options: RPCTest.options(), now: 0).waiting).id
        let s = try! #require(core.takeDiscoveriesToStart().first)
        #expect(core.discoveryFinished(s.id, outcome: .interrupted, now: 0).resumes.isEmpty)
        #expect(core.phase(of: a) != nil)
        var effects = core.discoveryFinished(s.id, outcome: .found([]), now: 0)
        #expect(effects.resumes[0].step.error == .noProviders)
        #expect(effects.resumes[0].removal == .callFailed)
        _ = core.callStarted(service: "t", providers: nil, options: RPCTest.options(), now: 0)
        let t = try! #require(core.takeDiscoveriesToStart().first)
        effects = core.discoveryFinished(t.id, outcome: .failed("dht down"), now: 0)
        #expect(effects.resumes[0].step.error == .discoveryFailed)
        #expect(effects.resumes[0].step.error?.detail == "dht down")
        #expect(core.size == 0)
    }

    // MARK: Cancellation

    @Test("a cancelled waiter leaves its discovery; the last one drops it")
    func cancelDuringDiscovery() {
        var core = runningCore()
        let first = try! #require(core.callStarted(service: "s", providers: nil, options: RPCTest.options(), now: 0).waiting).id
        let second = try! #require(core.callStarted(service: "s", providers: nil, options: RPCTest.options(), now: 0).waiting).id
        guard case .removed(let abort) = core.callerCancelled(first) else {
            Issue.record("expected removed")
            return
        }
        #expect(abort == nil)  // the second caller still waits
        #expect(core.discoveries.count == 1)
        #expect(core.deadlines.count == 1)
        guard case .removed(let lastAbort) = core.callerCancelled(second) else {
            Issue.record("expected removed")
            return
        }
        #expect(lastAbort != nil)
        #expect(core.size == 0)
        #expect(core.deadlines.isEmpty)
        #expect(core.takeDiscoveriesToStart().isEmpty)  // dropped before it started: never starts
        guard case .unknown = core.callerCancelled(first) else {
            Issue.record("a second removal is a no-op")
            return
        }
    }

    @Test("a cancelled caller's entry goes; its reply is late afterwards")
    func cancelAwaitingReply() {
        var core = runningCore()
        let id = try! #require(core.callStarted(service: "s", providers: abc, options: RPCTest.options(), now: 0).sent).id
        _ = core.sendCompleted(id, failed: false, now: 0)
        guard case .removed(nil) = core.callerCancelled(id) else {
            Issue.record("expected removed")
            return
        }
        #expect(core.size == 0)
        #expect(core.deadlines.isEmpty)
        guard case .late = core.replyReceived(.success(id, [])) else {
            Issue.record("expected late")
            return
        }
    }

    @Test("IDs are not reused: a reply for an ended call never reaches a newer call in its slot")
    func staleIDs() {
        var core = runningCore()
        let old = try! #require(core.callStarted(service: "s", providers: abc, options: RPCTest.options(), now: 0).sent).id
        let keep = try! #require(core.callStarted(service: "s", providers: abc, options: RPCTest.options(), now: 0).sent).id
        _ = core.callerCancelled(old)
        let new = try! #require(core.callStarted(service: "s", providers: abc, options: RPCTest.options(), now: 0).sent).id
        #expect(new.slot == old.slot)
        #expect(new != old)
        _ = core.sendCompleted(new, failed: false, now: 0)
        guard case .late = core.replyReceived(.success(old, [])) else {
            Issue.record("expected late")
            return
        }
        guard case .late = core.replyReceived(.success(RPCCallID(rawValue: 0xFFFF_FFFF_0000_0777), [])) else {
            Issue.record("a forged ID is late")
            return
        }
        #expect(core.phase(of: new) == .awaitingReply)
        #expect(core.phase(of: keep) == .sending(nil))
    }

    @Test("an empty table gives its memory back")
    func tableRelease() {
        var core = runningCore(RPCTest.configuration(maximumPendingCalls: 5_000))
        var ids: [RPCCallID] = []
        for _ in 0..<2_000 {
            ids.append(core.callStarted(service: "s", providers: abc, options: RPCTest.options(), now: 0).sent!.id)
        }
        #expect(core.calls.capacity >= 2_000)
        for id in ids { _ = core.callerCancelled(id) }
        #expect(core.calls.capacity == 0)
        #expect(core.size == 0)
        let again = core.callStarted(service: "s", providers: abc, options: RPCTest.options(), now: 0).sent!.id
        #expect(again.slot == 0)
        #expect(!ids.contains(again))
    }

    // MARK: Ending

    @Test("run() ending fails waiting callers with notRunning; a sending caller learns it when its send returns")
    func runEnded() {
        var core = runningCore()
        let waiting = try! #require(core.callStarted(service: "s", providers: nil, options: RPCTest.options(), now: 0).waiting).id
        let awaiting = try! #require(core.callStarted(service: "t", providers: abc, options: RPCTest.options(), now: 0).sent).id
        _ = core.sendCompleted(awaiting, failed: false, now: 0)
        let sending = try! #require(core.callStarted(service: "t", providers: abc, options: RPCTest.options(), now: 0).sent).id
        _ = core.replyReceived(.success(sending, [1]))  // stored, then overridden by the ending
        let effects = core.runEnded()
        #expect(Set(effects.resumes.map(\.id)) == [waiting, awaiting])
        #expect(effects.resumes.allSatisfy { $0.step.error == .notRunning && $0.removal == .stopped })
        #expect(effects.aborts.count == 1)
        #expect(core.deadlines.isEmpty)
        #expect(core.size == 1)
        let finished = try! #require(core.sendCompleted(sending, failed: false, now: 0).finished)
        #expect(finished.result.error == .notRunning)
        #expect(finished.reason == .stopped)
        #expect(core.size == 0)
    }

    @Test("shutdown fails everything with shutdown")
    func shutdown() {
        var core = runningCore()
        let awaiting = try! #require(core.callStarted(service: "t", providers: abc, options: RPCTest.options(), now: 0).sent).id
        _ = core.sendCompleted(awaiting, failed: false, now: 0)
        let sending = try! #require(core.callStarted(service: "t", providers: abc, options: RPCTest.options(), now: 0).sent).id
        let effects = core.shutdown()
        #expect(effects.resumes.map(\.id) == [awaiting])
        #expect(effects.resumes[0].step.error == .shutdown)
        #expect(effects.resumes[0].removal == .shutdown)
        #expect(core.sendCompleted(sending, failed: false, now: 0).finished?.result.error == .shutdown)
        #expect(core.size == 0)
    }

    // MARK: Local handlers

    @Test("local handlers: register, replace, limit, unregister, refused after shutdown")
    func localHandlers() throws {
        var configuration = RPCTest.configuration()
        configuration.maximumLocalProcedures = 1
        var core = try RPCHandlerCore(configuration: configuration)
        #expect(core.register("a", handler: { $0 }) == .registered)
        #expect(core.register("a", handler: { $0 }) == .replaced)
        #expect(core.register("b", handler: { $0 }) == .rejectedAtLimit(1))
        guard case .run = core.localCallStarted("a") else {
            Issue.record("a is local")
            return
        }
        guard case .remote = core.localCallStarted("b") else {
            Issue.record("b is remote")
            return
        }
        let removed = core.unregister("a")
        let removedAgain = core.unregister("a")
        #expect(removed && !removedAgain)
        _ = core.shutdown()
        #expect(core.register("c", handler: { $0 }) == .shutDown)
        guard case .shutDown = core.localCallStarted("a") else {
            Issue.record("refused after shutdown")
            return
        }
    }

    // MARK: Strategies

    @Test("first: in order; round-robin: rotates per service; random: seeded and never an excluded provider")
    func strategies() {
        let roundRobin = RPCTest.options(configuration: RPCTest.configuration(strategy: .roundRobin))
        var core = runningCore()
        let rotation = (0..<4).map { _ in
            core.callStarted(service: "s", providers: abc, options: roundRobin, now: 0).sent!.attempt.provider.nodeID
        }
        #expect(rotation == ["a", "b", "c", "a"])
        #expect(core.callStarted(service: "other", providers: abc, options: roundRobin, now: 0).sent!.attempt.provider.nodeID == "a")
        // Round-robin failover continues after the failed provider.
        let id = core.callStarted(service: "s", providers: abc, options: roundRobin, now: 0).sent!
        #expect(id.attempt.provider.nodeID == "b")
        #expect(core.sendCompleted(id.id, failed: true, now: 0).next?.provider.nodeID == "c")
        #expect(core.sendCompleted(id.id, failed: true, now: 0).next?.provider.nodeID == "a")

        func randomOrders(seed: UInt64) -> [[String]] {
            var core = runningCore(RPCTest.configuration(seed: seed, strategy: .random))
            let many = RPCTest.nodes("a", "b", "c", "d", "e", "f")
            return (0..<50).map { _ in
                let options = RPCTest.options(RPCCallOptions(maximumAttempts: 6, strategy: .random))
                let sent = core.callStarted(service: "s", providers: many, options: options, now: 0).sent!
                var order = [sent.attempt.provider.nodeID]
                while let next = core.sendCompleted(sent.id, failed: true, now: 0).next { order.append(next.provider.nodeID) }
                return order
            }
        }
        let orders = randomOrders(seed: 42)
        #expect(orders == randomOrders(seed: 42))
        #expect(orders != randomOrders(seed: 43))
        #expect(orders.allSatisfy { Set($0).count == 6 })  // every provider once, none repeated
        #expect(Set(orders.map { $0[0] }).count > 1)
    }

    // MARK: Memory contract

    @Test("a lower limit refuses new calls but keeps the pending ones")
    func lowerLimit() throws {
        var core = runningCore(RPCTest.configuration(maximumPendingCalls: 10))
        for _ in 0..<4 { _ = core.callStarted(service: "s", providers: abc, options: RPCTest.options(), now: 0) }
        try core.setBaseLimit(3)
        #expect(core.size == 4)
        #expect(core.callStarted(service: "s", providers: abc, options: RPCTest.options(), now: 0).rejection?.error == .tooManyPendingCalls)
        do {
            try core.setBaseLimit(0)
            Issue.record("a limit of 0 is refused")
        } catch {
            #expect(error.field == "maximumPendingCalls")
        }
        try core.setBaseLimit(10)
        core.setPressureScale(0.5)
        #expect(core.budget.effectiveLimit == 5)
        #expect(core.callStarted(service: "s", providers: abc, options: RPCTest.options(), now: 0).sent != nil)
        #expect(core.callStarted(service: "s", providers: abc, options: RPCTest.options(), now: 0).rejection != nil)
        #expect(core.budget.usage(size: core.size).highWaterMark == 5)
    }

    @Test("a deadline pass without takeStarts leaves discoveries queued for run()")
    func pruneLeavesStarts() {
        var core = runningCore()
        _ = core.callStarted(service: "s", providers: nil, options: RPCTest.options(), now: 0)
        #expect(core.deadlinesPassed(now: 0, takeStarts: false).0.starts.isEmpty)
        #expect(core.deadlinesPassed(now: 0, takeStarts: true).0.starts.count == 1)
    }
}
