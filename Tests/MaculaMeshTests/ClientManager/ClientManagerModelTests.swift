@testable import MaculaMesh
import Testing

/// The reference model: the client manager's rules written as plainly as possible, with linear
/// scans and no indexes.
private struct ClientsModel {
    struct Waiting {
        var id: UInt64
        var client: String
        var info: String
        var deadline: Int
        var waiter: ClientsWaiter
        var cancelled = false
    }

    var clients: [String: (info: String, registration: UInt64)] = [:]
    var streams: [Int: String] = [:]
    var queue: [Waiting] = []
    var baseLimit: Int
    var halved = false
    /// Whether `run()` runs, whether one ever started, and whether the one-time warning about
    /// callers overdue before it started was due.
    var running = false
    var everStarted = false
    var warned = false
    var shutDown = false
    var lastRegistration: UInt64 = 0
    let maximumStreams: Int
    let maximumWaiters: Int

    var limit: Int { max(1, halved ? baseLimit / 2 : baseLimit) }
    var isFull: Bool { !queue.isEmpty || clients.count >= limit }

    mutating func register(_ client: String, _ info: String) -> UInt64 {
        lastRegistration += 1
        clients[client] = (info, lastRegistration)
        return lastRegistration
    }

    mutating func connect(_ client: String, _ info: String) -> Result<UInt64, ClientManagerError> {
        if shutDown { return .failure(.shutdown) }
        if clients[client] != nil { return .success(register(client, info)) }
        if isFull { return .failure(.maxClientsReached) }
        return .success(register(client, info))
    }

    /// nil: queued.
    mutating func connectWaiting(_ client: String, _ info: String, _ waiting: Waiting) -> Result<UInt64, ClientManagerError>? {
        if shutDown { return .failure(.shutdown) }
        if clients[client] != nil || !isFull { return .success(register(client, info)) }
        if maximumWaiters == 0 { return .failure(.maxClientsReached) }
        if queue.count >= maximumWaiters { return .failure(.waitersLimitReached) }
        if everStarted && !running { return .failure(.notRunning) }
        queue.append(waiting)
        return nil
    }

    /// What a caller queued at `now` should report: nil once `run()` has started; otherwise
    /// whether the one-time warning about overdue callers is due (checked before it is queued).
    mutating func beforeRun(now: Int) -> AcceptedBeforeRun? {
        guard !everStarted else { return nil }
        return AcceptedBeforeRun(overdueBy: overdue(now: now))
    }

    /// The one-time warning: before `run()` ever started, a queued caller is past its deadline.
    mutating func overdue(now: Int) -> Duration? {
        guard !everStarted, !warned, let earliest = queue.map(\.deadline).min(), earliest <= now else { return nil }
        warned = true
        return .seconds(now - earliest)
    }

    mutating func grant() -> [String] {
        var granted: [String] = []
        while let front = queue.first, clients[front.client] != nil || clients.count < limit {
            queue.removeFirst()
            if front.cancelled { continue }
            _ = register(front.client, front.info)
            granted.append("grant \(front.waiter.name)")
        }
        return granted
    }

    mutating func remove(_ client: String) -> Set<Int>? {
        guard clients.removeValue(forKey: client) != nil else { return nil }
        let owned = Set(streams.filter { $0.value == client }.keys)
        for stream in owned { streams[stream] = nil }
        return owned
    }

    mutating func open(_ stream: Int, _ client: String) -> ClientManagerError? {
        if shutDown { return .shutdown }
        if clients[client] == nil { return .unknownClient }
        if let owner = streams[stream] { return owner == client ? nil : .streamOwnedByAnotherClient }
        if streams.values.filter({ $0 == client }).count >= maximumStreams { return .maxStreamsReached }
        streams[stream] = client
        return nil
    }

    mutating func deadlinePassed(_ now: Int) -> [String] {
        let due = queue.filter { $0.deadline <= now }.sorted { ($0.deadline, $0.id) < ($1.deadline, $1.id) }
        queue.removeAll { $0.deadline <= now }
        return due.map { "fail \($0.waiter.name) timedOut" }
    }
}

