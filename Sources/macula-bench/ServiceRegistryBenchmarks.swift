import Dispatch
import MaculaMemory
import MaculaMesh
import MaculaTesting

// The registry's benchmark: `prune()` against a naive full-scan prune (the seed's
// `prune_expired_local_services`), lookups, memory per entry. Sizes shrink in quick mode.

/// The baseline: a dictionary of expiries pruned by scanning every entry.
private struct NaiveServiceTable {
    var entries: [String: (provider: ServiceProvider, expiresAt: ManualClock.Instant)] = [:]

    mutating func pruneExpired(now: ManualClock.Instant) -> Int {
        var expired: [String] = []
        for (service, entry) in entries where !(now < entry.expiresAt) { expired.append(service) }
        for service in expired { entries.removeValue(forKey: service) }
        return expired.count
    }
}

/// The baseline's lookups, behind an actor like the registry's.
private actor NaiveLookupActor {
    var table: NaiveServiceTable
    let clock: ManualClock
    init(table: NaiveServiceTable, clock: ManualClock) {
        self.table = table
        self.clock = clock
    }
    func providers(for service: String) -> [ServiceProvider] {
        guard let entry = table.entries[service], clock.now < entry.expiresAt else { return [] }
        return [entry.provider]
    }
}

private func serviceName(_ index: Int) -> String { "svc.\(index)" }

private let benchProvider = ServiceProvider(nodeID: "node-1", address: "quic://10.0.0.1:4433")
private let longTTL: Duration = .seconds(365 * 86_400)
private let shortTTL: Duration = .seconds(1)

/// Elapsed nanoseconds of `body`.
private func time(_ body: () async -> Void) async -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    await body()
    return Double(DispatchTime.now().uptimeNanoseconds - start)
}

/// A registry holding `count` local advertisements with a long TTL, on its own manual clock.
private func makeRegistry(count: Int) async -> (ServiceRegistry, ManualClock) {
    let clock = ManualClock()
    var configuration = ServiceRegistryConfiguration()
    configuration.maximumLocalServices = count + 1
    let registry = try! ServiceRegistry(configuration: configuration, clock: clock)
    for index in 0..<count {
        try! await registry.advertise(serviceName(index), provider: benchProvider, ttl: longTTL)
    }
    return (registry, clock)
}

private func makeTable(count: Int, clock: ManualClock) -> NaiveServiceTable {
    var table = NaiveServiceTable()
    table.entries.reserveCapacity(count)
    let expiresAt = clock.now.advanced(by: longTTL)
    for index in 0..<count { table.entries[serviceName(index)] = (benchProvider, expiresAt) }
    return table
}

/// Best time of `repetitions` prunes of the registry, each after making its first `expired`
/// entries expire (re-advertised with a short TTL, then the clock moves past it).
private func registryPrune(
    _ registry: ServiceRegistry,
    clock: ManualClock,
    expired: Int,
    repetitions: Int
) async -> Double {
    var best = Double.infinity
    for _ in 0..<repetitions {
        for index in 0..<expired {
            try! await registry.advertise(serviceName(index), provider: benchProvider, ttl: shortTTL)
        }
        clock.advance(by: shortTTL + .seconds(1))
        var removed = 0
        let elapsed = await time { removed = await registry.prune() }
        precondition(removed == expired, "registry prune removed \(removed), expected \(expired)")
        best = min(best, elapsed)
        // Put the pruned entries back with the long TTL for the next repetition.
        for index in 0..<expired {
            try! await registry.advertise(serviceName(index), provider: benchProvider, ttl: longTTL)
        }
    }
    return best
}

/// The same for the naive table.
private func naivePrune(_ table: inout NaiveServiceTable, clock: ManualClock, expired: Int, repetitions: Int) -> Double {
    var best = Double.infinity
    for _ in 0..<repetitions {
        let soon = clock.now.advanced(by: shortTTL)
        for index in 0..<expired { table.entries[serviceName(index)] = (benchProvider, soon) }
        let now = clock.now.advanced(by: shortTTL + .seconds(1))
        let start = DispatchTime.now().uptimeNanoseconds
        let removed = table.pruneExpired(now: now)
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start))
        precondition(removed == expired, "naive prune removed \(removed), expected \(expired)")
        blackHole(removed)
        let later = clock.now.advanced(by: longTTL)
        for index in 0..<expired { table.entries[serviceName(index)] = (benchProvider, later) }
    }
    return best
}

