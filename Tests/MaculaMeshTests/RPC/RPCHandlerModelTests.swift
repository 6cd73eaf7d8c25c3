@testable import MaculaMesh
import Testing

/// The reference: plain dictionaries and arrays, every deadline found by scanning, providers
/// picked in order (the `.first` strategy). The core must agree with it after every step.
private struct Model {
    typealias Tick = Duration

    enum Phase: Equatable {
        case discovering(String)
        case sending(Interruption?)
        case awaiting
    }

    enum Interruption: Equatable {
        case timedOut
        case replied(RPCReply.Outcome)
    }

    struct Call {
        var phase: Phase
        var providers = 0
        var tried = 0
        var maximumAttempts: Int
        var current = -1
        var excluded: [Int] = []
        var timeout: Tick
        var overall: Tick
        var deadline: Tick?
    }

    /// What a resumed caller gets, in comparable form.
    enum Step: Equatable {
        case send(provider: Int, attempt: Int)
        case failed(RPCError, tried: Int?)
        case succeeded([UInt8])
    }

    var calls: [RPCCallID: Call] = [:]
    var discoveries: [String: [RPCCallID]] = [:]
    let limit: Int

    var size: Int { calls.count + discoveries.count }

    /// The next provider after a failure, or nil when the call may try no other.
    mutating func failover(_ id: RPCCallID, now: Tick) -> Step {
        var call = calls[id]!
        call.excluded.append(call.current)
        let next = (0..<call.providers).first { !call.excluded.contains($0) }
        guard call.tried < call.maximumAttempts, let next else {
            calls[id] = nil
            return .failed(.attemptsExhausted, tried: call.tried)
        }
        call.tried += 1
        call.current = next
        call.phase = .sending(nil)
        call.deadline = min(now + call.timeout, call.overall)
        calls[id] = call
        return .send(provider: next, attempt: call.tried)
    }

    mutating func firstAttempt(_ id: RPCCallID, providers: Int, now: Tick) -> Step {
        var call = calls[id]!
        call.providers = providers
        call.maximumAttempts = min(call.maximumAttempts, providers)
        call.tried = 1
        call.current = 0
        call.phase = .sending(nil)
        call.deadline = min(now + call.timeout, call.overall)
        calls[id] = call
        return .send(provider: 0, attempt: 1)
    }

    mutating func leaveDiscovery(_ id: RPCCallID) {
        guard case .discovering(let service) = calls[id]?.phase else { return }
        discoveries[service]?.removeAll { $0 == id }
        if discoveries[service]?.isEmpty == true { discoveries[service] = nil }
    }
}

private func comparable(_ attempt: RPCAttempt?) -> Model.Step? {
    attempt.map { .send(provider: Int($0.provider.nodeID.dropFirst())!, attempt: $0.number) }
}

/// A resumed caller's step; for `.send`, the attempt the core now has for `id`.
private func comparable(_ step: RPCStep, _ id: RPCCallID, _ core: RPCHandlerCore) -> Model.Step? {
    switch step {
    case .send:
        return comparable(core.attempt(of: id))
    case .finished(.success(let bytes)):
        return .succeeded(bytes)
    case .finished(.failure(let error)):
        return .failed(error, tried: error.providersTried)
    case .cancelled:
        return nil
    }
}

private func providers(_ count: Int) -> [ServiceProvider] {
    (0..<count).map { ServiceProvider(nodeID: "p\($0)", address: "mem://p\($0)") }
}

