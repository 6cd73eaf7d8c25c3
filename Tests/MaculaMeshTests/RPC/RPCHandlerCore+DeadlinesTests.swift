@testable import MaculaMesh
import Testing

@Suite("RPCHandler core: deadlines", .timeLimit(.minutes(3)))
struct RPCHandlerCoreDeadlinesTests {
    @Test("attempt timeouts fail over across three providers, then fail with the count")
    func timeoutFailover() {
        var core = RPCTest.runningCore()
        let id = try! #require(core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).sent).id
        _ = core.sendCompleted(id, failed: false, now: .zero)
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
        var core = RPCTest.runningCore()
        let id = try! #require(core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).sent).id
        let (effects, next) = core.deadlinesPassed(now: RPCTest.at(5), takeStarts: true)
        #expect(effects.resumes.isEmpty)  // nothing to resume: the caller is running
        #expect(effects.attemptTimeouts == 1)
        #expect(next == nil)
        #expect(core.phase(of: id) == .sending(.attemptFailed))
        let next2 = try! #require(core.sendCompleted(id, failed: false, now: RPCTest.at(6)).next)
        #expect(next2.provider == RPCTest.node("b"))
        #expect(core.deadlines.deadline(of: id.rawValue) == RPCTest.at(11))
    }

    @Test("the overall deadline ends a call whatever attempt it is on")
    func overallDeadline() {
        var core = RPCTest.runningCore()
        let options = RPCTest.options(RPCCallOptions(timeout: .seconds(5), overallTimeout: .seconds(7)))
        let id = try! #require(core.callStarted(service: "s", providers: RPCTest.abc, options: options, now: .zero).sent).id
        _ = core.sendCompleted(id, failed: false, now: .zero)
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
        let other = try! #require(core.callStarted(service: "s", providers: RPCTest.abc, options: options, now: RPCTest.at(10)).sent).id
        #expect(core.sendCompleted(other, failed: true, now: RPCTest.at(17)).finished?.result.error == .deadlineExceeded)
    }

    @Test("a deadline pass without takeStarts leaves discoveries queued for run()")
    func pruneLeavesStarts() {
        var core = RPCTest.runningCore()
        _ = core.callStarted(service: "s", providers: nil, options: RPCTest.options(), now: .zero)
        #expect(core.deadlinesPassed(now: .zero, takeStarts: false).0.starts.isEmpty)
        #expect(core.deadlinesPassed(now: .zero, takeStarts: true).0.starts.count == 1)
    }

    @Test("calls due at once are resumed in deadline order, ties in the order their deadlines were set")
    func deadlineOrder() {
        var core = RPCTest.runningCore()
        func start(timeout seconds: Int) -> RPCCallID {
            let options = RPCTest.options(RPCCallOptions(timeout: .seconds(seconds)))
            let id = core.callStarted(service: "s", providers: RPCTest.abc, options: options, now: .zero).sent!.id
            _ = core.sendCompleted(id, failed: false, now: .zero)
            return id
        }
        let late = start(timeout: 3)
        let early = start(timeout: 1)
        let tieFirst = start(timeout: 2)
        let tieSecond = start(timeout: 2)
        let (effects, _) = core.deadlinesPassed(now: RPCTest.at(10), takeStarts: true)
        #expect(effects.resumes.map(\.id) == [early, tieFirst, tieSecond, late])
    }
}
