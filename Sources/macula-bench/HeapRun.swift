import Dispatch
import Foundation
import MaculaMemory
import MaculaMesh

// `macula-bench --heap`: the allocator's figure for many mixed operations through all five
// components at once. Heap in use (glibc `mallinfo2`) is read at ten checkpoints, each with no
// caller of the driver's in flight: the first once every structure has reached its steady size
// (after the first fifth of the run, at most 2,000,000 operations), the last at the end. The
// figure is the growth from the first to the last per million operations between them. The run
// fails when any component is ever seen above its limit, or when heap in use grew by more than
// 1 % of the first figure plus ``heapGrowthAllowance``.

/// The growth of heap in use after warm-up that passes, as a fraction of the post-warm-up figure.
let heapGrowthTolerance = 0.01

/// Bytes of growth allowed on top of ``heapGrowthTolerance``: what the concurrency runtime's
/// threads hold on to when the pool adds a thread (architecture/memory_management.md, "Heap per
/// million operations"). A leak of one 64-byte allocation per 1,000 operations exceeds it over
/// the 8,000,000 operations measured after warm-up.
let heapGrowthAllowance = 256 * 1_024

/// Runs `operations` mixed operations and prints the report.
/// - Returns: whether the run passed (every size within its limit, growth within tolerance).
func heapBenchmark(operations: Int) async -> Bool {
    let workload = HeapWorkload()
    let world: HeapWorld
    do {
        world = try await HeapWorld(workload)
    } catch {
        print("heap run: cannot build the node: \(error)")
        return false
    }
    // Long enough for every structure to reach its steady size.
    let warmUp = min(2_000_000, operations / 5)
    print("heap run: \(grouped(operations)) operations through the five components on one manual clock")
    print("  warm-up \(grouped(warmUp)) operations; sizes sampled every \(grouped(workload.sampleInterval)); seed \(workload.seed)")
    // glibc's per-thread caches and arenas keep freed chunks that mallinfo2 counts as in use.
    print("  GLIBC_TUNABLES \(ProcessInfo.processInfo.environment["GLIBC_TUNABLES"] ?? "not set (glibc's default per-thread caches and arenas)")")

    let started = DispatchTime.now().uptimeNanoseconds
    var driver = HeapDriver(world: world, workload: workload)
    var checkpoints: [(operations: Int, heap: Int)] = []
    var threads: [Int?] = []
    threads.reserveCapacity(16)
    checkpoints.reserveCapacity(16)
    var drained = true
    await withDiscardingTaskGroup { group in
        group.addTask { try? await world.pool.run() }
        group.addTask { try? await world.clients.run() }
        group.addTask { try? await world.advertisements.run() }
        group.addTask { try? await world.handler.run() }

        // Heap in use is read at ten checkpoints, each drained: the first after warm-up, the
        // last at the end.
        for index in 0...9 where drained {
            await driver.run(until: warmUp + (operations - warmUp) * index / 9)
            drained = await driver.drain()
            let heap = heapBytesInUse()
            checkpoints.append((driver.operations, heap))
            threads.append(processThreadCount())
            if index == 0 {
                let warmSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                print(String(format: "  warm-up done: %@ operations in %.1f s, heap in use %@ bytes",
                             grouped(driver.operations), warmSeconds, grouped(heap)))
                driver.sampleHeap = true
            }
        }
        await driver.sample()
        group.cancelAll()
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
    let snapshot = await world.metrics.snapshot()
    await world.pool.shutdown()
    await world.clients.shutdown()
    await world.handler.shutdown()

    print("")
    print("operations by kind")
    for operation in HeapOperation.allCases {
        print("  \(operation.name.padding(toLength: 50, withPad: " ", startingAt: 0)) \(grouped(driver.counts[operation.rawValue]).leftPadded(12))")
    }
    print("  \("total".padding(toLength: 50, withPad: " ", startingAt: 0)) \(grouped(driver.operations).leftPadded(12))")
    print("  (\(grouped(driver.operations - operations)) of them after the last planned one, waiting for the last callers; \(grouped(driver.ticks)) clock ticks of \(workload.tick))")

    print("")
    print("what the components did (their metrics)")
    for component in snapshot.components {
        let removals = component.removals.sorted { $0.key.name < $1.key.name }.map { "\($0.key.name) \(grouped($0.value))" }
        let rejections = component.rejections.sorted { $0.key.name < $1.key.name }.map { "\($0.key.name) \(grouped($0.value))" }
        let events = component.events.sorted { $0.key.name < $1.key.name }.map { "\($0.key.name) \(grouped($0.value))" }
        print("  \(component.name)")
        if !removals.isEmpty { print("    removed: \(removals.joined(separator: ", "))") }
        if !rejections.isEmpty { print("    rejected: \(rejections.joined(separator: ", "))") }
        if !events.isEmpty { print("    events: \(events.joined(separator: ", "))") }
    }

    print("")
    print("sizes, sampled every \(grouped(workload.sampleInterval)) operations: largest seen, high-water mark, limit")
    for record in driver.records {
        let name = record.name.padding(toLength: 24, withPad: " ", startingAt: 0)
        let mark = record.name == "client streams" ? "-" : grouped(record.highWaterMark)
        print("  \(name) \(grouped(record.largest).leftPadded(8)) \(mark.leftPadded(8)) \(grouped(record.limit).leftPadded(8))")
    }

    let (warmOperations, warmHeap) = checkpoints.first ?? (0, 0)
    let finalHeap = checkpoints.last?.heap ?? 0
    let postWarmUp = driver.operations - warmOperations
    let growth = finalHeap - warmHeap
    let perMillion = postWarmUp > 0 ? Double(growth) / (Double(postWarmUp) / 1e6) : 0
    let share = warmHeap > 0 ? Double(growth) / Double(warmHeap) : 0
    print("")
    print("heap in use after warm-up   \(grouped(warmHeap).leftPadded(14)) bytes (after \(grouped(warmOperations)) operations)")
    print("heap in use at the end      \(grouped(finalHeap).leftPadded(14)) bytes (after \(grouped(driver.operations)) operations)")
    print(String(format: "growth                      %@ bytes (%+.3f %%), %@ bytes per million operations over %@ post-warm-up operations",
                 signed(growth).leftPadded(14), share * 100, signed(Int(perMillion.rounded())), grouped(postWarmUp)))
    print("heap in use at each checkpoint, drained (operations: bytes, change from the first, threads in the process):")
    for ((operations, heap), count) in zip(checkpoints, threads) {
        let threadCount = count.map(String.init) ?? "-"
        print("  \(grouped(operations).leftPadded(12)): \(grouped(heap).leftPadded(12)) \(signed(heap - warmHeap).leftPadded(10)) \(threadCount.leftPadded(4))")
    }
    if checkpoints.count > 2 {
        print(String(format: "  trend (least squares over the checkpoints): %@ bytes per million operations",
                     signed(Int(slopePerMillion(checkpoints).rounded()))))
    }
    if let band = driver.heapBand {
        print("heap in use sampled every \(grouped(workload.sampleInterval)) operations after warm-up, callers in flight included:")
        print(String(format: "  %@ to %@ bytes (a band of %.3f %% of the post-warm-up figure)",
                     grouped(band.lowerBound), grouped(band.upperBound),
                     warmHeap > 0 ? Double(band.upperBound - band.lowerBound) / Double(warmHeap) * 100 : 0))
    }
    print(String(format: "elapsed %.1f s, %@ operations per second", seconds, grouped(Int(Double(driver.operations) / seconds))))

    var passed = true
    if !drained {
        print("FAILED: callers started by the driver did not finish")
        passed = false
    }
    if !driver.violations.isEmpty {
        print("FAILED: a component was seen above its limit:")
        for violation in driver.violations { print("  \(violation)") }
        passed = false
    }
    let allowed = Int(Double(warmHeap) * heapGrowthTolerance) + heapGrowthAllowance
    let tolerance = "1 % of the post-warm-up figure + \(grouped(heapGrowthAllowance)) bytes = \(grouped(allowed)) bytes"
    if growth > allowed {
        print("FAILED: heap in use grew by \(signed(growth)) bytes after warm-up (tolerance \(tolerance))")
        passed = false
    }
    if passed {
        print("passed: every size within its limit; heap growth \(signed(growth)) bytes (tolerance \(tolerance))")
    }
    return passed
}

/// The threads of this process (Linux `/proc/self/status`), or nil where it cannot be read.
func processThreadCount() -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("Threads:") {
        return Int(line.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces))
    }
    return nil
}

/// The least-squares slope of heap in use against operations, in bytes per million operations.
/// - Complexity: O(n) for n points.
func slopePerMillion(_ points: [(operations: Int, heap: Int)]) -> Double {
    let n = Double(points.count)
    let meanX = points.reduce(0.0) { $0 + Double($1.operations) } / n
    let meanY = points.reduce(0.0) { $0 + Double($1.heap) } / n
    var covariance = 0.0
    var variance = 0.0
    for point in points {
        let dx = Double(point.operations) - meanX
        covariance += dx * (Double(point.heap) - meanY)
        variance += dx * dx
    }
    return variance > 0 ? covariance / variance * 1e6 : 0
}

/// `n` with thousands separators.
func grouped(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (index, digit) in digits.enumerated() {
        if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
        out.append(digit)
    }
    return n < 0 ? "-" + out : out
}

/// `n` with thousands separators and a sign.
func signed(_ n: Int) -> String { n < 0 ? grouped(n) : "+" + grouped(n) }

extension String {
    /// The string right-aligned in `width` columns.
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
