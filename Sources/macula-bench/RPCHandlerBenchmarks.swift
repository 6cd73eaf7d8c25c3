import Dispatch
import Foundation
import MaculaMemory
import MaculaMesh
import MaculaTesting

// The RPC handler's benchmark. N concurrent pending calls (100,000; 10,000 in quick mode), every
// variant sending through the same in-memory transport (holding each request until the benchmark
// answers it):
// - the bare baseline: an actor with a dictionary of continuations, no timeouts;
// - the RPCHandler (one deadline heap, one sleeper);
// - the common idioms: a `Task` that sleeps per call, and a task-group race between the call and
//   a sleep;
// - "tasks only": each caller parks its continuation in a preallocated array, nothing else: the
//   caller's own task and the transport's held request, subtracted to get what the handler owns.
// Measured: CPU time per call (start, send, park, reply, resume), heap per pending call, and with
// N calls that all time out, how late the last caller is delivered past its deadline.

private let benchProvider = ServiceProvider(nodeID: "bench", address: "mem://bench")
private let procedure = "bench.echo"

private func request(_ id: UInt64, _ arguments: [UInt8]) -> RPCRequest {
    RPCRequest(callID: RPCCallID(rawValue: id), procedure: procedure, arguments: arguments, provider: benchProvider, attempt: 1)
}

/// Process CPU time (user + system, every thread), in nanoseconds.
private func cpuNanoseconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) * 1e9 + Double(time.tv_nsec)
}

private func nowNanoseconds() -> Int64 { Int64(DispatchTime.now().uptimeNanoseconds) }

// MARK: Variants

/// What every variant offers the measurement.
private protocol BenchVariant: Sendable {
    var transport: InMemoryRPCTransport { get }
    /// One call; nil when it failed or timed out.
    func call(_ index: Int, timeout: Duration) async -> [UInt8]?
    func reply(_ reply: RPCReply) async
}

/// The bare baseline: an actor with a dictionary of continuations, no timeouts.
private actor BareActor {
    let transport: InMemoryRPCTransport
    private var nextID: UInt64 = 0
    private var pending: [UInt64: UnsafeContinuation<[UInt8]?, Never>] = [:]
    private var early: [UInt64: [UInt8]?] = [:]

    init(transport: InMemoryRPCTransport) { self.transport = transport }

    func call(_ arguments: [UInt8]) async -> [UInt8]? {
        nextID += 1
        let id = nextID
        try? await transport.send(request(id, arguments))
        if let result = early.removeValue(forKey: id) { return result }
        return await withUnsafeContinuation { pending[id] = $0 }
    }

    func finish(_ id: UInt64, _ result: [UInt8]?) {
        if let continuation = pending.removeValue(forKey: id) {
            continuation.resume(returning: result)
        } else {
            early[id] = result
        }
    }

    /// The idiom a race needs: the call honors cancellation by hopping back in with a `Task`.
    func cancellableCall(_ arguments: [UInt8]) async -> [UInt8]? {
        nextID += 1
        let id = nextID
        try? await transport.send(request(id, arguments))
        if let result = early.removeValue(forKey: id) { return result }
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { pending[id] = $0 }
        } onCancel: {
            Task { await self.finish(id, nil) }
        }
    }
}

private struct Bare: BenchVariant {
    let transport = InMemoryRPCTransport(keepsHistory: false)
    let actor: BareActor
    init() { actor = BareActor(transport: transport) }
    func call(_ index: Int, timeout: Duration) async -> [UInt8]? { await actor.call([UInt8(truncatingIfNeeded: index)]) }
    func reply(_ reply: RPCReply) async {
        if case .success(let bytes) = reply.outcome { await actor.finish(reply.callID.rawValue, bytes) }
    }
}

/// The Task-per-call idiom: each call starts a `Task` that sleeps for the timeout, then fails the
/// call; a reply cancels it.
private actor TaskPerCallActor {
    let transport: InMemoryRPCTransport
    private var nextID: UInt64 = 0
    private var pending: [UInt64: UnsafeContinuation<[UInt8]?, Never>] = [:]
    private var timers: [UInt64: Task<Void, Never>] = [:]
    private var early: [UInt64: [UInt8]?] = [:]

    init(transport: InMemoryRPCTransport) { self.transport = transport }

    func call(_ arguments: [UInt8], timeout: Duration) async -> [UInt8]? {
        nextID += 1
        let id = nextID
        timers[id] = Task {
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled { self.finish(id, nil) }
        }
        try? await transport.send(request(id, arguments))
        if let result = early.removeValue(forKey: id) { return result }
        return await withUnsafeContinuation { pending[id] = $0 }
    }

    func finish(_ id: UInt64, _ result: [UInt8]?) {
        guard let timer = timers.removeValue(forKey: id) else { return }
        if result != nil { timer.cancel() }
        if let continuation = pending.removeValue(forKey: id) {
            continuation.resume(returning: result)
        } else {
            early[id] = result
        }
    }
}

