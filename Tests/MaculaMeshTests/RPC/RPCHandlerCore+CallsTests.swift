@testable import MaculaMesh
import Testing

@Suite("RPCHandler core: calls, sends, replies, cancellation", .timeLimit(.minutes(3)))
struct RPCHandlerCoreCallsTests {
    @Test("a call with cached providers sends its first attempt and sets one deadline")
    func startWithProviders() {
        var core = RPCTest.runningCore()
        let first = core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: RPCTest.at(1))
        let sent = try! #require(first.sent)
        #expect(sent.attempt == RPCAttempt(provider: RPCTest.node("a"), number: 1))
        #expect(sent.wake)  // the first deadline: the loop must wake
        #expect(core.deadlines.deadline(of: sent.id.rawValue) == RPCTest.at(6))
        #expect(core.phase(of: sent.id) == .sending(nil))
        // A later deadline does not wake the loop; an earlier one does.
        let later = core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: RPCTest.at(2))
        #expect(later.sent?.wake == false)
        let sooner = core.callStarted(
            service: "s", providers: RPCTest.abc, options: RPCTest.options(RPCCallOptions(timeout: .seconds(1))), now: RPCTest.at(2)
        )
        #expect(sooner.sent?.wake == true)
        #expect(core.size == 3)
        #expect(core.budget.highWaterMark == 3)
    }

    @Test("an empty cached result fails at once with noProviders")
    func emptyCache() {
        var core = RPCTest.runningCore()
        let action = core.callStarted(service: "s", providers: [], options: RPCTest.options(), now: .zero)
        #expect(action.rejection?.error == .noProviders)
        #expect(core.size == 0)
    }

    @Test("the pending limit counts calls and discoveries, and refuses at once")
    func pendingLimit() {
        var core = RPCTest.runningCore(RPCTest.configuration(maximumPendingCalls: 3))
        #expect(core.callStarted(service: "s", providers: nil, options: RPCTest.options(), now: .zero).waiting != nil)
        #expect(core.size == 2)
        // A second miss for another service needs two more entries.
        let refused = core.callStarted(service: "t", providers: nil, options: RPCTest.options(), now: .zero)
        #expect(refused.rejection?.error == .tooManyPendingCalls)
        #expect(refused.rejection?.atLimit == true)
        // Joining the running discovery needs one.
        #expect(core.callStarted(service: "s", providers: nil, options: RPCTest.options(), now: .zero).waiting != nil)
        #expect(core.size == 3)
        #expect(core.callStarted(service: "u", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).rejection?.error == .tooManyPendingCalls)
        #expect(core.size == 3)
    }

    @Test("send, then reply: the caller is resumed with the result and nothing remains")
    func sendThenReply() {
        var core = RPCTest.runningCore()
        let id = try! #require(core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).sent).id
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
        var core = RPCTest.runningCore()
        let id = try! #require(core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).sent).id
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
        var core = RPCTest.runningCore()
        let id = try! #require(core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).sent).id
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

    @Test("maximumAttempts caps the providers tried; one provider means one attempt")
    func attemptCap() {
        var core = RPCTest.runningCore()
        let five = RPCTest.nodes("a", "b", "c", "d", "e")
        let id = try! #require(core.callStarted(
            service: "s", providers: five, options: RPCTest.options(RPCCallOptions(maximumAttempts: 2)), now: .zero
        ).sent).id
        _ = core.sendCompleted(id, failed: true, now: .zero)
        let finished = try! #require(core.sendCompleted(id, failed: true, now: .zero).finished)
        #expect(finished.result.error?.providersTried == 2)
        let single = try! #require(core.callStarted(service: "s", providers: RPCTest.nodes("a"), options: RPCTest.options(), now: .zero).sent).id
        #expect(core.sendCompleted(single, failed: true, now: .zero).finished?.result.error?.providersTried == 1)
    }

    @Test("a cancelled caller's entry goes; its reply is late afterwards")
    func cancelAwaitingReply() {
        var core = RPCTest.runningCore()
        let id = try! #require(core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).sent).id
        _ = core.sendCompleted(id, failed: false, now: .zero)
        guard case .removed(nil, _) = core.callerCancelled(id, inSend: false) else {
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

    // MARK: Abandoned attempts and transport-reported failures

    @Test("a cancelled caller's sent attempt is abandoned; one never sent, or answered, is not")
    func cancelAbandons() throws {
        var core = RPCTest.runningCore()
        let sentAction = core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).sent
        let sent = try #require(sentAction)
        guard case .removed(nil, 1) = core.callerCancelled(sent.id, inSend: true) else { Issue.record("in send: abandoned"); return }
        let resumedAction = core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).sent
        let resumed = try #require(resumedAction)
        guard case .removed(nil, nil) = core.callerCancelled(resumed.id, inSend: false) else { Issue.record("never sent: not abandoned"); return }
        let repliedAction = core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).sent
        let replied = try #require(repliedAction)
        _ = core.replyReceived(.success(replied.id, [1]))
        guard case .removed(nil, nil) = core.callerCancelled(replied.id, inSend: true) else { Issue.record("answered: not abandoned"); return }
    }

    @Test("a send that returns abandons its attempt unless the call awaits or got its reply")
    func sendCompletedAbandons() throws {
        var core = RPCTest.runningCore()
        let firstAction = core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).sent
        let first = try #require(firstAction)
        #expect(!core.sendCompleted(first.id, failed: false, now: .zero).abandonsAttempt)
        let failingAction = core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).sent
        let failing = try #require(failingAction)
        #expect(core.sendCompleted(failing.id, failed: true, now: .zero).abandonsAttempt)
        let repliedAction = core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).sent
        let replied = try #require(repliedAction)
        _ = core.replyReceived(.success(replied.id, [1]))
        #expect(!core.sendCompleted(replied.id, failed: false, now: .zero).abandonsAttempt)
    }

    @Test("a reported failure fails over like a timeout, only for the current attempt")
    func attemptFailedFailsOver() throws {
        var core = RPCTest.runningCore()
        let sentAction = core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).sent
        let sent = try #require(sentAction)
        // While the send runs: marked, acted on when the send returns.
        let markedAction = core.attemptFailed(sent.id, attempt: 1, now: .zero)
        let marked = try #require(markedAction)
        #expect(marked.attemptFailures == 1 && marked.resumes.isEmpty && marked.abandoned.isEmpty)
        #expect(core.attemptFailed(sent.id, attempt: 1, now: .zero) == nil)  // already failed
        let action = core.sendCompleted(sent.id, failed: false, now: RPCTest.at(1))
        #expect(action.next == RPCAttempt(provider: RPCTest.node("b"), number: 2))
        #expect(action.abandonsAttempt)
        #expect(core.attemptFailed(sent.id, attempt: 1, now: RPCTest.at(1)) == nil)  // stale
        #expect(!core.sendCompleted(sent.id, failed: false, now: RPCTest.at(1)).abandonsAttempt)
        // While it awaits the reply: fails over at once, abandoning attempt 2, rescheduling.
        let effectsAction = core.attemptFailed(sent.id, attempt: 2, now: RPCTest.at(2))
        let effects = try #require(effectsAction)
        #expect(effects.attemptFailures == 1 && effects.attemptTimeouts == 0 && effects.failovers == 1)
        #expect(effects.abandoned == [RPCHandlerCore.Abandoned(id: sent.id, attempt: 2)])
        #expect(core.attempt(of: sent.id) == RPCAttempt(provider: RPCTest.node("c"), number: 3))
        #expect(core.deadlines.deadline(of: sent.id.rawValue) == RPCTest.at(7))
    }
}