/// One paired trial's inputs: a registry and a naive table holding the same `count` entries, every
/// `every`-th of them due (interleaved with the live ones, each at its own instant), and the
/// instant at which the naive table is pruned.
private struct InterleavedPair {
    var registry: ServiceRegistry
    var table: NaiveServiceTable
    var now: ManualClock.Instant
    var expired: Int
}

private func makeInterleavedPair(count: Int, every: Int) async -> InterleavedPair {
    let clock = ManualClock()
    var configuration = ServiceRegistryConfiguration()
    configuration.maximumLocalServices = count
    let registry = try! ServiceRegistry(configuration: configuration, clock: clock)
    var table = NaiveServiceTable()
    table.entries.reserveCapacity(count)
    var expired = 0
    for index in 0..<count {
        let due = index % every == 0
        let ttl = (due ? shortTTL : longTTL) + .nanoseconds(index)
        try! await registry.advertise(serviceName(index), provider: benchProvider, ttl: ttl)
        table.entries[serviceName(index)] = (benchProvider, clock.now.advanced(by: ttl))
        if due { expired += 1 }
    }
    clock.advance(by: shortTTL + .seconds(1))
    return InterleavedPair(registry: registry, table: table, now: clock.now, expired: expired)
}

/// Prune against the naive scan at `count` entries with every `every`-th expired: one prune per
/// trial, each trial on fresh copies built beforehand (building and freeing are not timed). The
/// ratio is scan ÷ prune when `scanOverPrune`, else prune ÷ scan.
private func interleavedPrune(count: Int, every: Int, trials: Int, scanOverPrune: Bool) async -> PairedRatio {
    var pairs: [InterleavedPair] = []
    for _ in 0..<max(trials, minimumTrials) { pairs.append(await makeInterleavedPair(count: count, every: every)) }
    var nextRegistry = 0
    var nextTable = 0
    func prune() async {
        let pair = pairs[nextRegistry]
        let removed = await pair.registry.prune()
        precondition(removed == pair.expired, "registry prune removed \(removed), expected \(pair.expired)")
        nextRegistry += 1
    }
    func scan() {
        let now = pairs[nextTable].now
        let removed = pairs[nextTable].table.pruneExpired(now: now)
        precondition(removed == pairs[nextTable].expired, "naive prune removed \(removed), expected \(pairs[nextTable].expired)")
        nextTable += 1
    }
    let paired = scanOverPrune
        ? await pairedRatio(trials: trials, operations: 1, candidate: scan, baseline: prune)
        : await pairedRatio(trials: trials, operations: 1, candidate: prune, baseline: scan)
    blackHole(pairs)
    return paired
}

/// The floor of the design at 1 % expired: the same scan against only what a prune cannot avoid,
/// a bare `SlotDeadlineHeap` giving up the due slots and a bare `[String: Int32]` losing their names
/// (no entries, no actor), each trial on fresh copies built beforehand.
private func pruneFloor(count: Int, every: Int, trials: Int) async -> PairedRatio {
    struct Bare {
        var slotOf: [String: Int32] = [:]
        var names: [String] = []
        var expiries = SlotDeadlineHeap<Duration>()
    }
    var pairs: [(bare: Bare, table: NaiveServiceTable, now: ManualClock.Instant)] = []
    for _ in 0..<max(trials, minimumTrials) {
        let clock = ManualClock()
        var bare = Bare()
        var table = NaiveServiceTable()
        table.entries.reserveCapacity(count)
        for index in 0..<count {
            let ttl = (index % every == 0 ? shortTTL : longTTL) + .nanoseconds(index)
            bare.slotOf[serviceName(index)] = Int32(index)
            bare.names.append(serviceName(index))
            bare.expiries.set(Int32(index), deadline: ttl)
            table.entries[serviceName(index)] = (benchProvider, clock.now.advanced(by: ttl))
        }
        clock.advance(by: shortTTL + .seconds(1))
        pairs.append((bare, table, clock.now))
    }
    var nextBare = 0
    var nextTable = 0
    let dueAt = shortTTL + .seconds(1)
    let paired = pairedRatio(trials: trials, operations: 1) {
        let now = pairs[nextTable].now
        blackHole(pairs[nextTable].table.pruneExpired(now: now))
        nextTable += 1
    } baseline: {
        var due: [Int32] = []
        let names = pairs[nextBare].bare.names
        pairs[nextBare].bare.expiries.removeDue(at: dueAt, into: &due)
        for slot in due { pairs[nextBare].bare.slotOf.removeValue(forKey: names[Int(slot)]) }
        precondition(due.count == count / every, "floor removed \(due.count)")
        nextBare += 1
    }
    blackHole(pairs)
    return paired
}

