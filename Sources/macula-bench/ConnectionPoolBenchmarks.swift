import Foundation
import MaculaMesh

// The connection pool's benchmark (issue 3): its hit and evicting miss through the actor and
// through the bare core, against Foundation's NSCache (countLimit) and against the original's
// algorithm (a map scanned for the oldest entry on every eviction), at 1k, 100k and 1M entries
// with integer node IDs; and the pool's memory per entry at 1M, measured.

/// A connection that costs nothing: the factory makes one without suspending.
private final class BenchConnection: PooledConnection {
    let node: Int
    init(node: Int) { self.node = node }
    var isAlive: Bool { true }
    func close() async {}
}

private typealias BenchCore = ConnectionPoolCore<Int, BenchConnection, Int, ContinuousClock.Instant>
private typealias BenchPool = ConnectionPool<Int, BenchConnection, ContinuousClock>

/// The original's algorithm: a map of last-use counters scanned for the oldest on eviction.
private struct NaiveScanPool {
    var entries: [Int: (connection: BenchConnection, lastUse: Int)] = [:]
    var clock = 0
    let limit: Int

    mutating func insert(_ node: Int, _ connection: BenchConnection) -> BenchConnection? {
        clock += 1
        var evicted: BenchConnection?
        if entries.count >= limit, let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            evicted = entries.removeValue(forKey: oldest.key)?.connection
        }
        entries[node] = (connection, clock)
        return evicted
    }
}

/// Keys in a fixed pseudo-random order over `0..<capacity` (every lookup is a hit, with the cache
/// behaviour of random access).
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
    let (action, _) = core.request(node, pin: false, id: 0, waiter: { _ in 0 }, now: { ContinuousClock.now })
    guard case .startConnect(let id) = action else { fatalError("benchmark expects a miss") }
    blackHole(core.connectFinished(id, result: .success(BenchConnection(node: node))))
}

func connectionPoolBenchmarks(quick: Bool) async -> [BenchmarkResult] {
    var results: [BenchmarkResult] = []
    let capacities = quick ? [1_000, 100_000] : [1_000, 100_000, 1_000_000]
    let operations = quick ? 20_000 : 200_000
    let repetitions = quick ? 3 : 5

    var coreMissNanos: [Int: Double] = [:]
    for capacity in capacities {
        let keys = hitKeys(capacity: capacity, count: operations)

        // The bare core.
        var core = fillCore(capacity: capacity)
        let coreHit = nanosecondsPerOperation(operations: operations, repetitions: repetitions) {
            for key in keys {
                let (action, _) = core.request(key, pin: false, id: 0, waiter: { _ in 0 }, now: { ContinuousClock.now })
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
    }

    // The original's algorithm, at 100k: every eviction scans the whole map.
    var naive = NaiveScanPool(limit: 100_000)
    for node in 0..<100_000 { _ = naive.insert(node, BenchConnection(node: node)) }
    let naiveOperations = quick ? 200 : 2_000
    var nextNaiveNode = 100_000
    let naiveMiss = nanosecondsPerOperation(operations: naiveOperations, repetitions: quick ? 1 : 3) {
        for _ in 0..<naiveOperations {
            blackHole(naive.insert(nextNaiveNode, BenchConnection(node: nextNaiveNode)))
            nextNaiveNode += 1
        }
    }
    naive.entries = [:]
    if let small = coreMissNanos[1_000], let large = coreMissNanos[100_000] {
        results.append(result(
            "core evicting miss: 100k / 1k", large / small, .atMost(2),
            "1k \(format(small)) ns, 100k \(format(large)) ns"))
        results.append(result(
            "evicting miss at 100k: naive scan / core", naiveMiss / large, .atLeast(1_000),
            "naive scan \(format(naiveMiss)) ns, core \(format(large)) ns"))
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
