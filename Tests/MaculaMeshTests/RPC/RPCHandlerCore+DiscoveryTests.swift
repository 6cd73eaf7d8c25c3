@testable import MaculaMesh
import Testing

@Suite("RPCHandler core: shared discoveries", .timeLimit(.minutes(3)))
struct RPCHandlerCoreDiscoveryTests {
    @Test("a miss creates one discovery; concurrent callers join it, each with its own deadline")
    func sharedDiscovery() {
        var core = RPCTest.runningCore()
        let first = try! #require(core.callStarted(service: "s", providers: nil, options: RPCTest.options(), now: .zero).waiting)
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
        _ = core.callStarted(service: "t", providers: nil, options: RPCTest.options(), now: .zero)
        #expect(core.discoveries.count == 2)
    }

    @Test("each discovery waiter times out on its own deadline; the discovery lives while anyone waits")
    func discoveryWaiterTimeouts() {
        var core = RPCTest.runningCore()
        let short = try! #require(core.callStarted(
            service: "s", providers: nil, options: RPCTest.options(RPCCallOptions(discoveryTimeout: .seconds(1))), now: .zero
        ).waiting).id
        let long = try! #require(core.callStarted(service: "s", providers: nil, options: RPCTest.options(), now: .zero).waiting).id
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
        var core = RPCTest.runningCore()
        let first = try! #require(core.callStarted(service: "s", providers: nil, options: RPCTest.options(), now: .zero).waiting).id
        let second = try! #require(core.callStarted(service: "s", providers: nil, options: RPCTest.options(), now: RPCTest.at(1)).waiting).id
        let start = try! #require(core.takeDiscoveriesToStart().first)
        let effects = core.discoveryFinished(start.id, outcome: .found(RPCTest.abc), now: RPCTest.at(2))
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
        #expect(core.discoveryFinished(start.id, outcome: .found(RPCTest.abc), now: RPCTest.at(3)).resumes.isEmpty)
    }

    @Test("no providers, a failure, an interruption")
    func discoveryOutcomes() {
        var core = RPCTest.runningCore()
        let a = try! #require(core.callStarted(service: "s", providers: nil, options: RPCTest.options(), now: .zero).waiting).id
        let s = try! #require(core.takeDiscoveriesToStart().first)
        #expect(core.discoveryFinished(s.id, outcome: .interrupted, now: .zero).resumes.isEmpty)
        #expect(core.phase(of: a) != nil)
        var effects = core.discoveryFinished(s.id, outcome: .found([]), now: .zero)
        #expect(effects.resumes[0].step.error == .noProviders)
        #expect(effects.resumes[0].removal == .callFailed)
        _ = core.callStarted(service: "t", providers: nil, options: RPCTest.options(), now: .zero)
        let t = try! #require(core.takeDiscoveriesToStart().first)
        effects = core.discoveryFinished(t.id, outcome: .failed("dht down"), now: .zero)
        #expect(effects.resumes[0].step.error == .discoveryFailed)
        #expect(effects.resumes[0].step.error?.detail == "dht down")
        #expect(core.size == 0)
    }

    @Test("a cancelled waiter leaves its discovery; the last one drops it")
    func cancelDuringDiscovery() {
        var core = RPCTest.runningCore()
        let first = try! #require(core.callStarted(service: "s", providers: nil, options: RPCTest.options(), now: .zero).waiting).id
        let second = try! #require(core.callStarted(service: "s", providers: nil, options: RPCTest.options(), now: .zero).waiting).id
        guard case .removed(let abort, _) = core.callerCancelled(first, inSend: false) else {
            Issue.record("expected removed")
            return
        }
        #expect(abort == nil)  // the second caller still waits
        #expect(core.discoveries.count == 1)
        #expect(core.deadlines.count == 1)
        guard case .removed(let lastAbort, _) = core.callerCancelled(second, inSend: false) else {
            Issue.record("expected removed")
            return
        }
        #expect(lastAbort != nil)
        #expect(core.size == 0)
        #expect(core.deadlines.isEmpty)
        #expect(core.takeDiscoveriesToStart().isEmpty)  // dropped before it started: never starts
        guard case .unknown = core.callerCancelled(first, inSend: false) else {
            Issue.record("a second removal is a no-op")
            return
        }
    }
}