@Suite("RPCHandler core against a reference model", .timeLimit(.minutes(3)))
struct RPCHandlerModelTests {
    @Test("10,000 seeded random operations: calls, sends, replies, cancellations, deadlines, discoveries", arguments: [1, 2, 3] as [UInt64])
    func randomOperations(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let limit = 12
        let configuration = RPCTest.configuration(maximumPendingCalls: limit)
        var core = try RPCHandlerCore(configuration: configuration)
        #expect(core.runStarted(now: .zero) == .started(overdueBy: nil))
        var model = Model(limit: limit)
        let services = ["s0", "s1", "s2", "s3"]
        var cached: [String: Int] = [:]  // service → cached provider count (as the registry would)
        var now: Model.Tick = .zero
        var ended: [RPCCallID] = []
        var finishedDiscoveries: [UInt32] = []
        var seen: [String: Int] = [
            "sent": 0, "discovering": 0, "at limit": 0, "failover": 0, "exhausted": 0, "deadline exceeded": 0,
            "discovery timed out": 0, "resumed by reply": 0, "stored reply": 0, "late": 0, "discovery found": 0,
            "cancelled in discovery": 0, "timed out while sending": 0,
        ]

        for step in 0..<10_000 {
            let operation = Int.random(in: 0..<100, using: &random)
            switch operation {
            case 0..<25:  // start a call
                let service = services.randomElement(using: &random)!
                if Int.random(in: 0..<6, using: &random) == 0 { cached[service] = nil }  // its TTL passed
                let count: Int? = cached[service] ?? (Bool.random(using: &random) ? nil : Int.random(in: 0...4, using: &random))
                let timeout = Int.random(in: 1...5, using: &random)
                let overall: Int? = Bool.random(using: &random) ? Int.random(in: 2...12, using: &random) : nil
                let discoveryTimeout = Int.random(in: 1...6, using: &random)
                let attempts = Int.random(in: 1...4, using: &random)
                let options = RPCTest.options(RPCCallOptions(
                    timeout: .seconds(timeout), overallTimeout: overall.map { .seconds($0) },
                    discoveryTimeout: .seconds(discoveryTimeout), maximumAttempts: attempts
                ))
                let action = core.callStarted(service: service, providers: count.map(providers), options: options, now: now)
                let overallTick = overall.map { now + RPCTest.at(Double($0)) } ?? RPCHandlerCore.never
                if count == 0 {
                    #expect(action.rejection?.error == .noProviders)
                    break
                }
                let needed = count == nil && model.discoveries[service] == nil ? 2 : 1
                if model.size + needed > limit {
                    #expect(action.rejection?.error == .tooManyPendingCalls)
                    seen["at limit"]! += 1
                    break
                }
                if let count {
                    let sent = try #require(action.sent, "step \(step)")
                    model.calls[sent.id] = Model.Call(
                        phase: .awaiting, maximumAttempts: attempts,
                        timeout: RPCTest.at(Double(timeout)), overall: overallTick
                    )
                    #expect(model.firstAttempt(sent.id, providers: count, now: now) == comparable(sent.attempt))
                    seen["sent"]! += 1
                } else {
                    let waiting = try #require(action.waiting, "step \(step)")
                    #expect(waiting.created == (model.discoveries[service] == nil))
                    model.discoveries[service, default: []].append(waiting.id)
                    seen["discovering"]! += 1
                    model.calls[waiting.id] = Model.Call(
                        phase: .discovering(service), maximumAttempts: attempts,
                        timeout: RPCTest.at(Double(timeout)), overall: overallTick,
                        deadline: min(now + RPCTest.at(Double(discoveryTimeout)), overallTick)
                    )
                }
            case 25..<48:  // a send returns
                let sending = model.calls.filter { if case .sending = $0.value.phase { return true } else { return false } }
                guard let (id, call) = sending.randomElement(using: &random) else { break }
                let failed = Int.random(in: 0..<4, using: &random) == 0
                let action = core.sendCompleted(id, failed: failed, now: now)
                guard case .sending(let interruption) = call.phase else { break }
                if case .replied(let outcome) = interruption {
                    model.calls[id] = nil
                    #expect(action.finished?.result == RPCHandlerCore.result(of: outcome))
                } else if now >= call.overall {
                    model.calls[id] = nil
                    #expect(action.finished?.result.error == .deadlineExceeded)
                    #expect(action.finished?.result.error?.providersTried == call.tried)
                } else if failed || interruption == .timedOut {
                    switch model.failover(id, now: now) {
                    case .send(let provider, let attempt):
                        #expect(comparable(action.next) == .send(provider: provider, attempt: attempt))
                    case .failed(let error, let tried):
                        #expect(action.finished?.result.error == error)
                        #expect(action.finished?.result.error?.providersTried == tried)
                        #expect(action.finished?.reason == (failed ? .callFailed : .timedOut))
                    case .succeeded:
                        Issue.record("a failover never succeeds")
                    }
                } else {
                    model.calls[id]!.phase = .awaiting
                    #expect(action.isAwaitingReply)
                }
                if model.calls[id] == nil { ended.append(id) }
            case 48..<60:  // a reply arrives (sometimes for an ended call)
                let outcome: RPCReply.Outcome = Bool.random(using: &random) ? .success([UInt8(step % 256)]) : .failure("no")
                let target = Int.random(in: 0..<5, using: &random) == 0 ? ended.randomElement(using: &random) : model.calls.keys.randomElement(using: &random)
                guard let id = target else { break }
                let action = core.replyReceived(RPCReply(callID: id, outcome: outcome))
                switch model.calls[id]?.phase {
                case .awaiting:
                    model.calls[id] = nil
                    ended.append(id)
                    guard case .resume(let resume) = action else {
                        Issue.record("step \(step): expected a resume")
                        break
                    }
                    #expect(comparable(resume.step, id, core) == comparable(.finished(RPCHandlerCore.result(of: outcome)), id, core))
                    seen["resumed by reply"]! += 1
                case .sending(nil), .sending(.timedOut):
                    model.calls[id]!.phase = .sending(.replied(outcome))
                    model.calls[id]!.deadline = nil
                    guard case .stored = action else {
                        Issue.record("step \(step): expected stored")
                        break
                    }
                    seen["stored reply"]! += 1
                default:
                    guard case .late = action else {
                        Issue.record("step \(step): expected late")
                        break
                    }
                    seen["late"]! += 1
                }
            case 60..<70:  // a caller is cancelled
                guard let id = model.calls.keys.randomElement(using: &random) else { break }
                let service: String? = if case .discovering(let service) = model.calls[id]!.phase { service } else { nil }
                model.leaveDiscovery(id)
                model.calls[id] = nil
                ended.append(id)
                guard case .removed(let abort) = core.callerCancelled(id) else {
                    Issue.record("step \(step): expected removed")
                    break
                }
                #expect((abort != nil) == (service != nil && model.discoveries[service!] == nil))
                if service != nil { seen["cancelled in discovery"]! += 1 }
                guard case .unknown = core.callerCancelled(id) else {
                    Issue.record("step \(step): a second cancellation is a no-op")
                    break
                }
            case 70..<85:  // time passes
                now += RPCTest.at(Double(Int.random(in: 0...3_000, using: &random)) / 1_000)
                var expected: [RPCCallID: Model.Step] = [:]
                var timeouts = 0
                var failovers = 0
                let due = model.calls.filter { $0.value.deadline.map { $0 <= now } ?? false }
                for (id, call) in due {
                    switch call.phase {
                    case .discovering:
                        model.leaveDiscovery(id)
                        model.calls[id] = nil
                        expected[id] = now >= call.overall ? .failed(.deadlineExceeded, tried: 0) : .failed(.discoveryTimedOut, tried: nil)
                    case .awaiting:
                        timeouts += 1
                        if now >= call.overall {
                            model.calls[id] = nil
                            expected[id] = .failed(.deadlineExceeded, tried: call.tried)
                        } else {
                            expected[id] = model.failover(id, now: now)
                            if case .send = expected[id] { failovers += 1 }
                        }
                    case .sending(let interruption):
                        if interruption == nil {
                            timeouts += 1
                            model.calls[id]!.phase = .sending(.timedOut)
                        }
                        model.calls[id]!.deadline = nil
                    }
                    if model.calls[id] == nil { ended.append(id) }
                }
                let (effects, next) = core.deadlinesPassed(now: now, takeStarts: Bool.random(using: &random))
                var actual: [RPCCallID: Model.Step] = [:]
                for resume in effects.resumes { actual[resume.id] = comparable(resume.step, resume.id, core) }
                #expect(actual == expected, "step \(step)")
                for step in expected.values {
                    switch step {
                    case .send: seen["failover"]! += 1
                    case .failed(.attemptsExhausted, _): seen["exhausted"]! += 1
                    case .failed(.deadlineExceeded, _): seen["deadline exceeded"]! += 1
                    case .failed(.discoveryTimedOut, _): seen["discovery timed out"]! += 1
                    default: break
                    }
                }
                if timeouts > expected.count { seen["timed out while sending"]! += 1 }
                #expect(effects.attemptTimeouts == timeouts)
                #expect(effects.failovers == failovers)
                #expect(next == model.calls.values.compactMap(\.deadline).min())
            case 85..<95:  // a discovery ends
                guard let service = model.discoveries.keys.randomElement(using: &random) else { break }
                let discoveryID = try #require(core.discoveryByService[service])
                let kind = Int.random(in: 0..<4, using: &random)
                let count = kind == 0 ? 0 : Int.random(in: 1...4, using: &random)
                let outcome: RPCHandlerCore.DiscoveryOutcome = kind == 1 ? .failed("down") : .found(providers(count))
                let waiters = model.discoveries.removeValue(forKey: service)!
                var expected: [(RPCCallID, Model.Step)] = []
                for id in waiters {
                    if kind == 1 {
                        model.calls[id] = nil
                        expected.append((id, .failed(.discoveryFailed, tried: nil)))
                    } else if count == 0 {
                        model.calls[id] = nil
                        expected.append((id, .failed(.noProviders, tried: nil)))
                    } else {
                        expected.append((id, model.firstAttempt(id, providers: count, now: now)))
                    }
                    if model.calls[id] == nil { ended.append(id) }
                }
                if kind >= 2 && Int.random(in: 0..<3, using: &random) == 0 { cached[service] = count }
                let effects = core.discoveryFinished(discoveryID, outcome: outcome, now: now)
                #expect(effects.resumes.map(\.id) == expected.map(\.0), "step \(step)")
                #expect(effects.resumes.map { comparable($0.step, $0.id, core) } == expected.map(\.1), "step \(step)")
                finishedDiscoveries.append(discoveryID)
                if kind >= 2 { seen["discovery found"]! += 1 }
            default:  // a stale discovery result, or an interruption: both change nothing
                if let stale = finishedDiscoveries.randomElement(using: &random), core.discoveries[stale] == nil {
                    #expect(core.discoveryFinished(stale, outcome: .found(providers(2)), now: now).resumes.isEmpty)
                }
                if let service = model.discoveries.keys.randomElement(using: &random) {
                    #expect(core.discoveryFinished(core.discoveryByService[service]!, outcome: .interrupted, now: now).resumes.isEmpty)
                }
            }
            if ended.count > 200 { ended.removeFirst(100) }
            try compare(core, model, step: step)
        }
        
        // Every kind of event happened (the run is not vacuous).
        for (event, count) in seen {
            #expect(count > 0, "never saw \(event)")
        }
        // Shutdown ends everything: parked callers at once, sending ones when their send returns.
        let sending = Set(model.calls.filter { if case .sending = $0.value.phase { return true } else { return false } }.keys)
        let effects = core.shutdown()
        #expect(Set(effects.resumes.map(\.id)) == Set(model.calls.keys).subtracting(sending))
        #expect(effects.resumes.allSatisfy { $0.step.error == .shutdown })
        for id in sending {
            #expect(core.sendCompleted(id, failed: false, now: now).finished?.result.error == .shutdown)
        }
        #expect(core.size == 0)
        #expect(core.deadlines.isEmpty)
    }

