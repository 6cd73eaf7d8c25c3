import MaculaMemory
import MaculaMesh

/// The reference model of `ClientManagerCore`: the client manager's rules written as plainly as
/// possible, with linear scans and no indexes.
package struct ClientsModel {
    package struct Waiting {
        var id: UInt64
        var client: String
        var info: String
        var deadline: Int
        var waiter: ClientsModelRun.Waiter
        var cancelled = false
    }

    package var clients: [String: (info: String, registration: UInt64)] = [:]
    package var streams: [Int: String] = [:]
    package var queue: [Waiting] = []
    package var baseLimit: Int
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

    package init(baseLimit: Int, maximumStreams: Int, maximumWaiters: Int) {
        self.baseLimit = baseLimit
        self.maximumStreams = maximumStreams
        self.maximumWaiters = maximumWaiters
    }

    package var limit: Int { max(1, halved ? baseLimit / 2 : baseLimit) }
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

/// `ClientManagerCore` and ``ClientsModel`` side by side: the same random operations on both
/// (connects, waiting connects, disconnects, ended registrations, streams, cancellations, deadlines,
/// limit and pressure changes, prunes, `run()` starting and stopping), compared after every step.
package struct ClientsModelRun {
    package typealias Core = ClientManagerCore<String, String, Int>
    package typealias Outcome = Core.Outcome

    /// A kit waiter with a name, as the actor's caller holds it.
    package struct Waiter {
        package let waiter: MaculaMemory.Waiter<Outcome>
        package let name: String

        func cancel() { waiter.cancel() }
    }

    package private(set) var core: Core
    package private(set) var model: ClientsModel
    package private(set) var step = 0
    /// How many times each operation ran and each action came out (`grant`, `fail`).
    package private(set) var counts: [String: Int] = [:]
    package let clientIDs = (0..<12).map { "c\($0)" }
    var now = 0
    var lastWaiter = 0
    var issued: [(client: String, registration: UInt64)] = []
    var names: [ObjectIdentifier: String] = [:]

    /// A manager for `maximumClients` clients of `maximumStreams` streams each and
    /// `maximumWaiters` waiters; `running`: `run()` has started.
    package init(running: Bool, maximumClients: Int = 5, maximumStreams: Int = 3, maximumWaiters: Int = 4) throws {
        let configuration = ClientManagerConfiguration(
            maximumClients: maximumClients, maximumStreamsPerClient: maximumStreams, maximumWaiters: maximumWaiters
        )
        core = try Core(configuration: configuration)
        model = ClientsModel(baseLimit: maximumClients, maximumStreams: maximumStreams, maximumWaiters: maximumWaiters)
        if running {
            _ = try core.runStarted(now: .zero)
            model.running = true
            model.everStarted = true
        }
    }

    package var highWaterMark: Int { core.budget.usage(size: core.clientCount).highWaterMark }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    package mutating func randomOperation(_ random: inout ModelRandom) throws(Divergence) {
        let step = self.step
        self.step += 1
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
            try check(coreResult == modelResult, "step \(step): connect \(client): core \(coreResult), model \(modelResult)")
            if case .success(let registration) = coreResult { issued.append((client, registration)) }
        case 18..<30:
            label = "connectWaiting"
            lastWaiter += 1
            let waiter = Waiter(waiter: .init(), name: "w\(lastWaiter)")
            names[ObjectIdentifier(waiter.waiter)] = waiter.name
            let deadline = now + Int.random(in: 1...12, using: &random)
            let coreResult = Result { () throws(ClientManagerError) in
                try core.clientConnected(client, info: info, waiter: waiter.waiter, timeout: .seconds(deadline - now), now: .seconds(now))
            }
            var waiting = ClientsModel.Waiting(id: 0, client: client, info: info, deadline: deadline, waiter: waiter)
            if case .success(.queued(let id, let actions)) = coreResult {
                waiting.id = id
                let reports = Self.reports(actions)
                let expected = model.beforeRun(now: now)?.reports ?? []
                try check(reports == expected, "step \(step): accepted before run() with \(reports), model \(expected)")
            }
            let modelResult = model.connectWaiting(client, info, waiting)
            switch (coreResult, modelResult) {
            case (.success(.queued), nil): break
            case (.success(.registered(let a)), .success(let b)) where a == b: issued.append((client, a))
            case (.failure(let a), .failure(let b)) where a == b: break
            default: throw Divergence("step \(step): connectWaiting \(client): core \(coreResult), model \(String(describing: modelResult))")
            }
        case 30..<38:
            label = "disconnect"
            let (removed, actions) = core.clientDisconnected(client)
            let owned = model.remove(client)
            try check(removed.map { Set($0.streams) } == owned, "step \(step): disconnect \(client)")
            coreActions = settle(actions).actions
            modelActions = owned == nil ? [] : model.grant()
        case 38..<44:
            label = "registrationEnded"
            guard let (owner, registration) = issued.randomElement(using: &random) else { return }
            let (removed, actions) = core.registrationEnded(owner, registration: registration)
            var owned: Set<Int>?
            if model.clients[owner]?.registration == registration { owned = model.remove(owner) }
            try check(removed.map { Set($0.streams) } == owned, "step \(step): registrationEnded \(owner)")
            coreActions = settle(actions).actions
            modelActions = owned == nil ? [] : model.grant()
        case 44..<64:
            label = "openStream"
            let coreError = Result { () throws(ClientManagerError) in try core.openStream(stream, for: client) }.error
            let modelError = model.open(stream, client)
            try check(coreError == modelError, "step \(step): open \(stream) for \(client): core \(String(describing: coreError)), model \(String(describing: modelError))")
        case 64..<74:
            label = "closeStream"
            let closed = core.closeStream(stream)
            try check(closed == (model.streams.removeValue(forKey: stream) != nil), "step \(step): close \(stream)")
        case 74..<82:
            label = "cancelWaiter"
            guard let index = model.queue.indices.randomElement(using: &random) else { return }
            model.queue[index].cancelled = true
            model.queue[index].waiter.cancel()
            // Half the time the cancelled caller re-enters at once; otherwise later, and a
            // grant may find it first and must skip it.
            if Bool.random(using: &random) {
                try check(core.waiterCancelled(model.queue[index].id), "step \(step): the cancelled waiter's entry is gone")
                model.queue.remove(at: index)
            }
        case 82..<84:
            label = "lateCleanup"
            for waiting in model.queue where waiting.cancelled {
                try check(core.waiterCancelled(waiting.id), "step \(step): the cancelled waiter's entry is gone")
            }
            model.queue.removeAll { $0.cancelled }
        case 84..<90:
            label = "deadlinePassed"
            now += Int.random(in: 0...3, using: &random)
            // Only a running run() enforces the deadlines.
            if model.running {
                let (actions, next) = core.deadlinePassed(now: .seconds(now))
                coreActions = settle(actions).actions
                modelActions = model.deadlinePassed(now)
                try check(next == model.queue.map(\.deadline).min().map { .seconds($0) }, "step \(step): next deadline")
            }
        case 90..<93:
            label = "setLimit"
            let limit = Int.random(in: 1...7, using: &random)
            do {
                coreActions = settle(try core.setBaseLimit(limit)).actions
            } catch {
                throw Divergence("step \(step): setBaseLimit(\(limit)) threw \(error)")
            }
            model.baseLimit = limit
            modelActions = model.grant()
        case 93..<95:
            label = "pressure"
            model.halved.toggle()
            coreActions = settle(core.setPressureScale(model.halved ? 0.5 : 1)).actions
            modelActions = model.grant()
        case 95..<97:
            label = "prune"
            let dead = Set(clientIDs.filter { _ in Int.random(in: 0..<4, using: &random) == 0 })
            let removal = prune { id, _ in !dead.contains(id) }
            var removedStreams = 0
            var removedClients = 0
            for id in dead {
                if let owned = model.remove(id) {
                    removedClients += 1
                    removedStreams += owned.count
                }
            }
            try check(removal.clients == removedClients && removal.streams == removedStreams,
                      "step \(step): prune removed \(removal.clients) clients, \(removal.streams) streams; model \(removedClients), \(removedStreams)")
            coreActions = removal.actions
            modelActions = model.grant()
        default:
            label = "runToggle"
            if model.running {
                coreActions = settle(core.runStopped()).actions
                modelActions = model.queue.map { "fail \($0.waiter.name) notRunning" }
                model.queue.removeAll()
                model.running = false
            } else {
                let expected = model.overdue(now: now).map { [Report.runNotStarted(overdueBy: $0)] } ?? []
                let reports: [Report]
                do {
                    reports = Self.reports(try core.runStarted(now: .seconds(now)))
                } catch {
                    throw Divergence("step \(step): runStarted threw \(error)")
                }
                try check(reports == expected, "step \(step): runStarted reported \(reports), model \(expected)")
                model.running = true
                model.everStarted = true
                // run()'s first turn fires whatever is due.
                coreActions = settle(core.deadlinePassed(now: .seconds(now)).actions).actions
                modelActions = model.deadlinePassed(now)
            }
        }
        counts[label, default: 0] += 1
        for action in coreActions {
            counts[String(action.prefix(while: { $0 != " " })), default: 0] += 1
        }

        try check(coreActions == modelActions, "step \(step): \(label): core \(coreActions), model \(modelActions)")
        try agree(step: step, label: label)
    }

    /// Compares everything observable, and the core's own invariants.
    func agree(step: Int, label: String) throws(Divergence) {
        let violations = core.invariantViolations()
        try check(violations.isEmpty, "step \(step): \(label): \(violations)")
        try check(core.clientCount == model.clients.count, "step \(step): \(label): \(core.clientCount) clients, model \(model.clients.count)")
        try check(core.streamCount == model.streams.count, "step \(step): \(label): \(core.streamCount) streams, model \(model.streams.count)")
        try check(core.waiterCount == model.queue.count, "step \(step): \(label): \(core.waiterCount) waiters, model \(model.queue.count)")
        try check(core.nextDeadline == model.queue.map(\.deadline).min().map({ .seconds($0) }), "step \(step): \(label): next deadline")
        try check(core.budget.effectiveLimit == model.limit, "step \(step): \(label): limit \(core.budget.effectiveLimit), model \(model.limit)")
        for (client, entry) in model.clients {
            try check(core.info(for: client) == entry.info, "step \(step): \(label): info of \(client)")
            try check(core.registration(of: client) == entry.registration, "step \(step): \(label): registration of \(client)")
            try check(Set(core.streams(for: client)) == Set(model.streams.filter { $0.value == client }.keys), "step \(step): \(label): streams of \(client)")
        }
        for stream in 0..<40 where core.client(for: stream) != model.streams[stream] {
            throw Divergence("step \(step): \(label): owner of stream \(stream)")
        }
    }

    /// Shuts both down: every client and stream is reported removed exactly once, and nothing is
    /// left. - Returns: the waiters' outcomes, named.
    package mutating func shutdown() throws(Divergence) {
        let removal = settle(core.shutdown())
        try check(removal.clients == model.clients.count, "shutdown removed \(removal.clients) clients, model \(model.clients.count)")
        try check(removal.streams == model.streams.count, "shutdown removed \(removal.streams) streams, model \(model.streams.count)")
        let expected = model.queue.map { "fail \($0.waiter.name) shutdown" }
        try check(removal.actions == expected, "shutdown: core \(removal.actions), model \(expected)")
        try check(core.clientCount == 0 && core.streamCount == 0 && core.waiterCount == 0, "entries left after shutdown")
        let violations = core.invariantViolations()
        try check(violations.isEmpty, "after shutdown: \(violations)")
    }

    // MARK: Carrying out actions as the actor does

    mutating func settle(_ actions: [Core.Action]) -> ClientsSettlement {
        let names = self.names
        return core.settle(actions) { names[ObjectIdentifier($0)] ?? "?" }
    }

    mutating func prune(isAlive: (String, String) -> Bool) -> ClientsSettlement {
        let names = self.names
        return core.prune(isAlive: isAlive) { names[ObjectIdentifier($0)] ?? "?" }
    }

    /// The reports among `actions`.
    static func reports(_ actions: [Core.Action]) -> [Report] {
        actions.compactMap { if case .report(let report) = $0 { report } else { nil } }
    }

    /// A short name for an error in action names.
    package static func label(_ error: ClientManagerError) -> String {
        switch error {
        case .timedOut: "timedOut"
        case .notRunning: "notRunning"
        case .shutdown: "shutdown"
        case .cancelled: "cancelled"
        default: "\(error)"
        }
    }
}

