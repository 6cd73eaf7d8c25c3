import MaculaMesh

// The client manager against a plain Dictionary-based tracker doing the same work: clients in a
// dictionary with their stream IDs, plus a stream → client dictionary, with the same checks (limit,
// unknown client, stream owned by another client). Both trackers hold UInt64 client and stream IDs
// and a 16-byte info.

private struct BenchPeer: Sendable {
    var node: UInt64
    var port: Int
}

/// The baseline: what a straightforward, correct Swift tracker looks like without the library.
private struct DictionaryClients {
    var clients: [UInt64: (info: BenchPeer, streams: [UInt64])] = [:]
    var owners: [UInt64: UInt64] = [:]
    let limit: Int

    init(limit: Int) { self.limit = limit }

    mutating func connect(_ client: UInt64, info: BenchPeer) -> Bool {
        if clients[client] != nil {
            clients[client]!.info = info
            return true
        }
        guard clients.count < limit else { return false }
        clients[client] = (info, [])
        return true
    }

    mutating func openStream(_ stream: UInt64, for client: UInt64) -> Bool {
        guard clients[client] != nil, owners[stream] == nil else { return false }
        clients[client]!.streams.append(stream)
        owners[stream] = client
        return true
    }

    mutating func disconnect(_ client: UInt64) -> [UInt64]? {
        guard let entry = clients.removeValue(forKey: client) else { return nil }
        for stream in entry.streams { owners.removeValue(forKey: stream) }
        return entry.streams
    }
}

/// The same baseline behind an actor, to show what the actor hops alone cost.
private actor ActorDictionaryClients {
    var base: DictionaryClients
    init(limit: Int) { base = DictionaryClients(limit: limit) }
    func connect(_ client: UInt64, info: BenchPeer) -> Bool { base.connect(client, info: info) }
    func openStream(_ stream: UInt64, for client: UInt64) -> Bool { base.openStream(stream, for: client) }
    func disconnect(_ client: UInt64) -> [UInt64]? { base.disconnect(client) }
}

private typealias BenchManager = ClientManager<UInt64, BenchPeer, UInt64>
private typealias BenchCore = ClientManagerCore<UInt64, BenchPeer, UInt64>

private let streamsPerClient: UInt64 = 3
/// Clients already connected while the cycles run, so the dictionaries are not trivially small.
private let resident = 1_000

private func peer(_ id: UInt64) -> BenchPeer { BenchPeer(node: id, port: Int(id & 0xffff)) }

