@testable import MaculaMesh
import Testing

@Suite("RPCHandler core: lifecycle, table, local handlers, limits", .timeLimit(.minutes(3)))
struct RPCHandlerCoreTests {
    @Test("lifecycle: calls before run() are accepted, after it stopped refused; runs once at a time; shutdown is terminal")
    func lifecycle() throws {
        var core = try RPCHandlerCore(configuration: RPCTest.configuration())
        #expect(core.lifecycle == .notStarted)
        let early = core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero)
        #expect(early.sent != nil)
        #expect(early.beforeRun == AcceptedBeforeRun(overdueBy: nil))
        #expect(core.size == 1)
        #expect(core.runStarted(now: .zero) == .started(overdueBy: nil))
        #expect(core.runStarted(now: .zero) == .alreadyRunning)
        _ = core.runEnded()
        #expect(core.lifecycle == .stopped)
        #expect(core.size == 1)  // the early call is sending: it learns `notRunning` when its send returns
        let late = core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero)
        #expect(late.rejection?.error == .notRunning)
        #expect(core.runStarted(now: .zero) == .started(overdueBy: nil))
        _ = core.shutdown()
        #expect(core.lifecycle == .shutDown)
        #expect(core.runStarted(now: .zero) == .shutDown)
        let afterShutdown = core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero)
        #expect(afterShutdown.rejection?.error == .shutdown)
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

    @Test("an empty table gives its memory back")
    func tableRelease() {
        var core = RPCTest.runningCore(RPCTest.configuration(maximumPendingCalls: 5_000))
        var ids: [RPCCallID] = []
        for _ in 0..<2_000 {
            ids.append(core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).sent!.id)
        }
        #expect(core.calls.capacity >= 2_000)
        for id in ids { _ = core.callerCancelled(id, inSend: false) }
        #expect(core.calls.capacity == 0)
        #expect(core.size == 0)
        let again = core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).sent!.id
        #expect(again.slot == 0)
        #expect(!ids.contains(again))
    }

    @Test("IDs are not reused: a reply for an ended call never reaches a newer call in its slot")
    func staleIDs() {
        var core = RPCTest.runningCore()
        let old = try! #require(core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).sent).id
        let keep = try! #require(core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).sent).id
        _ = core.callerCancelled(old, inSend: false)
        let new = try! #require(core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).sent).id
        #expect(new.slot == old.slot)
        #expect(new != old)
        _ = core.sendCompleted(new, failed: false, now: .zero)
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

    @Test("run() ending fails waiting callers with notRunning; a sending caller learns it when its send returns")
    func runEnded() {
        var core = RPCTest.runningCore()
        let waiting = try! #require(core.callStarted(service: "s", providers: nil, options: RPCTest.options(), now: .zero).waiting).id
        let awaiting = try! #require(core.callStarted(service: "t", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).sent).id
        _ = core.sendCompleted(awaiting, failed: false, now: .zero)
        let sending = try! #require(core.callStarted(service: "t", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).sent).id
        _ = core.replyReceived(.success(sending, [1]))  // stored, then overridden by the ending
        let effects = core.runEnded()
        #expect(Set(effects.resumes.map(\.id)) == [waiting, awaiting])
        #expect(effects.resumes.allSatisfy { $0.step.error == .notRunning && $0.removal == .stopped })
        #expect(effects.aborts.count == 1)
        #expect(core.deadlines.isEmpty)
        #expect(core.size == 1)
        let finished = try! #require(core.sendCompleted(sending, failed: false, now: .zero).finished)
        #expect(finished.result.error == .notRunning)
        #expect(finished.reason == .stopped)
        #expect(core.size == 0)
    }

    @Test("shutdown fails everything with shutdown")
    func shutdown() {
        var core = RPCTest.runningCore()
        let awaiting = try! #require(core.callStarted(service: "t", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).sent).id
        _ = core.sendCompleted(awaiting, failed: false, now: .zero)
        let sending = try! #require(core.callStarted(service: "t", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).sent).id
        let effects = core.shutdown()
        #expect(effects.resumes.map(\.id) == [awaiting])
        #expect(effects.resumes[0].step.error == .shutdown)
        #expect(effects.resumes[0].removal == .shutdown)
        #expect(core.sendCompleted(sending, failed: false, now: .zero).finished?.result.error == .shutdown)
        #expect(core.size == 0)
    }

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

    @Test("a lower limit refuses new calls but keeps the pending ones")
    func lowerLimit() throws {
        var core = RPCTest.runningCore(RPCTest.configuration(maximumPendingCalls: 10))
        for _ in 0..<4 { _ = core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero) }
        try core.setBaseLimit(3)
        #expect(core.size == 4)
        #expect(core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).rejection?.error == .tooManyPendingCalls)
        do {
            try core.setBaseLimit(0)
            Issue.record("a limit of 0 is refused")
        } catch {
            #expect(error.field == "maximumPendingCalls")
        }
        try core.setBaseLimit(10)
        core.setPressureScale(0.5)
        #expect(core.budget.effectiveLimit == 5)
        #expect(core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).sent != nil)
        #expect(core.callStarted(service: "s", providers: RPCTest.abc, options: RPCTest.options(), now: .zero).rejection != nil)
        #expect(core.budget.usage(size: core.size).highWaterMark == 5)
    }
}
