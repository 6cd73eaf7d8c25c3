import Foundation
import MaculaMesh

// The connection pool's benchmark (issue 3): its hit and evicting miss through the actor and
// through the bare core, against Foundation's NSCache (countLimit) and against a naive map
// scanned for the oldest entry on every eviction, at 1k, 100k and 1M entries with integer node
// IDs; and the pool's memory per entry at 1M, measured.
//
// Two floors are measured in the same process and reported beside the targets they bound:
// - a skeleton pool: an actor over the same core whose miss starts one `Task.immediate`, runs
//   the connect and the core's step in it, closes the victim and hands the connection back, and
//   does nothing else (no metrics, no cancellation, no waiters): about the least a pool pays for
//   a miss whose connect runs in a task of the pool's own, so that no caller's cancellation
//   reaches it; and the same skeleton connecting in the caller's task, which isolates what the
//   task costs (and an actor call plus a bare `Task.immediate`, for scale);
// - a Swift `Dictionary` insert plus remove at 100k, the least any map keyed by a `Hashable`
//   node pays for a miss that evicts.
// And the original's own eviction (sort every entry by last use, take the first) is reported
// beside the scan.

/// A connection that costs nothing: the factory makes one without suspending.
private final class BenchConnection: PooledConnection {
    let node: Int
    init(node: Int) { self.node = node }
    var isAlive: Bool { true }
    nonisolated(nonsending) func close() async {}
}

private typealias BenchCore = ConnectionPoolCore<Int, BenchConnection, Int>
private typealias BenchPool = ConnectionPool<Int, BenchConnection>

/// A map of last-use counters that looks for the oldest entry on every eviction: by a linear scan
/// (the naive baseline), or by sorting every entry by last use (the original's way, as
/// ORIGINAL.md describes it).
private struct LastUsePool {
    enum Search { case scan, sort }

    var entries: [Int: (connection: BenchConnection, lastUse: Int)] = [:]
    var clock = 0
    let limit: Int
    let search: Search

    mutating func insert(_ node: Int, _ connection: BenchConnection) -> BenchConnection? {
        clock += 1
        var evicted: BenchConnection?
        if entries.count >= limit, let oldest = oldestNode() {
            evicted = entries.removeValue(forKey: oldest)?.connection
        }
        entries[node] = (connection, clock)
        return evicted
    }

    private func oldestNode() -> Int? {
        switch search {
        case .scan: entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key
        case .sort: entries.sorted(by: { $0.value.lastUse < $1.value.lastUse }).first?.key
        }
    }
}

/// An evicting miss in a full 100k-entry `LastUsePool`, in nanoseconds.
private func measureLastUseMiss(_ search: LastUsePool.Search, operations: Int, repetitions: Int) -> Double {
    var pool = LastUsePool(limit: 100_000, search: search)
    for node in 0..<100_000 { _ = pool.insert(node, BenchConnection(node: node)) }
    var nextNode = 100_000
    return nanosecondsPerOperation(operations: operations, repetitions: repetitions) {
        for _ in 0..<operations {
            blackHole(pool.insert(nextNode, BenchConnection(node: nextNode)))
            nextNode += 1
        }
    }
}

/// An actor that does nothing, to measure an actor call with and without a `Task.immediate`.
private actor TaskFloorActor {
    var counter = 0

    func call(_ value: Int) -> Int {
        counter &+= value
        return counter
    }

    func callStartingTask(_ value: Int) -> Int {
        if #available(macOS 26.0, iOS 26.0, watchOS 26.0, tvOS 26.0, visionOS 26.0, *) {
            Task.immediate { self.counter &+= value }
        } else {
            Task { self.counter &+= value }
        }
        return counter
    }
}