private struct TaskPerCall: BenchVariant {
    let transport = InMemoryRPCTransport(keepsHistory: false)
    let actor: TaskPerCallActor
    init() { actor = TaskPerCallActor(transport: transport) }
    func call(_ index: Int, timeout: Duration) async -> [UInt8]? {
        await actor.call([UInt8(truncatingIfNeeded: index)], timeout: timeout)
    }
    func reply(_ reply: RPCReply) async {
        if case .success(let bytes) = reply.outcome { await actor.finish(reply.callID.rawValue, bytes) }
    }
}

/// The task-group race idiom: a child for the call, a child that sleeps; the first one wins.
private struct RaceGroup: BenchVariant {
    let transport = InMemoryRPCTransport(keepsHistory: false)
    let actor: BareActor
    init() { actor = BareActor(transport: transport) }
    func call(_ index: Int, timeout: Duration) async -> [UInt8]? {
        let actor = self.actor
        return await withTaskGroup(of: [UInt8]?.self) { group in
            group.addTask { await actor.cancellableCall([UInt8(truncatingIfNeeded: index)]) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
    func reply(_ reply: RPCReply) async {
        if case .success(let bytes) = reply.outcome { await actor.finish(reply.callID.rawValue, bytes) }
    }
}

/// The RPCHandler, on the continuous clock, with `run()` running.
private struct Handler: BenchVariant {
    let transport = InMemoryRPCTransport(keepsHistory: false)
    let handler: RPCHandler
    let loop: Task<Void, any Error>

    init(count: Int) async {
        var configuration = RPCHandlerConfiguration()
        configuration.maximumPendingCalls = count
        configuration.providerStrategy = .first
        let registry = try! ServiceRegistry()
        try! await registry.cacheProviders([benchProvider], for: procedure, ttl: .seconds(86_400))
        handler = try! RPCHandler(
            configuration: configuration, registry: registry, transport: transport, discovery: InMemoryRPCDiscovery()
        )
        let handler = self.handler
        transport.deliverReplies(to: handler)
        loop = Task { try await handler.run() }
        // A call that needs a discovery returns only once run() runs it (here with no providers):
        // the measured calls then find run() running, as in a server that has started.
        _ = try? await handler.call("warm-up")
    }

    func call(_ index: Int, timeout: Duration) async -> [UInt8]? {
        try? await handler.call(procedure, arguments: [UInt8(truncatingIfNeeded: index)], options: RPCCallOptions(timeout: timeout))
    }
    func reply(_ reply: RPCReply) async { await handler.handleReply(reply) }
    func stop() async {
        loop.cancel()
        _ = await loop.result
    }
}

/// Tasks only: each caller sends, then parks in a preallocated array. What a pending call costs
/// with no bookkeeping at all (the caller's task and the transport's held request).
private struct TasksOnly: BenchVariant {
    let transport = InMemoryRPCTransport(keepsHistory: false)
    let slots: LockedState<[UnsafeContinuation<[UInt8]?, Never>?]>
    init(count: Int) { slots = LockedState(Array(repeating: nil, count: count + 1)) }
    func call(_ index: Int, timeout: Duration) async -> [UInt8]? {
        try? await transport.send(request(UInt64(index), [UInt8(truncatingIfNeeded: index)]))
        return await withUnsafeContinuation { continuation in slots.withLock { $0[index] = continuation } }
    }
    func reply(_ reply: RPCReply) async {
        guard case .success(let bytes) = reply.outcome else { return }
        // The caller may not have parked yet: spin until it has (only at the very end of a send).
        while true {
            let continuation = slots.withLock { slots -> UnsafeContinuation<[UInt8]?, Never>? in
                let continuation = slots[Int(reply.callID.rawValue)]
                slots[Int(reply.callID.rawValue)] = nil
                return continuation
            }
            if let continuation {
                continuation.resume(returning: bytes)
                return
            }
            await Task.yield()
        }
    }
}

// MARK: Measurements

private struct ReplyRun {
    var cpuPerCall: Double
    var heapPerCall: Double
}

/// N calls pending at once, then every one answered: CPU per call over the whole cycle, heap per
/// pending call at the peak.
private func measureReplies(_ variant: some BenchVariant, count: Int) async -> ReplyRun {
    let heapBefore = heapBytesInUse()
    let cpuBefore = cpuNanoseconds()
    var heapPending = 0
    var answered = 0
    await withDiscardingTaskGroup { group in
        for index in 0..<count {
            group.addTask { _ = await variant.call(index, timeout: .seconds(3_600)) }
        }
        await variant.transport.waitForSends(count)
        heapPending = heapBytesInUse()
        for request in variant.transport.takeHeldRequests() {
            await variant.reply(.success(request.callID, request.arguments))
            answered += 1
        }
    }
    precondition(answered == count, "every call is answered once")
    let cpu = cpuNanoseconds() - cpuBefore
    return ReplyRun(cpuPerCall: cpu / Double(count), heapPerCall: Double(heapPending - heapBefore) / Double(count))
}

private struct TimeoutRun {
    /// How late past its deadline the last caller was delivered, in milliseconds.
    var maximumLateness: Double
    var medianLateness: Double
    /// The fraction of neighbors (by deadline) delivered in the opposite order.
    var inversions: Double
    var timedOut: Int
}

/// N calls that all time out: each caller records its deadline and when it got its error.
private func measureTimeouts(_ variant: some BenchVariant, count: Int, timeout: Duration) async -> TimeoutRun {
    let timeoutNanoseconds = Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
    var samples: [(deadline: Int64, delivered: Int64)] = []
    samples.reserveCapacity(count)
    var timedOut = 0
    await withTaskGroup(of: (Int64, Int64, Bool).self) { group in
        for index in 0..<count {
            group.addTask {
                let start = nowNanoseconds()
                let result = await variant.call(index, timeout: timeout)
                return (start + timeoutNanoseconds, nowNanoseconds(), result == nil)
            }
        }
        for await (deadline, delivered, failed) in group {
            samples.append((deadline, delivered))
            if failed { timedOut += 1 }
        }
    }
    samples.sort { $0.deadline < $1.deadline }
    var inversions = 0
    for index in samples.indices.dropFirst() where samples[index].delivered < samples[index - 1].delivered {
        inversions += 1
    }
    let lateness = samples.map { Double($0.delivered - $0.deadline) / 1e6 }.sorted()
    return TimeoutRun(
        maximumLateness: lateness.last ?? 0,
        medianLateness: lateness.isEmpty ? 0 : lateness[lateness.count / 2],
        inversions: Double(inversions) / Double(max(1, samples.count - 1)),
        timedOut: timedOut
    )
}

// MARK: Suite

func rpcHandlerBenchmarks(quick: Bool) async -> [BenchmarkResult] {
    let count = quick ? 10_000 : 100_000
    let repetitions = 5
    let timeout: Duration = quick ? .milliseconds(300) : .seconds(2)
    var results: [BenchmarkResult] = []
    func add(_ name: String, _ value: Double, _ target: Target, _ detail: String) {
        let (targetText, met) = target.check(value)
        results.append(BenchmarkResult(group: "rpc", name: name, ratio: value, target: targetText, met: met, detail: detail))
    }

    // Replies: best of `repetitions` for each variant, interleaved.
    var bare = ReplyRun(cpuPerCall: .infinity, heapPerCall: .infinity)
    var handler = bare, taskPerCall = bare, race = bare, tasksOnly = bare
    func keepBest(_ best: inout ReplyRun, _ run: ReplyRun) {
        best.cpuPerCall = min(best.cpuPerCall, run.cpuPerCall)
        best.heapPerCall = min(best.heapPerCall, run.heapPerCall)
    }
    // Ratios are paired: bare and handler run back to back in each repetition, so a change in the
    // machine's load (it is shared) hits both; the median of the pairs is reported.
    var handlerRatios: [Double] = [], taskRatios: [Double] = [], raceRatios: [Double] = []
    for _ in 0..<repetitions {
        keepBest(&tasksOnly, await measureReplies(TasksOnly(count: count), count: count))
        let bareRun = await measureReplies(Bare(), count: count)
        keepBest(&bare, bareRun)
        let variant = await Handler(count: count)
        let handlerRun = await measureReplies(variant, count: count)
        keepBest(&handler, handlerRun)
        await variant.stop()
        let taskRun = await measureReplies(TaskPerCall(), count: count)
        keepBest(&taskPerCall, taskRun)
        let raceRun = await measureReplies(RaceGroup(), count: count)
        keepBest(&race, raceRun)
        handlerRatios.append(handlerRun.cpuPerCall / bareRun.cpuPerCall)
        taskRatios.append(taskRun.cpuPerCall / bareRun.cpuPerCall)
        raceRatios.append(raceRun.cpuPerCall / bareRun.cpuPerCall)
    }
    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
    func list(_ values: [Double]) -> String { values.map(format).joined(separator: ", ") }
    func ns(_ value: Double) -> String { "\(format(value)) ns" }
    func bytes(_ value: Double) -> String { "\(format(value)) B" }
    add(
        "CPU per call, \(count) pending, replied: handler / bare", median(handlerRatios), .atMost(2),
        "median of paired runs (\(list(handlerRatios))); best: handler \(ns(handler.cpuPerCall)), bare actor + "
            + "dictionary \(ns(bare.cpuPerCall)) (whole cycle: task, send, park, reply, resume)"
    )
    add(
        "CPU per call: Task-per-call idiom / bare", median(taskRatios), .report,
        "best: Task per call \(ns(taskPerCall.cpuPerCall)); handler / Task per call = \(format(handler.cpuPerCall / taskPerCall.cpuPerCall))"
    )
    add(
        "CPU per call: task-group race idiom / bare", median(raceRatios), .report,
        "best: race \(ns(race.cpuPerCall)); handler / race = \(format(handler.cpuPerCall / race.cpuPerCall))"
    )
    let handlerOwned = handler.heapPerCall - tasksOnly.heapPerCall
    add(
        "heap owned by the handler per pending call (bytes)", handlerOwned, .atMost(256),
        "handler total \(bytes(handler.heapPerCall)) − tasks only \(bytes(tasksOnly.heapPerCall)) (table, deadline heap, continuation slot)"
    )
    add(
        "heap per pending call: caller task + held request (bytes)", tasksOnly.heapPerCall, .report,
        "the caller's suspended task and the transport's held request, same in every variant"
    )
    add(
        "heap per pending call: bare / Task per call / race (bytes)", bare.heapPerCall - tasksOnly.heapPerCall, .report,
        "above tasks only: bare \(bytes(bare.heapPerCall - tasksOnly.heapPerCall)), Task per call "
            + "\(bytes(taskPerCall.heapPerCall - tasksOnly.heapPerCall)), race \(bytes(race.heapPerCall - tasksOnly.heapPerCall))"
    )

    // Timeouts: every call times out; the handler and the Task-per-call idiom in paired trials.
    var handlerLateness: [Double] = [], taskLateness: [Double] = []
    var handlerTimeouts: TimeoutRun?, taskTimeouts: TimeoutRun?
    for trial in 0..<minimumTrials {
        func runHandler() async {
            let variant = await Handler(count: count)
            let run = await measureTimeouts(variant, count: count, timeout: timeout)
            await variant.stop()
            handlerLateness.append(run.maximumLateness)
            handlerTimeouts = run
        }
        func runTasks() async {
            let run = await measureTimeouts(TaskPerCall(), count: count, timeout: timeout)
            taskLateness.append(run.maximumLateness)
            taskTimeouts = run
        }
        if trial % 2 == 0 { await runHandler(); await runTasks() } else { await runTasks(); await runHandler() }
    }
    let raceTimeouts = await measureTimeouts(RaceGroup(), count: count, timeout: timeout)
    func describe(_ run: TimeoutRun) -> String {
        "last \(format(run.maximumLateness)) ms, median \(format(run.medianLateness)) ms late, "
            + "\(format(run.inversions * 100)) % neighbors out of deadline order, \(run.timedOut) timed out"
    }
    results.append(BenchmarkResult(
        group: "rpc", name: "\(count) timeouts: last delivery lateness, handler / Task per call",
        paired: PairedRatio(candidate: handlerLateness, baseline: taskLateness), target: .atMost(0.5),
        detail: "last trial: handler: \(describe(handlerTimeouts!)); Task per call: \(describe(taskTimeouts!))"
    ))
    add(
        "\(count) timeouts: last delivery lateness, handler / race", handlerTimeouts!.maximumLateness / raceTimeouts.maximumLateness, .report,
        "race: \(describe(raceTimeouts))"
    )
    add(
        "\(count) timeouts: handler deliveries out of deadline order (%)", handlerTimeouts!.inversions * 100, .report,
        "neighbors by deadline whose callers observed their errors in the opposite order (callers run on 2 cores)"
    )
    return results
}
