import MaculaMemory
import MaculaMesh
import MaculaTesting

/// One run: the real core and the model side by side, the same random operations on both.
package struct PoolModelRun {
    package typealias Core = ConnectionPoolCore<Int, FakeConnection<Int>, Int>

    /// Where the choices come from: a seed (the model test) or a fuzzer's input.
    package var random: ModelRandom
    var real: Core
    var model: PoolReferenceModel
    var now = 0
    var nextRequest: UInt64 = 0
    var serial = 0
    /// Connects in flight (live or abandoned) by ID, with their node.
    var connects: [UInt64: Int] = [:]
    /// Requests that wait for an outcome, with their node.
    var waiting: [UInt64: Int] = [:]
    /// The core's request ID of each request that waits, by number.
    var realIDs: [UInt64: UInt64] = [:]
    /// Leases handed out: the real lease and the serial of the leased connection.
    var leases: [(lease: ConnectionPoolLease, serial: Int)] = []
    var realOutcomes: [UInt64: PoolModelOutcome] = [:]
    var realClosed: [(serial: Int, reason: RemovalReason?)] = []
    var cancelled = 0
    /// Connect IDs the real core started in the current step, in order.
    var stepStarts: [UInt64] = []
    /// Requests that got their outcome in the current step.
    var stepOutcomes: [UInt64] = []
    var checkedCloses = 0
    var closedSerials = Set<Int>()
    /// One-time warnings about callers overdue before `run()` started.
    var warnings = 0
    /// The first difference found, with the operation after which it showed.
    package private(set) var failure: String?
    package var failed: Bool { failure != nil }
    var lastOperation = ""
    let nodes = 0..<10

    package init(random choices: ModelRandom) throws {
        random = choices
        let limit = Int.random(in: 1...5, using: &random)
        let maximumWaiters = [0, 2, 8][Int.random(in: 0...2, using: &random)]
        real = try Core(maximumConnections: limit, maximumWaiters: maximumWaiters, waitTimeout: .seconds(5))
        model = PoolReferenceModel(baseLimit: limit, maximumWaiters: maximumWaiters, timeout: 5)
        // Half the runs start with run() running, half accept callers before it starts.
        if Bool.random(using: &random) {
            _ = real.runStarted(now: .zero)
            model.startRunning(now: 0)
        }
    }

    /// The time `seconds` after the pool's origin.
    static func instant(_ seconds: Int) -> Duration { .seconds(seconds) }

    mutating func absorb(_ actions: [Core.Action]) {
        for action in actions {
            switch action {
            case .resume(let request):
                let id = UInt64(request)
                let node = waiting.removeValue(forKey: id) ?? -1
                let (outcome, cleanup) = real.callerResumed(realIDs[id] ?? .max, node: node, delivered: true)
                if !cleanup.isEmpty { fail("taking #\(id)'s outcome had actions") }
                record(id, outcome)
            case .removed(let connection, let reason):
                realClosed.append((connection.serial, reason))
            case .discarded(let connection):
                realClosed.append((connection.serial, nil))
            case .startConnect(let id, let node):
                connects[id] = node
                stepStarts.append(id)
            case .warnRunNotStarted:
                warnings += 1
            case .cancelConnect, .rejected, .event, .signalDeadlineLoop:
                break
            }
        }
    }

    mutating func record(_ id: UInt64, _ outcome: ConnectionPoolOutcome<FakeConnection<Int>>) {
        stepOutcomes.append(id)
        switch outcome {
        case .connected(let connection, let lease):
            realOutcomes[id] = .connected(serial: connection.serial, leased: lease != nil)
            if let lease { leases.append((lease, connection.serial)) }
        case .failed(let error):
            realOutcomes[id] = .failed(error)
        }
    }

    package mutating func step() {
        let roll = Int.random(in: 0..<100, using: &random)
        let node = Int.random(in: nodes, using: &random)
        switch roll {
        case 0..<40:
            let pin = Bool.random(using: &random)
            let id = nextRequest
            nextRequest += 1
            lastOperation = "request(\(node), pin: \(pin)) #\(id)"
            let at = now
            let (requested, actions) = real.request(node, pin: pin, token: Int(id), now: Self.instant(at), isCancelled: false)
            switch requested {
            case .connected(let connection, let lease): record(id, .connected(connection, lease))
            case .failed(let error): record(id, .failed(error))
            case .waits(let realID, _):
                waiting[id] = node
                realIDs[id] = realID
            }
            absorb(actions)
            if case .waits(_, let connect?) = requested {
                connects[connect] = node
                stepStarts.append(connect)
            }
            model.request(id, node: node, pin: pin, now: now)
        case 40..<60:
            guard let (id, node) = connects.randomElement(using: &random) else { return }
            connects[id] = nil
            let succeeds = Int.random(in: 0..<5, using: &random) > 0
            lastOperation = "connectFinished(\(id), node \(node), \(succeeds ? "success" : "failure"))"
            var connection: FakeConnection<Int>?
            if succeeds {
                serial += 1
                connection = FakeConnection(node: node, serial: serial)
            }
            let result: Result<FakeConnection<Int>, any Error> = connection.map { .success($0) } ?? .failure(PoolModelConnectError())
            absorb(real.connectFinished(id, result: result))
            model.connectFinished(id, connection: connection)
        case 60..<72:
            guard !leases.isEmpty else { return }
            let (lease, serial) = leases.remove(at: Int.random(in: leases.indices, using: &random))
            lastOperation = "release(#\(serial))"
            absorb(real.leaseReleased(lease))
            model.release(serial: serial)
        case 72..<77:
            guard let (id, node) = waiting.randomElement(using: &random) else { return }
            lastOperation = "cancel(#\(id))"
            waiting[id] = nil
            cancelled += 1
            let (outcome, cleanup) = real.callerResumed(realIDs[id] ?? .max, node: node, delivered: false)
            if outcome.error != .cancelled { fail("a cancelled caller got \(outcome)") }
            absorb(cleanup)
            model.cancel(id)
        case 77..<83:
            now += Int.random(in: 1...3, using: &random)
            lastOperation = "advance(to: \(now))"
            if model.running { absorb(real.deadlinePassed(now: Self.instant(now)).0) }
            model.advance(to: now)
        case 83..<87:
            lastOperation = "remove(\(node))"
            absorb(real.remove(node).1)
            model.remove(node)
        case 87..<91:
            let victim = real.connections().randomElement(using: &random)
            lastOperation = "markDead(\(victim.map { "\($0.node)" } ?? "-"))"
            victim?.connection.markDead()
        case 91:
            lastOperation = "prune(\(node))"
            let (removed, actions) = real.prune(node)
            absorb(actions)
            let expected = model.prune(node)
            if removed != expected { fail("prune(\(node)) removed \(removed), model \(expected)") }
        case 92:
            lastOperation = "prune"
            let (count, actions) = real.prune()
            absorb(actions)
            let expected = model.prune()
            if count != expected { fail("prune removed \(count), model \(expected)") }
        case 93..<96:
            let limit = Int.random(in: 1...6, using: &random)
            lastOperation = "setBaseLimit(\(limit))"
            absorb(try! real.setBaseLimit(limit))
            model.baseLimit = limit
            model.limitChanged(reason: .evicted)
        case 96..<99:
            let scale = [1, 0.5, 0.25, 0.75][Int.random(in: 0...3, using: &random)]
            lastOperation = "setPressureScale(\(scale))"
            absorb(real.setPressureScale(scale))
            model.scalePPM = Int((scale * 1_000_000).rounded())
            model.limitChanged(reason: .pressure)
        default:
            if model.running {
                lastOperation = "runStopped"
                absorb(real.runStopped())
                model.stopRunning()
            } else {
                lastOperation = "runStarted"
                if case .started(let overdue) = real.runStarted(now: Self.instant(now)), overdue != nil { warnings += 1 }
                // run()'s first turn fires whatever is due.
                absorb(real.deadlinePassed(now: Self.instant(now)).0)
                model.startRunning(now: now)
            }
        }
    }

    mutating func fail(_ message: String) {
        guard failure == nil else { return }
        failure = "after \(lastOperation): \(message)"
    }

    package mutating func compare(step: Int) {
        // Both pools start connects in the same order: give the model's new ones the real IDs.
        let unassigned = model.connects.indices.filter { model.connects[$0].id == 0 }
        if unassigned.count != stepStarts.count {
            fail("step \(step): \(stepStarts.count) connects started, model \(unassigned.count)")
        } else {
            for (index, id) in zip(unassigned, stepStarts) {
                if model.connects[index].node != connects[id] { fail("step \(step): connect \(id) to another node") }
                model.connects[index].id = id
            }
        }
        stepStarts = []
        let realOrder = real.connections().map { "\($0.node)#\($0.connection.serial)" }
        let modelOrder = model.order.map { "\($0.node)#\($0.connection.serial)" }
        if realOrder != modelOrder { fail("step \(step): order \(realOrder), model \(modelOrder)") }
        for entry in model.entries {
            guard case .established(_, let leases) = real.state(of: entry.node), leases == entry.pins else {
                fail("step \(step): \(entry.node) should have \(entry.pins) leases, has \(String(describing: real.state(of: entry.node)))")
                return
            }
        }
        if real.limit != model.limit { fail("limit \(real.limit), model \(model.limit)") }
        if real.inFlight != model.inFlight { fail("inFlight \(real.inFlight), model \(model.inFlight)") }
        if real.waiterCount != model.queue.count { fail("waiters \(real.waiterCount), model \(model.queue.count)") }
        if warnings != model.warnings { fail("step \(step): \(warnings) run-not-started warnings, model \(model.warnings)") }
        // Outcomes and closes only accumulate: compare what this step added.
        if realOutcomes.count != model.outcomes.count {
            fail("step \(step): \(realOutcomes.count) outcomes, model \(model.outcomes.count)")
        }
        for id in stepOutcomes where realOutcomes[id] != model.outcomes[id] {
            fail("step \(step): #\(id) got \(realOutcomes[id].map(\.description) ?? "none"), model \(model.outcomes[id].map(\.description) ?? "none")")
            break
        }
        stepOutcomes = []
        if realClosed.count != model.closed.count {
            fail("step \(step): \(realClosed.count) closed, model \(model.closed.count)")
        } else if realClosed.count != checkedCloses {
            let realNew = realClosed[checkedCloses...].map { "\($0.serial):\($0.reason?.name ?? "-")" }.sorted()
            let modelNew = model.closed[checkedCloses...].map { "\($0.serial):\($0.reason?.name ?? "-")" }.sorted()
            if realNew != modelNew { fail("step \(step): closed \(realNew), model \(modelNew)") }
            for (serial, _) in realClosed[checkedCloses...] where !closedSerials.insert(serial).inserted {
                fail("#\(serial) was closed twice")
            }
            checkedCloses = realClosed.count
        }
        let problems = real.invariantViolations()
        if !problems.isEmpty { fail("step \(step): invariants: \(problems)") }
        if real.usage().size > max(real.limit, real.entries.pinnedCount) { fail("size above the limit") }
    }

    /// Shuts both down; every connect still in flight then reports. Every request not cancelled
    /// got an outcome, and every connection ever made was closed exactly once.
    package mutating func finish() {
        lastOperation = "shutdown"
        absorb(real.shutdown())
        model.shutdown()
        // Connects still in flight report after shutdown: their connections are closed.
        for (id, node) in connects.sorted(by: { $0.key < $1.key }) {
            serial += 1
            let connection = FakeConnection(node: node, serial: serial)
            absorb(real.connectFinished(id, result: .success(connection)))
            model.connectFinished(id, connection: connection)
        }
        connects = [:]
        compare(step: -1)
        if realOutcomes.count + cancelled != Int(nextRequest) {
            fail("\(Int(nextRequest) - cancelled - realOutcomes.count) requests not cancelled got no outcome")
        }
        if Set(realClosed.map(\.serial)) != Set((0..<serial).map { $0 + 1 }) || realClosed.count != serial {
            fail("\(serial) connections made, \(realClosed.count) closes reported for \(Set(realClosed.map(\.serial)).count) of them")
        }
    }
}

/// The error a failed connect reports.
struct PoolModelConnectError: Error {}

extension ConnectionPoolOutcome {
    fileprivate var error: ConnectionPoolError? {
        if case .failed(let error) = self { return error }
        return nil
    }
}