@Suite("ClientManager model", .timeLimit(.minutes(3)))
struct ClientManagerModelTests {
    @Test("random operations on the core agree with the reference model after every step", arguments: [
        UInt64(0x5EED_C11E), 0xC0FF_EE00_1234, 42,
    ])
    func agreesWithModel(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let configuration = ClientManagerConfiguration(maximumClients: 5, maximumStreamsPerClient: 3, maximumWaiters: 4)
        var core = try TestClientCore(configuration: configuration)
        var model = ClientsModel(baseLimit: 5, maximumStreams: 3, maximumWaiters: 4)
        // Some runs accept callers before run() starts, some start with it running.
        if Bool.random(using: &random) {
            _ = try core.runStarted(now: .zero)
            model.running = true
            model.everStarted = true
        }
        let clientIDs = (0..<12).map { "c\($0)" }
        var now = 0
        var lastWaiter = 0
        var issued: [(client: String, registration: UInt64)] = []
        var counts: [String: Int] = [:]

        for step in 0..<12_000 {
            let client = clientIDs.randomElement(using: &random)!
            let info = "i\(step)"
            let stream = Int.random(in: 0..<40, using: &random)
            let operation = Int.random(in: 0..<100, using: &random)
            var coreActions: [String] = []
            var modelActions: [String] = []
            let label: String

            switch operation {
            case 0..<18:
                label = "connect"
                let coreResult = Result { () throws(ClientManagerError) in try core.clientConnected(client, info: info) }
                let modelResult = model.connect(client, info)
                #expect(coreResult == modelResult, "step \(step): connect \(client)")
                if case .success(let registration) = coreResult { issued.append((client, registration)) }
            case 18..<30:
                label = "connectWaiting"
                lastWaiter += 1
                let waiter = ClientsFakeWaiter("w\(lastWaiter)")
                let deadline = now + Int.random(in: 1...12, using: &random)
                let coreResult = Result { () throws(ClientManagerError) in
                    try core.clientConnected(client, info: info, waiter: waiter, timeout: .seconds(deadline - now), now: .seconds(now))
                }
                var waiting = ClientsModel.Waiting(id: 0, client: client, info: info, deadline: deadline, waiter: waiter)
                if case .success(.queued(let id, let actions)) = coreResult {
                    waiting.id = id
                    let reports = TestClientCore.reports(actions)
                    let expected = model.beforeRun(now: now)?.reports ?? []
                    #expect(reports == expected, "step \(step): accepted before run() with \(reports), model \(expected)")
                }
                let modelResult = model.connectWaiting(client, info, waiting)
                switch (coreResult, modelResult) {
                case (.success(.queued), nil): break
                case (.success(.registered(let a)), .success(let b)) where a == b: issued.append((client, a))
                case (.failure(let a), .failure(let b)) where a == b: break
                default: Issue.record("step \(step): connectWaiting \(client): core \(coreResult), model \(String(describing: modelResult))")
                }
            case 30..<38:
                label = "disconnect"
                let (removed, actions) = core.clientDisconnected(client)
                let owned = model.remove(client)
                #expect(removed.map { Set($0.streams) } == owned, "step \(step): disconnect \(client)")
                coreActions = core.settle(actions)
                modelActions = owned == nil ? [] : model.grant()
            case 38..<44:
                label = "registrationEnded"
                guard let (owner, registration) = issued.randomElement(using: &random) else { continue }
                let (removed, actions) = core.registrationEnded(owner, registration: registration)
                var owned: Set<Int>?
                if model.clients[owner]?.registration == registration { owned = model.remove(owner) }
                #expect(removed.map { Set($0.streams) } == owned, "step \(step): registrationEnded \(owner)")
                coreActions = core.settle(actions)
                modelActions = owned == nil ? [] : model.grant()
            case 44..<64:
                label = "openStream"
                let coreError = Result { () throws(ClientManagerError) in try core.openStream(stream, for: client) }.error
                #expect(coreError == model.open(stream, client), "step \(step): open \(stream) for \(client)")
            case 64..<74:
                label = "closeStream"
                let closed = core.closeStream(stream)
                #expect(closed == (model.streams.removeValue(forKey: stream) != nil), "step \(step): close \(stream)")
            case 74..<82:
                label = "cancelWaiter"
                guard let index = model.queue.indices.randomElement(using: &random) else { continue }
                model.queue[index].cancelled = true
                model.queue[index].waiter.cancel()
                // Half the time the cancelled caller re-enters at once; otherwise later, and a
                // grant may find it first and must skip it.
                if Bool.random(using: &random) {
                    #expect(core.waiterCancelled(model.queue[index].id) == true, "step \(step)")
                    model.queue.remove(at: index)
                }
            case 82..<84:
                label = "lateCleanup"
                for waiting in model.queue where waiting.cancelled {
                    #expect(core.waiterCancelled(waiting.id) == true, "step \(step)")
                }
                model.queue.removeAll { $0.cancelled }
            case 84..<90:
                label = "deadlinePassed"
                now += Int.random(in: 0...3, using: &random)
                // Only a running run() enforces the deadlines.
                if model.running {
                    let (actions, next) = core.deadlinePassed(now: .seconds(now))
                    coreActions = core.settle(actions)
                    modelActions = model.deadlinePassed(now)
                    #expect(next == model.queue.map(\.deadline).min().map { .seconds($0) }, "step \(step)")
                }
            case 90..<93:
                label = "setLimit"
                let limit = Int.random(in: 1...7, using: &random)
                coreActions = core.settle(try core.setBaseLimit(limit))
                model.baseLimit = limit
                modelActions = model.grant()
            case 93..<95:
                label = "pressure"
                model.halved.toggle()
                coreActions = core.settle(core.setPressureScale(model.halved ? 0.5 : 1))
                modelActions = model.grant()
            case 95..<97:
                label = "prune"
                let dead = Set(clientIDs.filter { _ in Int.random(in: 0..<4, using: &random) == 0 })
                let removal = core.prune { id, _ in !dead.contains(id) }
                var removedStreams = 0
                var removedClients = 0
                for id in dead {
                    if let owned = model.remove(id) {
                        removedClients += 1
                        removedStreams += owned.count
                    }
                }
                #expect(removal.clients == removedClients && removal.streams == removedStreams, "step \(step): prune")
                coreActions = removal.actions
                modelActions = model.grant()
            default:
                label = "runToggle"
                if model.running {
                    coreActions = core.settle(core.runStopped())
                    modelActions = model.queue.map { "fail \($0.waiter.name) notRunning" }
                    model.queue.removeAll()
                    model.running = false
                } else {
                    let expected = model.overdue(now: now)
                    #expect(TestClientCore.reports(try core.runStarted(now: .seconds(now))) == (expected.map { [Report.runNotStarted(overdueBy: $0)] } ?? []), "step \(step): runStarted")
                    model.running = true
                    model.everStarted = true
                    // run()'s first turn fires whatever is due.
                    coreActions = core.settle(core.deadlinePassed(now: .seconds(now)).actions)
                    modelActions = model.deadlinePassed(now)
                }
            }
            counts[label, default: 0] += 1
            for action in coreActions {
                counts[String(action.prefix(while: { $0 != " " })), default: 0] += 1
            }

            #expect(coreActions == modelActions, "step \(step): \(label)")
            try #require(agree(core, model), "step \(step): \(label)")
        }

        // Every operation kind ran many times, and the state went through full and waiting phases.
        #expect(counts.count == 15)  // 13 operations, plus the grant and fail actions they produced
        #expect(counts.values.allSatisfy { $0 > 50 }, "\(counts)")
        #expect(core.usage.highWaterMark >= 5)

        let removal = core.shutdownCounting()
        #expect(removal.clients == model.clients.count)
        #expect(removal.streams == model.streams.count)
        #expect(core.clientCount == 0 && core.streamCount == 0 && core.waiterCount == 0)
        core.expectConsistent()
    }

    /// Compares everything observable, and the core's own invariants.
    private func agree(_ core: TestClientCore, _ model: ClientsModel) -> Bool {
        guard core.invariantViolations().isEmpty,
              core.clientCount == model.clients.count,
              core.streamCount == model.streams.count,
              core.waiterCount == model.queue.count,
              core.nextDeadline == model.queue.map(\.deadline).min().map({ .seconds($0) }),
              core.usage.effectiveLimit == model.limit
        else { return false }
        for (client, entry) in model.clients {
            guard core.info(for: client) == entry.info,
                  core.registration(of: client) == entry.registration,
                  Set(core.streams(for: client)) == Set(model.streams.filter { $0.value == client }.keys)
            else { return false }
        }
        for stream in 0..<40 where core.client(for: stream) != model.streams[stream] {
            return false
        }
        return true
    }
}

extension Result {
    fileprivate var error: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