/// The skeleton of a pool whose connects run in tasks of its own: the core, one `Task.immediate`
/// per miss, the victim's close and the hand-back, and nothing else. With `startsTasks` false the
/// same work runs in the caller's task: the difference is what the pool-owned task costs.
private actor SkeletonPool {
    var core: BenchCore
    var handedBack: BenchConnection?
    let startsTasks: Bool

    init(capacity: Int, startsTasks: Bool) {
        core = try! BenchCore(maximumConnections: capacity, maximumWaiters: 0, waitTimeout: .seconds(1))
        self.startsTasks = startsTasks
    }

    func connection(to node: Int) async -> BenchConnection? {
        let (action, _) = core.request(node, pin: false, id: 0, waiter: { _ in 0 }, now: { .zero })
        guard case .startConnect(let id) = action else { return nil }
        if !startsTasks {
            await connect(id, node)
        } else if #available(macOS 26.0, iOS 26.0, watchOS 26.0, tvOS 26.0, visionOS 26.0, *) {
            Task.immediate { await self.connect(id, node) }
        } else {
            Task { await self.connect(id, node) }
        }
        defer { handedBack = nil }
        return handedBack
    }

    func connect(_ id: BenchCore.ConnectID, _ node: Int) async {
        var actions = core.connectFinished(id, result: .success(BenchConnection(node: node)))
        for action in actions {
            switch action {
            case .close(let connection, _): await connection.close()
            case .resume(_, .connected(let connection, _)): handedBack = connection
            default: break
            }
        }
        core.recycle(&actions)
    }
}

/// An evicting miss through a skeleton pool, called from outside it, in nanoseconds.
private func measureSkeletonMiss(capacity: Int, startsTasks: Bool, operations: Int, repetitions: Int) async -> Double {
    let skeleton = SkeletonPool(capacity: capacity, startsTasks: startsTasks)
    for node in 0..<capacity { _ = await skeleton.connection(to: node) }
    var nextNode = capacity
    return await nanosecondsPerOperation(operations: operations, repetitions: repetitions) {
        for _ in 0..<operations {
            blackHole(await skeleton.connection(to: nextNode))
            nextNode += 1
        }
    }
}

/// Keys in a fixed pseudo-random order over `0..<capacity` (every lookup is a hit, with the cache
/// behavior of random access).
private func hitKeys(capacity: Int, count: Int) -> [Int] {
    var state: UInt64 = 0x2545_F491_4F6C_DD1D
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((state >> 33) % UInt64(capacity))
    }
}

private func fillCore(capacity: Int) -> BenchCore {
    var core = try! BenchCore(maximumConnections: capacity, maximumWaiters: 0, waitTimeout: .seconds(1))
    for node in 0..<capacity { coreMiss(&core, node) }
    return core
}

/// One miss through the core, as the actor does it: request, connect, report.
@inline(__always)
private func coreMiss(_ core: inout BenchCore, _ node: Int) {
    let (action, _) = core.request(node, pin: false, id: 0, waiter: { _ in 0 }, now: { .zero })
    guard case .startConnect(let id) = action else { fatalError("benchmark expects a miss") }
    var actions = core.connectFinished(id, result: .success(BenchConnection(node: node)))
    core.recycle(&actions)
}

