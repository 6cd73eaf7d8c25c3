import Foundation
import MaculaMemory
import MaculaMesh

// The connection pool's benchmark: hits and evicting misses through the actor and the bare core
// at 1k, 100k and 1M entries with integer node IDs, each ratio the median of paired trials against
// its baseline (NSCache, a bare Dictionary, a skeleton pool), and the pool's memory per entry.

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

    /// The shape of the pool's `connection(to:)` with nothing inside.
    func asyncCall(_ value: Int) async throws(ConnectionPoolError) -> Int {
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
/// per miss, the victim's close and the hand-back, nothing else. With `waits`, the caller also
/// waits through the Kit's `Waiter`, as a cancellable caller must.
private actor SkeletonPool {
    var core: BenchCore
    let waits: Bool
    var waiter: Waiter<Void>?

    init(capacity: Int, waits: Bool) {
        core = try! BenchCore(maximumConnections: capacity, maximumWaiters: 0, waitTimeout: .seconds(1))
        self.waits = waits
    }

    func connection(to node: Int) async -> BenchConnection? {
        let (requested, actions) = core.request(node, pin: false, token: 0, now: .zero, isCancelled: false)
        guard case .waits(let request, let id?) = requested, actions.isEmpty else { return nil }
        let made = waits ? Waiter<Void>() : nil
        waiter = made
        if #available(macOS 26.0, iOS 26.0, watchOS 26.0, tvOS 26.0, visionOS 26.0, *) {
            Task.immediate { await self.connect(id, node) }
        } else {
            Task { await self.connect(id, node) }
        }
        if let made { _ = await made.wait() }
        guard case .connected(let connection, _) = core.callerResumed(request, node: node, delivered: true).0 else { return nil }
        return connection
    }

    func connect(_ id: BenchCore.ConnectID, _ node: Int) async {
        for action in core.connectFinished(id, result: .success(BenchConnection(node: node))) {
            if case .removed(let connection, _) = action { await connection.close() }
        }
        waiter?.finish(())
        waiter = nil
    }
}

/// A full skeleton pool of `capacity` and its evicting misses, `operations` at a time.
private final class SkeletonMisses {
    let skeleton: SkeletonPool
    var nextNode: Int

    init(capacity: Int, waits: Bool) async {
        skeleton = SkeletonPool(capacity: capacity, waits: waits)
        for node in 0..<capacity { _ = await skeleton.connection(to: node) }
        nextNode = capacity
    }