/// The benchmark suite of the client manager.
func clientManagerBenchmarks(quick: Bool) async -> [BenchmarkResult] {
    let cycles = quick ? 20_000 : 200_000
    let trials = quick ? minimumTrials : 7
    let memoryClients = 100_000
    let configuration = ClientManagerConfiguration(maximumClients: 1_000_000)
    var results: [BenchmarkResult] = []

    // MARK: cycle: connect + open 3 streams + disconnect

    var baseline = DictionaryClients(limit: 1_000_000)
    for id in 0..<UInt64(resident) {
        _ = baseline.connect(id, info: peer(id))
        for k in 0..<streamsPerClient { _ = baseline.openStream(id * 4 + k, for: id) }
    }
    var nextBaseline = UInt64(resident)
    func baselineCycles() {
        for _ in 0..<cycles {
            let id = nextBaseline
            nextBaseline += 1
            _ = baseline.connect(id, info: peer(id))
            for k in 0..<streamsPerClient { _ = baseline.openStream(id * 4 + k, for: id) }
            blackHole(baseline.disconnect(id))
        }
    }

    var core = try! BenchCore(configuration: configuration)
    for id in 0..<UInt64(resident) {
        _ = try! core.clientConnected(id, info: peer(id))
        for k in 0..<streamsPerClient { try! core.openStream(id * 4 + k, for: id) }
    }
    var nextCore = UInt64(resident)
    let coreRatio = pairedRatio(trials: trials, operations: cycles, candidate: {
        for _ in 0..<cycles {
            let id = nextCore
            nextCore += 1
            _ = try! core.clientConnected(id, info: peer(id))
            for k in 0..<streamsPerClient { try! core.openStream(id * 4 + k, for: id) }
            blackHole(core.clientDisconnected(id).removed)
        }
    }, baseline: baselineCycles)

    let manager = try! BenchManager(configuration: configuration)
    for id in 0..<UInt64(resident) {
        try! await manager.clientConnected(id, info: peer(id))
        for k in 0..<streamsPerClient { try! await manager.openStream(id * 4 + k, for: id) }
    }
    var nextActor = UInt64(resident)
    func actorCycles() async {
        for _ in 0..<cycles {
            let id = nextActor
            nextActor += 1
            try! await manager.clientConnected(id, info: peer(id))
            for k in 0..<streamsPerClient { try! await manager.openStream(id * 4 + k, for: id) }
            blackHole(await manager.clientDisconnected(id))
        }
    }
    let actorRatio = await pairedRatio(trials: trials, operations: cycles, candidate: { await actorCycles() }, baseline: { baselineCycles() })

    let actorBaseline = ActorDictionaryClients(limit: 1_000_000)
    for id in 0..<UInt64(resident) {
        _ = await actorBaseline.connect(id, info: peer(id))
        for k in 0..<streamsPerClient { _ = await actorBaseline.openStream(id * 4 + k, for: id) }
    }
    var nextActorBaseline = UInt64(resident)
    let actorOverActorRatio = await pairedRatio(trials: trials, operations: cycles, candidate: { await actorCycles() }, baseline: {
        for _ in 0..<cycles {
            let id = nextActorBaseline
            nextActorBaseline += 1
            _ = await actorBaseline.connect(id, info: peer(id))
            for k in 0..<streamsPerClient { _ = await actorBaseline.openStream(id * 4 + k, for: id) }
            blackHole(await actorBaseline.disconnect(id))
        }
    })

    func cycleResult(_ name: String, _ paired: PairedRatio, _ baseName: String, _ target: Target) -> BenchmarkResult {
        BenchmarkResult(
            group: "clients", name: name, paired: paired, target: target,
            detail: "\(format(paired.candidate)) ns vs \(format(paired.baseline)) ns per cycle (\(baseName)), \(cycles) cycles, \(resident) resident clients"
        )
    }
    results.append(cycleResult("cycle through the actor / plain Dictionary", actorRatio, "plain Dictionary", .atMost(3)))
    results.append(cycleResult("cycle on the bare core / plain Dictionary", coreRatio, "plain Dictionary", .atMost(3)))
    results.append(cycleResult("cycle through the actor / Dictionary in an actor", actorOverActorRatio, "Dictionary in an actor", .report))

    // MARK: memory per client with 3 streams at 100,000 clients

    let baselineBytes = measureHeap {
        var tracker = DictionaryClients(limit: 1_000_000)
        for id in 0..<UInt64(memoryClients) {
            _ = tracker.connect(id, info: peer(id))
            for k in 0..<streamsPerClient { _ = tracker.openStream(id * 4 + k, for: id) }
        }
        return tracker
    }
    let coreBytes = measureHeap {
        var tracker = try! BenchCore(configuration: configuration)
        for id in 0..<UInt64(memoryClients) {
            _ = try! tracker.clientConnected(id, info: peer(id))
            for k in 0..<streamsPerClient { try! tracker.openStream(id * 4 + k, for: id) }
        }
        return tracker
    }
    // Through the actor: what an embedder's process holds.
    let heapBeforeActor = heapBytesInUse()
    let filled = try! BenchManager(configuration: configuration)
    for id in 0..<UInt64(memoryClients) {
        try! await filled.clientConnected(id, info: peer(id))
        for k in 0..<streamsPerClient { try! await filled.openStream(id * 4 + k, for: id) }
    }
    let actorBytes = heapBytesInUse() - heapBeforeActor
    blackHole(await filled.clientCount)

    let perClientBaseline = Double(baselineBytes) / Double(memoryClients)
    let perClientCore = Double(coreBytes) / Double(memoryClients)
    let perClientActor = Double(actorBytes) / Double(memoryClients)
    let memoryRatio = perClientActor / perClientBaseline
    let (memoryTarget, memoryMet) = Target.atMost(2).check(memoryRatio)
    results.append(BenchmarkResult(
        group: "clients", name: "memory per client with 3 streams / plain Dictionary", ratio: memoryRatio,
        target: memoryTarget, met: memoryMet,
        detail: "\(format(perClientActor)) B (actor; bare core \(format(perClientCore)) B) vs \(format(perClientBaseline)) B per client at \(memoryClients) clients (heap in use, allocator statistics)"
    ))
    return results
}

/// Heap bytes held by what `build` returns, measured while it is alive.
private func measureHeap<T>(_ build: () -> T) -> Int {
    let before = heapBytesInUse()
    let built = build()
    let after = heapBytesInUse()
    blackHole(built)
    return after - before
}
