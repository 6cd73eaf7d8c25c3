import MaculaMemory
import MaculaMesh

/// The reference: plain dictionaries and arrays, every deadline found by scanning, providers
/// picked in order (the `.first` strategy). The core must agree with it after every step.
package struct RPCReferenceModel {
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
    /// The limit on pending calls and discoveries: `max(1, ⌊base × scale⌋)`.
    var budget: MemoryBudget

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

fileprivate func comparable(_ attempt: RPCAttempt?) -> RPCReferenceModel.Step? {
    attempt.map { .send(provider: Int($0.provider.nodeID.dropFirst())!, attempt: $0.number) }
}

/// A resumed caller's step; for `.send`, the attempt the core now has for `id`.
fileprivate func comparable(_ step: RPCStep, _ id: RPCCallID, _ core: RPCHandlerCore) -> RPCReferenceModel.Step? {
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

fileprivate func providers(_ count: Int) -> [ServiceProvider] {
    (0..<count).map { ServiceProvider(nodeID: "p\($0)", address: "mem://p\($0)") }
}


/// `RPCHandlerCore` and ``RPCReferenceModel`` side by side: calls started (with cached providers,
/// none, or a discovery), sends returning or failing, replies (some for ended calls), cancellations,
/// clock advances, discoveries ending (found, empty, failed), stale discovery results and
/// interruptions; with `varyLimits`, limit and pressure changes too. Compared after every step.
package struct RPCModelRun {
    package private(set) var core: RPCHandlerCore
    var model: RPCReferenceModel
    let varyLimits: Bool
    let configuration: RPCHandlerConfiguration
    let services = ["s0", "s1", "s2", "s3"]
    var cached: [String: Int] = [:]  // service → cached provider count (as the registry would)
    package private(set) var now: Duration = .zero
    var ended: [RPCCallID] = []
    var finishedDiscoveries: [UInt32] = []
    package private(set) var step = 0
    /// How many times each kind of event happened.
    package private(set) var seen: [String: Int] = [
        "sent": 0, "discovering": 0, "at limit": 0, "failover": 0, "exhausted": 0, "deadline exceeded": 0,
        "discovery timed out": 0, "resumed by reply": 0, "stored reply": 0, "late": 0, "discovery found": 0,
        "cancelled in discovery": 0, "timed out while sending": 0,
        "attempt failed": 0, "attempt failed while sending": 0, "stale attempt report": 0, "abandoned": 0,
    ]

    /// A core for `limit` pending calls and discoveries whose `run()` has started.
    package init(limit: Int = 12, varyLimits: Bool = false) throws {
        var configuration = RPCHandlerConfiguration()
        configuration.randomSeed = 7
        configuration.providerStrategy = .first
        configuration.maximumPendingCalls = limit
        self.configuration = configuration
        core = try RPCHandlerCore(configuration: configuration)
        let started = core.runStarted(now: .zero)
        guard started == .started(overdueBy: nil) else { throw Divergence("runStarted: \(started)") }
        model = RPCReferenceModel(budget: try MemoryBudget(baseLimit: limit))
        self.varyLimits = varyLimits
    }

    /// A core instant: `seconds` after the origin.
    static func at(_ seconds: Double) -> Duration {
        .nanoseconds(Int64(seconds * 1_000_000_000))
    }

    func resolved(_ options: RPCCallOptions) throws(Divergence) -> ResolvedCallOptions {
        do {
            return try ResolvedCallOptions(options, configuration: configuration)
        } catch {
            throw Divergence("step \(step): options \(options) refused: \(error)")
        }
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    package mutating func randomOperation(_ random: inout ModelRandom) throws(Divergence) {
        let step = self.step
        self.step += 1
        let operation = Int.random(in: 0..<(varyLimits ? 106 : 100), using: &random)
        switch operation {
        case 0..<25:  // start a call
            let service = services.randomElement(using: &random)!
            if Int.random(in: 0..<6, using: &random) == 0 { cached[service] = nil }  // its TTL passed
            let count: Int? = cached[service] ?? (Bool.random(using: &random) ? nil : Int.random(in: 0...4, using: &random))
            let timeout = Int.random(in: 1...5, using: &random)
            let overall: Int? = Bool.random(using: &random) ? Int.random(in: 2...12, using: &random) : nil
            let discoveryTimeout = Int.random(in: 1...6, using: &random)
            let attempts = Int.random(in: 1...4, using: &random)
            let options = try resolved(RPCCallOptions(
                timeout: .seconds(timeout), overallTimeout: overall.map { .seconds($0) },
                discoveryTimeout: .seconds(discoveryTimeout), maximumAttempts: attempts
            ))
            let action = core.callStarted(service: service, providers: count.map(providers), options: options, now: now)
            let overallTick = overall.map { now + Self.at(Double($0)) } ?? RPCHandlerCore.never
            if count == 0 {
                try check(action.rejection?.error == .noProviders, "step \(step): action.rejection?.error == .noProviders")
                break
            }
            let needed = count == nil && model.discoveries[service] == nil ? 2 : 1
            if model.size + needed > model.budget.effectiveLimit {
                try check(action.rejection?.error == .tooManyPendingCalls, "step \(step): action.rejection?.error == .tooManyPendingCalls")
                seen["at limit"]! += 1
                break
            }
            if let count {
                let sent = try unwrap(action.sent, "step \(step)")
                model.calls[sent.id] = RPCReferenceModel.Call(
                    phase: .awaiting, maximumAttempts: attempts,
                    timeout: Self.at(Double(timeout)), overall: overallTick
                )
                try check(model.firstAttempt(sent.id, providers: count, now: now) == comparable(sent.attempt), "step \(step): model.firstAttempt(sent.id, providers: count, now: now) == comparable(sent.attem")
                seen["sent"]! += 1
            } else {
                let waiting = try unwrap(action.waiting, "step \(step)")
                try check(waiting.created == (model.discoveries[service] == nil), "step \(step): waiting.created == (model.discoveries[service] == nil)")
                model.discoveries[service, default: []].append(waiting.id)
                seen["discovering"]! += 1
                model.calls[waiting.id] = RPCReferenceModel.Call(
                    phase: .discovering(service), maximumAttempts: attempts,
                    timeout: Self.at(Double(timeout)), overall: overallTick,
                    deadline: min(now + Self.at(Double(discoveryTimeout)), overallTick)
                )
            }
        case 25..<48:  // a send returns
            let sending = model.calls.filter { if case .sending = $0.value.phase { return true } else { return false } }
            guard let (id, call) = sending.randomElement(using: &random) else { break }
            let failed = Int.random(in: 0..<4, using: &random) == 0
            let action = core.sendCompleted(id, failed: failed, now: now)
            guard case .sending(let interruption) = call.phase else { break }
            // Every attempt whose send returned is answered, awaits its reply, or is abandoned.
            let replied = if case .replied = interruption { true } else { false }
            let awaits = !replied && now < call.overall && !failed && interruption != .timedOut
            try check(action.abandonsAttempt == !(replied || awaits), "step \(step): send returned: abandons \(action.abandonsAttempt)")
            if action.abandonsAttempt { seen["abandoned"]! += 1 }
            if case .replied(let outcome) = interruption {
                model.calls[id] = nil
                try check(action.finished?.result == RPCHandlerCore.result(of: outcome), "step \(step): action.finished?.result == RPCHandlerCore.result(of: outcome)")
            } else if now >= call.overall {
                model.calls[id] = nil
                try check(action.finished?.result.error == .deadlineExceeded, "step \(step): action.finished?.result.error == .deadlineExceeded")
                try check(action.finished?.result.error?.providersTried == call.tried, "step \(step): action.finished?.result.error?.providersTried == call.tried")
            } else if failed || interruption == .timedOut {
                switch model.failover(id, now: now) {
                case .send(let provider, let attempt):
                    try check(comparable(action.next) == .send(provider: provider, attempt: attempt), "step \(step): comparable(action.next) == .send(provider: provider, attempt: attempt)")
                case .failed(let error, let tried):
                    try check(action.finished?.result.error == error, "step \(step): action.finished?.result.error == error")
                    try check(action.finished?.result.error?.providersTried == tried, "step \(step): action.finished?.result.error?.providersTried == tried")
                    try check(action.finished?.reason == (failed ? .callFailed : .timedOut), "step \(step): action.finished?.reason == (failed ? .callFailed : .timedOut)")
                case .succeeded:
                    throw Divergence("step \(step): a failover never succeeds")
                }
            } else {
                model.calls[id]!.phase = .awaiting
                try check(action.isAwaitingReply, "step \(step): action.isAwaitingReply")
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
                    throw Divergence("step \(step): expected a resume")
                }
                try check(comparable(resume.step, id, core) == comparable(.finished(RPCHandlerCore.result(of: outcome)), id, core), "step \(step): comparable(resume.step, id, core) == comparable(.finished(RPCHandlerCore.result(")
                seen["resumed by reply"]! += 1
            case .sending(nil), .sending(.timedOut):
                model.calls[id]!.phase = .sending(.replied(outcome))
                model.calls[id]!.deadline = nil
                guard case .stored = action else {
                    throw Divergence("step \(step): expected stored")
                }
                seen["stored reply"]! += 1
            default:
                guard case .late = action else {
                    throw Divergence("step \(step): expected late")
                }
                seen["late"]! += 1
            }
        case 60..<70:  // a caller is cancelled
            guard let id = model.calls.keys.randomElement(using: &random) else { break }
            let call = model.calls[id]!
            let service: String? = if case .discovering(let service) = call.phase { service } else { nil }
            // A sending caller is cancelled in its send, or after it was resumed to send and never did.
            let inSend = Bool.random(using: &random)
            let wasSent = switch call.phase {
            case .awaiting: true
            case .sending(let interruption): inSend && { if case .replied = interruption { false } else { true } }()
            case .discovering: false
            }
            model.leaveDiscovery(id)
            model.calls[id] = nil
            ended.append(id)
            guard case .removed(let abort, let abandoned) = core.callerCancelled(id, inSend: inSend) else {
                throw Divergence("step \(step): expected removed")
            }
            try check(abandoned == (wasSent ? call.tried : nil), "step \(step): cancelled: abandoned \(String(describing: abandoned)), model \(wasSent ? call.tried : 0)")
            try check((abort != nil) == (service != nil && model.discoveries[service!] == nil), "step \(step): (abort != nil) == (service != nil && model.discoveries[service!] == nil)")
            if service != nil { seen["cancelled in discovery"]! += 1 }
            guard case .unknown = core.callerCancelled(id, inSend: inSend) else {
                throw Divergence("step \(step): a second cancellation is a no-op")
            }
        case 70..<85:  // time passes
            now += Self.at(Double(Int.random(in: 0...3_000, using: &random)) / 1_000)
            var expected: [RPCCallID: RPCReferenceModel.Step] = [:]
            var timeouts = 0
            var failovers = 0
            var abandoned: Set<RPCHandlerCore.Abandoned> = []
            let due = model.calls.filter { $0.value.deadline.map { $0 <= now } ?? false }
            for (id, call) in due {
                switch call.phase {
                case .discovering:
                    model.leaveDiscovery(id)
                    model.calls[id] = nil
                    expected[id] = now >= call.overall ? .failed(.deadlineExceeded, tried: 0) : .failed(.discoveryTimedOut, tried: nil)
                case .awaiting:
                    timeouts += 1
                    abandoned.insert(RPCHandlerCore.Abandoned(id: id, attempt: call.tried))
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
            let sizeBefore = core.size
            let (effects, next) = core.deadlinesPassed(now: now, takeStarts: Bool.random(using: &random))
            try check(sizeBefore - core.size == effects.removed,
                      "step \(step): deadlines: \(sizeBefore - core.size) entries left, \(effects.removed) removals reported")
            var actual: [RPCCallID: RPCReferenceModel.Step] = [:]
            for resume in effects.resumes { actual[resume.id] = comparable(resume.step, resume.id, core) }
            try check(actual == expected, "step \(step): actual == expected")
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
            try check(effects.attemptTimeouts == timeouts, "step \(step): effects.attemptTimeouts == timeouts")
            try check(effects.abandoned.count == abandoned.count && Set(effects.abandoned) == abandoned,
                      "step \(step): deadlines abandoned \(effects.abandoned), model \(abandoned)")
            seen["abandoned"]! += abandoned.count
            try check(effects.failovers == failovers, "step \(step): effects.failovers == failovers")
            try check(next == model.calls.values.compactMap(\.deadline).min(), "step \(step): next == model.calls.values.compactMap(\\.deadline).min()")
        case 85..<95:  // a discovery ends
            guard let service = model.discoveries.keys.randomElement(using: &random) else { break }
            let discoveryID = try unwrap(core.discoveryByService[service], "step \(step): no discovery of \(service)")
            let kind = Int.random(in: 0..<4, using: &random)
            let count = kind == 0 ? 0 : Int.random(in: 1...4, using: &random)
            let outcome: RPCHandlerCore.DiscoveryOutcome = kind == 1 ? .failed("down") : .found(providers(count))
            let waiters = model.discoveries.removeValue(forKey: service)!
            var expected: [(RPCCallID, RPCReferenceModel.Step)] = []
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
            let sizeBefore = core.size
            let effects = core.discoveryFinished(discoveryID, outcome: outcome, now: now)
            try check(sizeBefore - core.size == effects.removed,
                      "step \(step): discovery finished: \(sizeBefore - core.size) entries left, \(effects.removed) removals reported")
            try check(effects.resumes.map(\.id) == expected.map(\.0), "step \(step): effects.resumes.map(\\.id) == expected.map(\\.0)")
            try check(effects.resumes.map { comparable($0.step, $0.id, core) } == expected.map(\.1), "step \(step): effects.resumes.map { comparable($0.step, $0.id, core) } == expected.map(\\.1)")
            finishedDiscoveries.append(discoveryID)
            if kind >= 2 { seen["discovery found"]! += 1 }
        case 100..<103:  // the operator's limit changes (only when `varyLimits`)
            let limit = Int.random(in: 0...14, using: &random)
            do {
                try core.setBaseLimit(limit)
                try check(limit >= 1, "step \(step): setBaseLimit(\(limit)) was accepted")
                try model.budget.setBaseLimit(limit)
            } catch let error as Divergence {
                throw error
            } catch {
                try check(limit < 1, "step \(step): setBaseLimit(\(limit)) threw \(error)")
            }
            seen["limit changed", default: 0] += 1
        case 103..<106:  // the pressure scale changes (only when `varyLimits`)
            let scale = [1, 0.9, 0.5, 0.25, 0, -1, 2, .nan][Int.random(in: 0...7, using: &random)]
            core.setPressureScale(scale)
            model.budget.setPressureScale(scale)
            seen["pressure changed", default: 0] += 1
        case 95..<98:  // the transport reports an attempt failed (sometimes a stale one, or an ended call)
            let target = Int.random(in: 0..<5, using: &random) == 0 ? ended.randomElement(using: &random) : model.calls.keys.randomElement(using: &random)
            guard let id = target else { break }
            let call = model.calls[id]
            let stale = Int.random(in: 0..<4, using: &random) == 0
            let attempt = max(0, (call?.tried ?? 1) - (stale ? 1 : 0))
            let sizeBefore = core.size
            let effects = core.attemptFailed(id, attempt: attempt, now: now)
            guard let call, call.tried >= 1, attempt == call.tried else {
                try check(effects == nil, "step \(step): a report for no current attempt was taken")
                seen["stale attempt report"]! += 1
                break
            }
            switch call.phase {
            case .sending(nil):
                model.calls[id]!.phase = .sending(.timedOut)
                let taken = try unwrap(effects, "step \(step): a failure while sending was refused")
                try check(taken.attemptFailures == 1 && taken.resumes.isEmpty && taken.abandoned.isEmpty && taken.failovers == 0,
                          "step \(step): a failure while sending acts when the send returns")
                seen["attempt failed while sending"]! += 1
            case .awaiting:
                let expected: RPCReferenceModel.Step
                if now >= call.overall {
                    model.calls[id] = nil
                    expected = .failed(.deadlineExceeded, tried: call.tried)
                } else {
                    expected = model.failover(id, now: now)
                }
                let taken = try unwrap(effects, "step \(step): a failure while awaiting the reply was refused")
                try check(taken.attemptFailures == 1 && taken.attemptTimeouts == 0, "step \(step): counted as a failure, not a timeout")
                try check(taken.abandoned == [RPCHandlerCore.Abandoned(id: id, attempt: attempt)], "step \(step): the failed attempt is abandoned")
                try check(taken.failovers == (model.calls[id] == nil ? 0 : 1), "step \(step): failovers \(taken.failovers)")
                try check(taken.resumes.map { comparable($0.step, $0.id, core) } == [expected], "step \(step): attempt failed: \(taken.resumes.map(\.step)), model \(expected)")
                try check(sizeBefore - core.size == taken.removed, "step \(step): attempt failed: removals")
                if model.calls[id] == nil { ended.append(id) }
                seen["attempt failed"]! += 1
                seen["abandoned"]! += 1
            default:
                try check(effects == nil, "step \(step): a report for an attempt already ended was taken")
                seen["stale attempt report"]! += 1
            }
        default:  // a stale discovery result, or an interruption: both change nothing
            if let stale = finishedDiscoveries.randomElement(using: &random), core.discoveries[stale] == nil {
                try check(core.discoveryFinished(stale, outcome: .found(providers(2)), now: now).resumes.isEmpty, "step \(step): core.discoveryFinished(stale, outcome: .found(providers(2)), now: now).resumes.i")
            }
            if let service = model.discoveries.keys.randomElement(using: &random) {
                try check(core.discoveryFinished(core.discoveryByService[service]!, outcome: .interrupted, now: now).resumes.isEmpty, "step \(step): core.discoveryFinished(core.discoveryByService[service]!, outcome: .interrupted,")
            }
        }
        if ended.count > 200 { ended.removeFirst(100) }
        try compare()
    }

    /// Compares the calls, their phases and deadlines, and the discoveries.
    func compare() throws(Divergence) {
        try check(core.callCount == model.calls.count, "step \(step): \(core.callCount) calls, model \(model.calls.count)")
        try check(core.discoveries.count == model.discoveries.count, "step \(step): \(core.discoveries.count) discoveries, model \(model.discoveries.count)")
        try check(core.size == model.size, "step \(step): size \(core.size), model \(model.size)")
        try check(core.budget.effectiveLimit == model.budget.effectiveLimit, "step \(step): limit \(core.budget.effectiveLimit), model \(model.budget.effectiveLimit)")
        try check(core.deadlines.count == model.calls.values.filter { $0.deadline != nil }.count, "step \(step): \(core.deadlines.count) deadlines")
        for (id, call) in model.calls {
            let phase = try unwrap(core.phase(of: id), "step \(step): \(id) missing")
            switch (call.phase, phase) {
            case (.discovering(let service), .discovering(let discovery)):
                try check(core.discoveries[discovery]?.service == service, "step \(step): \(id) discovers the wrong service")
            case (.sending(nil), .sending(nil)),
                 (.sending(.timedOut), .sending(.attemptFailed)),
                 (.sending(.replied), .sending(.replied)),
                 (.awaiting, .awaitingReply):
                break
            default:
                throw Divergence("step \(step): \(id) is \(phase), the model says \(call.phase)")
            }
            try check(core.deadlines.deadline(of: id.rawValue) == call.deadline, "step \(step): deadline of \(id)")
        }
        for (service, waiters) in model.discoveries {
            let discovery = try unwrap(core.discoveryByService[service], "step \(step): no discovery of \(service)")
            try check(core.discoveries[discovery]?.waiters.count == waiters.count, "step \(step): waiters of \(service)")
        }
    }

    /// Shutdown ends everything: parked callers at once, sending ones when their send returns; then
    /// nothing is left.
    package mutating func shutdown() throws(Divergence) {
        let sending = Set(model.calls.filter { if case .sending = $0.value.phase { return true } else { return false } }.keys)
        let sizeBefore = core.size
        let effects = core.shutdown()
        try check(sizeBefore - core.size == effects.removed, "shutdown: \(sizeBefore - core.size) entries left, \(effects.removed) removals reported")
        try check(Set(effects.resumes.map(\.id)) == Set(model.calls.keys).subtracting(sending), "shutdown resumed the wrong callers")
        try check(effects.resumes.allSatisfy { $0.step.error == .shutdown }, "shutdown resumed a caller with another error")
        let awaiting = model.calls.compactMap { id, call in call.phase == .awaiting ? RPCHandlerCore.Abandoned(id: id, attempt: call.tried) : nil }
        try check(effects.abandoned.count == awaiting.count && Set(effects.abandoned) == Set(awaiting), "shutdown abandoned \(effects.abandoned), model \(awaiting)")
        for id in sending {
            let action = core.sendCompleted(id, failed: false, now: now)
            try check(action.finished?.result.error == .shutdown, "a send returning after shutdown")
            try check(action.abandonsAttempt, "a send returning after shutdown abandons its attempt")
        }
        try check(core.size == 0, "\(core.size) entries left after shutdown")
        try check(core.deadlines.isEmpty, "deadlines left after shutdown")
    }
}

/// Accessors that make core actions easy to compare.
extension RPCHandlerCore.CallStartAction {
    fileprivate var sent: (id: RPCCallID, attempt: RPCAttempt, wake: Bool)? {
        if case .send(let id, let attempt, let wake, _) = self { return (id, attempt, wake) }
        return nil
    }
    fileprivate var waiting: (id: RPCCallID, wake: Bool, created: Bool)? {
        if case .awaitDiscovery(let id, let wake, let created, _) = self { return (id, wake, created) }
        return nil
    }
    fileprivate var rejection: (error: RPCError, atLimit: Bool)? {
        if case .rejected(let error, let counted) = self { return (error, counted == .limitReached) }
        return nil
    }
}

extension RPCHandlerCore.SendCompletedAction {
    fileprivate var isAwaitingReply: Bool {
        if case .awaitReply = self { return true }
        return false
    }
    fileprivate var next: RPCAttempt? {
        if case .send(let attempt, _) = self { return attempt }
        return nil
    }
    fileprivate var finished: (result: Result<[UInt8], RPCError>, reason: RPCHandlerCore.Removal)? {
        if case .finished(let result, let reason) = self { return (result, reason) }
        return nil
    }
}

extension RPCStep {
    fileprivate var error: RPCError? {
        if case .finished(.failure(let error)) = self { return error }
        return nil
    }
}

extension Result where Failure == RPCError {
    fileprivate var error: RPCError? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