    private func compare(_ core: RPCHandlerCore, _ model: Model, step: Int) throws {
        #expect(core.callCount == model.calls.count, "step \(step)")
        #expect(core.discoveries.count == model.discoveries.count, "step \(step)")
        #expect(core.deadlines.count == model.calls.values.filter { $0.deadline != nil }.count, "step \(step)")
        for (id, call) in model.calls {
            let phase = try #require(core.phase(of: id), "step \(step): \(id) missing")
            switch (call.phase, phase) {
            case (.discovering(let service), .discovering(let discovery)):
                #expect(core.discoveries[discovery]?.service == service, "step \(step)")
            case (.sending(nil), .sending(nil)),
                 (.sending(.timedOut), .sending(.attemptFailed)),
                 (.sending(.replied), .sending(.replied)),
                 (.awaiting, .awaitingReply):
                break
            default:
                Issue.record("step \(step): \(id) is \(phase), the model says \(call.phase)")
            }
            #expect(core.deadlines.deadline(of: id.rawValue) == call.deadline, "step \(step)")
        }
        for (service, waiters) in model.discoveries {
            let discovery = try #require(core.discoveryByService[service], "step \(step)")
            #expect(core.discoveries[discovery]?.waiters.count == waiters.count, "step \(step)")
        }
    }
}