    func run(_ operations: Int) async {
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

/// One miss through the core, as the actor makes it: request, connect report, outcome taken.
@inline(__always)
private func coreMiss(_ core: inout BenchCore, _ node: Int) {
    let (requested, actions) = core.request(node, pin: false, token: 0, now: .zero, isCancelled: false)
    guard case .waits(let request, let id?) = requested, actions.isEmpty else { fatalError("benchmark expects a miss") }
    blackHole(core.connectFinished(id, result: .success(BenchConnection(node: node))))
    blackHole(core.callerResumed(request, node: node, delivered: true))
}

/// Evicting misses on a full core, `operations` at a time, each to a new node.
private struct CoreMisses {
    var core: BenchCore
    var nextNode: Int

    init(capacity: Int) {
        core = fillCore(capacity: capacity)
        nextNode = capacity
    }

    mutating func run(_ operations: Int) {
        for _ in 0..<operations {
            coreMiss(&core, nextNode)
            nextNode += 1
        }
    }
}

private func label(_ capacity: Int) -> String {
    capacity >= 1_000_000 ? "\(capacity / 1_000_000)M" : "\(capacity / 1_000)k"
}

func connectionPoolBenchmarks(quick: Bool) async -> [BenchmarkResult] {
    var results: [BenchmarkResult] = []
    let capacities = quick ? [1_000, 100_000] : [1_000, 100_000, 1_000_000]
    let operations = quick ? 20_000 : 200_000
    let trials = minimumTrials

    // The floor of a pool-owned connect task: an actor call with and without a Task.immediate.
    let floorActor = TaskFloorActor()
    let taskFloor = await pairedRatio(trials: trials, operations: operations, candidate: {
        for index in 0..<operations { blackHole(await floorActor.callStartingTask(index)) }
    }, baseline: {
        for index in 0..<operations { blackHole(await floorActor.call(index)) }
    })
    results.append(BenchmarkResult(
        group: "pool", name: "floor: actor call + Task.immediate / actor call", paired: taskFloor, target: .report,
        detail: "with the task \(format(taskFloor.candidate)) ns, an actor call alone \(format(taskFloor.baseline)) ns"))

    for capacity in capacities {
        let keys = hitKeys(capacity: capacity, count: operations)
        let name = label(capacity)

        var core = fillCore(capacity: capacity)
        let pool = try! BenchPool(configuration: .init(maximumConnections: capacity, maximumWaiters: 0)) { node in
            BenchConnection(node: node)
        }
        for node in 0..<capacity { _ = try? await pool.connection(to: node) }
        let cache = NSCache<NSNumber, BenchConnection>()
        cache.countLimit = capacity
        let cacheKeys = (0..<capacity).map { NSNumber(value: $0) }
        for node in 0..<capacity { cache.setObject(BenchConnection(node: node), forKey: cacheKeys[node]) }

        let actorHit: () async -> Void = {
            for key in keys { blackHole(try? await pool.connection(to: key)) }
        }
        let hitVersusCore = await pairedRatio(trials: trials, operations: operations, candidate: actorHit, baseline: {
            for key in keys { blackHole(core.hit(key)) }
        })
        results.append(BenchmarkResult(
            group: "pool", name: "hit: actor / bare core (\(name))", paired: hitVersusCore, target: .atMost(3),
            detail: "actor hit \(format(hitVersusCore.candidate)) ns, core hit \(format(hitVersusCore.baseline)) ns"))
        let hitVersusCache = await pairedRatio(trials: trials, operations: operations, candidate: {
            for key in keys { blackHole(cache.object(forKey: cacheKeys[key])) }
        }, baseline: actorHit)
        if capacity == capacities[0] {
            let hitVersusEmpty = await pairedRatio(trials: trials, operations: operations, candidate: actorHit, baseline: {
                for key in keys { blackHole(try? await floorActor.asyncCall(key)) }
            })
            results.append(BenchmarkResult(
                group: "pool", name: "hit bound: actor hit / an empty async throwing actor method (\(name))",
                // The restated 1k target: the actor's hit is bounded by an actor call, not the core.
                paired: hitVersusEmpty, target: .atMost(2),
                detail: "actor hit \(format(hitVersusEmpty.candidate)) ns, the empty method \(format(hitVersusEmpty.baseline)) ns"))
        }
        results.append(BenchmarkResult(
            group: "pool", name: "hit: NSCache get / actor hit (\(name))", paired: hitVersusCache, target: .atLeast(2),
            detail: "NSCache get \(format(hitVersusCache.candidate)) ns, actor hit \(format(hitVersusCache.baseline)) ns"))
        core = fillCore(capacity: 1)

        var nextActorNode = capacity
        let actorMiss: () async -> Void = {
            for _ in 0..<operations {
                blackHole(try? await pool.connection(to: nextActorNode))
                nextActorNode += 1
            }
        }
        let skeleton = await SkeletonMisses(capacity: capacity, waits: false)
        let missVersusSkeleton = await pairedRatio(trials: trials, operations: operations, candidate: actorMiss, baseline: {
            await skeleton.run(operations)
        })
        results.append(BenchmarkResult(
            group: "pool", name: "evicting miss: actor / skeleton (\(name))", paired: missVersusSkeleton, target: .atMost(2.5),
            detail: "actor \(format(missVersusSkeleton.candidate)) ns, skeleton (core + one Task.immediate) \(format(missVersusSkeleton.baseline)) ns"))
        let waitingSkeleton = await SkeletonMisses(capacity: capacity, waits: true)
        let missVersusWaitingSkeleton = await pairedRatio(trials: trials, operations: operations, candidate: actorMiss, baseline: {
            await waitingSkeleton.run(operations)
        })
        results.append(BenchmarkResult(
            group: "pool", name: "evicting miss bound: actor / skeleton with a Waiter (\(name))", paired: missVersusWaitingSkeleton,
            target: .report,
            detail: "actor \(format(missVersusWaitingSkeleton.candidate)) ns, skeleton whose caller waits through the Kit's Waiter \(format(missVersusWaitingSkeleton.baseline)) ns"))

        var nextCacheNode = capacity
        let missVersusCache = await pairedRatio(trials: trials, operations: operations, candidate: {
            for _ in 0..<operations {
                cache.setObject(BenchConnection(node: nextCacheNode), forKey: NSNumber(value: nextCacheNode))
                nextCacheNode += 1
            }
        }, baseline: actorMiss)
        results.append(BenchmarkResult(
            group: "pool", name: "evicting miss: NSCache insert / actor miss (\(name))", paired: missVersusCache, target: .report,
            detail: "NSCache evicting insert \(format(missVersusCache.candidate)) ns, actor \(format(missVersusCache.baseline)) ns"))
        await pool.shutdown()
        cache.removeAllObjects()
    }

    // The core's evicting miss against the floor of any map keyed by a Hashable node, and against
    // itself at 1k.
    var small = CoreMisses(capacity: 1_000)
    var large = CoreMisses(capacity: 100_000)
    var dictionary: [Int: BenchConnection] = [:]
    dictionary.reserveCapacity(100_000)
    for node in 0..<100_000 { dictionary[node] = BenchConnection(node: node) }
    var nextDictionaryNode = 100_000
    let coreVersusDictionary = pairedRatio(trials: trials, operations: operations, candidate: {
        large.run(operations)
    }, baseline: {
        for _ in 0..<operations {
            dictionary[nextDictionaryNode] = BenchConnection(node: nextDictionaryNode)
            blackHole(dictionary.removeValue(forKey: nextDictionaryNode - 100_000))
            nextDictionaryNode += 1
        }
    })
    results.append(BenchmarkResult(
        group: "pool", name: "core evicting miss (100k) / Dictionary insert+remove (100k)", paired: coreVersusDictionary,
        target: .atMost(3),
        detail: "core \(format(coreVersusDictionary.candidate)) ns, Dictionary \(format(coreVersusDictionary.baseline)) ns"))
    dictionary = [:]
    let largeVersusSmall = pairedRatio(trials: trials, operations: operations, candidate: {
        large.run(operations)
    }, baseline: {
        small.run(operations)
    })
    results.append(BenchmarkResult(
        group: "pool", name: "core evicting miss: 100k / 1k", paired: largeVersusSmall, target: .atMost(2),
        detail: "100k \(format(largeVersusSmall.candidate)) ns, 1k \(format(largeVersusSmall.baseline)) ns"))
    if !quick {
        var huge = CoreMisses(capacity: 1_000_000)
        let hugeVersusSmall = pairedRatio(trials: trials, operations: operations, candidate: {
            huge.run(operations)
        }, baseline: {
            small.run(operations)
        })
        results.append(BenchmarkResult(
            group: "pool", name: "core evicting miss: 1M / 1k", paired: hugeVersusSmall, target: .report,
            detail: "1M \(format(hugeVersusSmall.candidate)) ns, 1k \(format(hugeVersusSmall.baseline)) ns"))
    }

    // The naive map and the original's sort at 100k, single measurements, for scale.
    let coreMiss = largeVersusSmall.candidate
    let naiveMiss = measureLastUseMiss(.scan, operations: quick ? 200 : 2_000, repetitions: quick ? 1 : 3)
    results.append(result(
        "evicting miss at 100k: naive scan / core", naiveMiss / coreMiss, .report,
        "naive scan \(format(naiveMiss)) ns, core \(format(coreMiss)) ns"))
    let sortingMiss = measureLastUseMiss(.sort, operations: quick ? 3 : 20, repetitions: 1)
    results.append(result(
        "evicting miss at 100k: the original's sort / core", sortingMiss / coreMiss, .report,
        "sort by last use \(format(sortingMiss / 1_000)) µs, core \(format(coreMiss)) ns"))

    // Memory: heap in use before and after filling a pool, the connections made beforehand.
    let entries = quick ? 100_000 : 1_000_000
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
        "pool overhead, bytes per entry (\(label(entries)))", perEntry, .atMost(64),
        "heap in use \(before) -> \(after) bytes for \(size) entries (connections allocated before)"))
    await pool.shutdown()
    blackHole(connections)
    return results
}

private func result(_ name: String, _ ratio: Double, _ target: Target, _ detail: String) -> BenchmarkResult {
    let (targetText, met) = target.check(ratio)
    return BenchmarkResult(group: "pool", name: name, ratio: ratio, target: targetText, met: met, detail: detail)
}