func connectionPoolBenchmarks(quick: Bool) async -> [BenchmarkResult] {
    var results: [BenchmarkResult] = []
    let capacities = quick ? [1_000, 100_000] : [1_000, 100_000, 1_000_000]
    let operations = quick ? 20_000 : 200_000
    let repetitions = quick ? 3 : 5

    // The floor of a pool-owned connect task: an actor call with and without a Task.immediate.
    let floorActor = TaskFloorActor()
    let actorCall = await nanosecondsPerOperation(operations: operations, repetitions: repetitions) {
        for index in 0..<operations { blackHole(await floorActor.call(index)) }
    }
    let actorCallWithTask = await nanosecondsPerOperation(operations: operations, repetitions: repetitions) {
        for index in 0..<operations { blackHole(await floorActor.callStartingTask(index)) }
    }
    results.append(result(
        "floor: actor call + Task.immediate, ns", actorCallWithTask, .report,
        "an actor call alone \(format(actorCall)) ns; the task adds \(format(actorCallWithTask - actorCall)) ns"))

    var coreMissNanos: [Int: Double] = [:]
    for capacity in capacities {
        let keys = hitKeys(capacity: capacity, count: operations)

        // The bare core.
        var core = fillCore(capacity: capacity)
        let coreHit = nanosecondsPerOperation(operations: operations, repetitions: repetitions) {
            for key in keys {
                let (action, _) = core.request(key, pin: false, id: 0, waiter: { _ in 0 }, now: { .zero })
                blackHole(action)
            }
        }
        var nextNode = capacity
        let coreEvictingMiss = nanosecondsPerOperation(operations: operations, repetitions: repetitions) {
            for _ in 0..<operations {
                coreMiss(&core, nextNode)
                nextNode += 1
            }
        }
        coreMissNanos[capacity] = coreEvictingMiss
        core = fillCore(capacity: 1)

        // The actor, called from outside it (this function is not isolated to any actor).
        let pool = try! BenchPool(configuration: .init(maximumConnections: capacity, maximumWaiters: 0)) { node in
            BenchConnection(node: node)
        }
        for node in 0..<capacity { _ = try? await pool.connection(to: node) }
        let actorHit = await nanosecondsPerOperation(operations: operations, repetitions: repetitions) {
            for key in keys { blackHole(try? await pool.connection(to: key)) }
        }
        var nextActorNode = capacity
        let actorEvictingMiss = await nanosecondsPerOperation(operations: operations, repetitions: repetitions) {
            for _ in 0..<operations {
                blackHole(try? await pool.connection(to: nextActorNode))
                nextActorNode += 1
            }
        }
        await pool.shutdown()

        // The skeleton of a pool with pool-owned connect tasks, and the same without the tasks.
        let skeletonMiss = await measureSkeletonMiss(
            capacity: capacity, startsTasks: true, operations: operations, repetitions: repetitions)
        let inlineSkeletonMiss = await measureSkeletonMiss(
            capacity: capacity, startsTasks: false, operations: operations, repetitions: repetitions)

        // NSCache with a count limit.
        let cache = NSCache<NSNumber, BenchConnection>()
        cache.countLimit = capacity
        let cacheKeys = (0..<capacity).map { NSNumber(value: $0) }
        for node in 0..<capacity { cache.setObject(BenchConnection(node: node), forKey: cacheKeys[node]) }
        let cacheGet = nanosecondsPerOperation(operations: operations, repetitions: repetitions) {
            for key in keys { blackHole(cache.object(forKey: cacheKeys[key])) }
        }
        var nextCacheNode = capacity
        let cacheEvictingInsert = nanosecondsPerOperation(operations: operations, repetitions: repetitions) {
            for _ in 0..<operations {
                cache.setObject(BenchConnection(node: nextCacheNode), forKey: NSNumber(value: nextCacheNode))
                nextCacheNode += 1
            }
        }
        cache.removeAllObjects()

        let label = capacity >= 1_000_000 ? "\(capacity / 1_000_000)M" : "\(capacity / 1_000)k"
        results.append(result(
            "hit: NSCache get / actor hit (\(label))", cacheGet / actorHit, .atLeast(3),
            "NSCache get \(format(cacheGet)) ns, actor hit \(format(actorHit)) ns"))
        results.append(result(
            "hit: actor / bare core (\(label))", actorHit / coreHit, .atMost(4),
            "actor hit \(format(actorHit)) ns, core hit \(format(coreHit)) ns"))
        results.append(result(
            "evicting miss: NSCache insert / actor miss (\(label))", cacheEvictingInsert / actorEvictingMiss, .atLeast(3),
            "NSCache evicting insert \(format(cacheEvictingInsert)) ns, actor evicting miss \(format(actorEvictingMiss)) ns, core \(format(coreEvictingMiss)) ns"))
        results.append(result(
            "evicting miss bound: NSCache insert / skeleton miss (\(label))", cacheEvictingInsert / skeletonMiss, .report,
            "skeleton pool (core + one Task.immediate, nothing else) \(format(skeletonMiss)) ns; the actor's miss is \(format(actorEvictingMiss / skeletonMiss))× that"))
        results.append(result(
            "evicting miss bound: NSCache insert / skeleton miss without the task (\(label))",
            cacheEvictingInsert / inlineSkeletonMiss, .report,
            "the same skeleton connecting in the caller's task \(format(inlineSkeletonMiss)) ns: the pool-owned task costs \(format(skeletonMiss - inlineSkeletonMiss)) ns"))
    }

    // The naive map at 100k: every eviction scans every entry.
    let naiveMiss = measureLastUseMiss(.scan, operations: quick ? 200 : 2_000, repetitions: quick ? 1 : 3)

    // The floor of any map keyed by a Hashable node: a Dictionary insert plus remove at 100k.
    var dictionary: [Int: BenchConnection] = [:]
    dictionary.reserveCapacity(100_000)
    for node in 0..<100_000 { dictionary[node] = BenchConnection(node: node) }
    var nextDictionaryNode = 100_000
    let dictionaryPair = nanosecondsPerOperation(operations: operations, repetitions: repetitions) {
        for _ in 0..<operations {
            dictionary[nextDictionaryNode] = BenchConnection(node: nextDictionaryNode)
            blackHole(dictionary.removeValue(forKey: nextDictionaryNode - 100_000))
            nextDictionaryNode += 1
        }
    }
    dictionary = [:]

    // The original's eviction at 100k: every eviction sorts every entry by last use.
    let sortingMiss = measureLastUseMiss(.sort, operations: quick ? 3 : 20, repetitions: 1)

    if let small = coreMissNanos[1_000], let large = coreMissNanos[100_000] {
        results.append(result(
            "core evicting miss: 100k / 1k", large / small, .atMost(2),
            "1k \(format(small)) ns, 100k \(format(large)) ns"))
        results.append(result(
            "evicting miss at 100k: naive scan / core", naiveMiss / large, .atLeast(1_000),
            "naive scan \(format(naiveMiss)) ns, core \(format(large)) ns"))
        results.append(result(
            "evicting miss bound at 100k: naive scan / Dictionary insert+remove", naiveMiss / dictionaryPair, .report,
            "a bare Dictionary insert + remove \(format(dictionaryPair)) ns: the core is \(format(large / dictionaryPair))× that"))
        results.append(result(
            "evicting miss at 100k: the original's sort / core", sortingMiss / large, .report,
            "sort by last use \(format(sortingMiss / 1_000)) µs, core \(format(large)) ns"))
    }
    if let small = coreMissNanos[1_000], let huge = coreMissNanos[1_000_000] {
        results.append(result(
            "core evicting miss: 1M / 1k", huge / small, .report,
            "1k \(format(small)) ns, 1M \(format(huge)) ns"))
    }

    // Memory: heap in use before and after filling a pool, with the connections made beforehand
    // so that only the pool's own bookkeeping is counted.
    let entries = quick ? 100_000 : 1_000_000
    let label = entries >= 1_000_000 ? "1M" : "100k"
    let connections = (0..<entries).map { BenchConnection(node: $0) }
    let before = heapBytesInUse()
    let pool = try! BenchPool(configuration: .init(maximumConnections: entries, maximumWaiters: 0)) { node in
        connections[node]
    }
    for node in 0..<entries { _ = try? await pool.connection(to: node) }
    let after = heapBytesInUse()
    let size = await pool.memoryUsage().size
    let perEntry = Double(after - before) / Double(entries)
    results.append(result(
        "pool overhead, bytes per entry (\(label))", perEntry, .atMost(64),
        "heap in use \(before) -> \(after) bytes for \(size) entries (connections allocated before)"))
    await pool.shutdown()
    blackHole(connections)
    return results
}

private func result(_ name: String, _ ratio: Double, _ target: Target, _ detail: String) -> BenchmarkResult {
    let (targetText, met) = target.check(ratio)
    return BenchmarkResult(group: "pool", name: name, ratio: ratio, target: targetText, met: met, detail: detail)
}