private func milliseconds(_ nanoseconds: Double) -> String { format(nanoseconds / 1_000_000) + " ms" }
private func microseconds(_ nanoseconds: Double) -> String { format(nanoseconds / 1_000) + " µs" }

func serviceRegistryBenchmarks(quick: Bool) async -> [BenchmarkResult] {
    let large = quick ? 100_000 : 1_000_000
    let small = 10_000
    let repetitions = quick ? 3 : 5
    var results: [BenchmarkResult] = []
    func add(_ name: String, _ ratio: Double, _ target: Target, _ detail: String) {
        let (targetText, met) = target.check(ratio)
        results.append(BenchmarkResult(group: "registry", name: name, ratio: ratio, target: targetText, met: met, detail: detail))
    }

    // Memory per entry: the registry (map + expiry index) against the naive dictionary, at `large`
    // and at the target's 100,000 entries.
    let heapBeforeRegistry = heapBytesInUse()
    let (registry, clock) = await makeRegistry(count: large)
    let registryBytes = Double(heapBytesInUse() - heapBeforeRegistry) / Double(large)
    let heapBeforeTable = heapBytesInUse()
    var table = makeTable(count: large, clock: clock)
    let tableBytes = Double(heapBytesInUse() - heapBeforeTable) / Double(large)
    let target = 100_000
    var memory = (registry: registryBytes, naive: tableBytes)
    if large != target {
        add(
            "memory per entry vs naive dictionary (\(large) entries)", registryBytes / tableBytes, .report,
            "registry \(format(registryBytes)) B/entry (map + expiry index), naive \(format(tableBytes)) B/entry"
        )
        let heapBefore = heapBytesInUse()
        let (smaller, smallerClock) = await makeRegistry(count: target)
        memory.registry = Double(heapBytesInUse() - heapBefore) / Double(target)
        let naiveBefore = heapBytesInUse()
        let smallerTable = makeTable(count: target, clock: smallerClock)
        memory.naive = Double(heapBytesInUse() - naiveBefore) / Double(target)
        blackHole(smaller)
        blackHole(smallerTable)
    }
    add(
        "memory per entry vs naive dictionary (\(target) entries)", memory.registry / memory.naive, .atMost(1.5),
        "registry \(format(memory.registry)) B/entry (map + expiry index), naive \(format(memory.naive)) B/entry"
    )

    // The targets: prune at 1 % and 50 % expired, interleaved with live entries, at 100,000.
    let trials = quick ? minimumTrials : 7
    let onePercentPaired = await interleavedPrune(count: target, every: 100, trials: trials, scanOverPrune: true)
    results.append(BenchmarkResult(
        group: "registry", name: "scan / prune, 1 % expired, interleaved (\(target))", paired: onePercentPaired,
        target: .atLeast(5),
        detail: "prune \(microseconds(onePercentPaired.baseline)), scan \(microseconds(onePercentPaired.candidate)) (medians)"
    ))
    let floor = await pruneFloor(count: target, every: 100, trials: trials)
    results.append(BenchmarkResult(
        group: "registry", name: "floor: scan / (heap + hashed removals alone), 1 % (\(target))", paired: floor,
        target: .report,
        detail: "heap + removals \(microseconds(floor.baseline)), scan \(microseconds(floor.candidate)) (medians)"
    ))
    let halfPaired = await interleavedPrune(count: target, every: 2, trials: trials, scanOverPrune: false)
    results.append(BenchmarkResult(
        group: "registry", name: "prune / scan, 50 % expired, interleaved (\(target))", paired: halfPaired,
        target: .atMost(1.5),
        detail: "prune \(milliseconds(halfPaired.candidate)), scan \(milliseconds(halfPaired.baseline)) (medians)"
    ))

    // Lookups per second through the actor, against the naive table behind an actor.
    let lookups = quick ? 100_000 : 1_000_000
    let naiveActor = NaiveLookupActor(table: table, clock: clock)
    var names: [String] = []
    names.reserveCapacity(4_096)
    var random = UInt64(0x5EED)
    for _ in 0..<4_096 {
        random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        names.append(serviceName(Int((random >> 33) % UInt64(large))))
    }
    let registryLookup = await nanosecondsPerOperation(operations: lookups, repetitions: 3) {
        for index in 0..<lookups { blackHole(await registry.providers(for: names[index & 4_095])) }
    }
    let naiveLookup = await nanosecondsPerOperation(operations: lookups, repetitions: 3) {
        for index in 0..<lookups { blackHole(await naiveActor.providers(for: names[index & 4_095])) }
    }
    add(
        "lookup time vs naive dictionary actor (\(large) entries)", registryLookup / naiveLookup, .report,
        "registry \(format(1e9 / registryLookup)) lookups/s (\(format(registryLookup)) ns), naive \(format(1e9 / naiveLookup)) lookups/s"
    )

    // A prune that finds nothing: O(1) against a scan of every entry.
    let emptyCalls = 1_000
    let emptyPrune = await nanosecondsPerOperation(operations: emptyCalls, repetitions: repetitions) {
        for _ in 0..<emptyCalls { blackHole(await registry.prune()) }
    }
    let emptyScan = naivePrune(&table, clock: clock, expired: 0, repetitions: repetitions)
    add(
        "scan / prune, nothing expired (\(large) entries)", emptyScan / emptyPrune, .atLeast(1_000),
        "prune \(microseconds(emptyPrune)), scan \(milliseconds(emptyScan))"
    )

    // Cost tracks the expired entries, not the size: 1,000 expired at 10,000 and at `large`.
    let (smallRegistry, smallClock) = await makeRegistry(count: small)
    let thousandSmall = await registryPrune(smallRegistry, clock: smallClock, expired: 1_000, repetitions: repetitions + 2)
    let thousandLarge = await registryPrune(registry, clock: clock, expired: 1_000, repetitions: repetitions + 2)
    add(
        "prune 1,000 expired: \(large) / \(small) entries", thousandLarge / thousandSmall, .atMost(6),
        "\(milliseconds(thousandLarge)) at \(large), \(milliseconds(thousandSmall)) at \(small)"
    )
    let twoThousandLarge = await registryPrune(registry, clock: clock, expired: 2_000, repetitions: repetitions + 2)
    add(
        "prune 2,000 / 1,000 expired (\(large) entries)", twoThousandLarge / thousandLarge, .atMost(2.5),
        "\(milliseconds(twoThousandLarge)) for 2,000, \(milliseconds(thousandLarge)) for 1,000 (about 2 expected)"
    )

    // Against the scan at 1 % and 100 % expired.
    let onePercent = large / 100
    let onePercentPrune = await registryPrune(registry, clock: clock, expired: onePercent, repetitions: repetitions)
    let onePercentScan = naivePrune(&table, clock: clock, expired: onePercent, repetitions: repetitions)
    add(
        "scan / prune, 1 % expired (\(onePercent) of \(large))", onePercentScan / onePercentPrune, .report,
        "prune \(milliseconds(onePercentPrune)), scan \(milliseconds(onePercentScan))"
    )
    let allRepetitions = quick ? 2 : 3
    let allPrune = await registryPrune(registry, clock: clock, expired: large, repetitions: allRepetitions)
    let allScan = naivePrune(&table, clock: clock, expired: large, repetitions: allRepetitions)
    add(
        "scan / prune, 100 % expired (\(large))", allScan / allPrune, .report,
        "prune \(milliseconds(allPrune)) (\(format(allPrune / Double(large))) ns/entry), scan \(milliseconds(allScan))"
    )
    blackHole(table)
    return results
}