/// What carrying out a client core's actions reported, for assertions.
package struct ClientsSettlement: Sendable, Equatable {
    package var clients = 0
    package var streams = 0
    /// What each waiter got: `grant w1`, `fail w2 timedOut`.
    package var actions: [String] = []
}

extension ClientManagerCore where ClientID == String, ClientInfo == String, StreamID == Int {
    /// Carries out `actions` as the actor does (answers offers with the waiter's claim, finishes
    /// waiters) and names what each waiter got, whether or not its cancellation won (its own call
    /// then cleans up); also sums the removals and removed streams reported.
    package mutating func settle(
        _ actions: [Action], name: (Waiter<Outcome>) -> String
    ) -> ClientsSettlement {
        var settled = ClientsSettlement()
        var pending = actions
        var index = 0
        while index < pending.count {
            switch pending[index] {
            case .offer(let waiter):
                pending += answerOffer(claimed: waiter.claim())
            case .resume(let waiter, let outcome, _):
                _ = waiter.finish(outcome)
                switch outcome {
                case .success: settled.actions.append("grant \(name(waiter))")
                case .failure(let error): settled.actions.append("fail \(name(waiter)) \(ClientsModelRun.label(error))")
                }
            case .report(.removed(let count, _)):
                settled.clients += count
            case .report(.event(.streamsRemoved, let count)):
                settled.streams += count
            case .report, .wakeDeadlineLoop:
                break
            }
            index += 1
        }
        return settled
    }

    /// The actor's `prune()`: the clients for which `isAlive` fails are removed, settled.
    package mutating func prune(
        isAlive: (String, String) -> Bool, name: (Waiter<Outcome>) -> String
    ) -> ClientsSettlement {
        settle(removeDead(connected.filter { !isAlive($0.0, $0.1) }.map(\.0)).actions, name: name)
    }
}

extension Result {
    fileprivate var error: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
