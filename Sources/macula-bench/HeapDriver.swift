import MaculaMemory
import MaculaMesh
import MaculaTesting
import Synchronization

/// Counts the callers the driver started in tasks of their own and has not seen finish.
final class CallersInFlight: Sendable {
    private let count = Atomic<Int>(0)
    /// Callers started and not finished. - Complexity: O(1).
    var value: Int { count.load(ordering: .acquiring) }
    /// A caller starts. - Complexity: O(1).
    func started() { count.add(1, ordering: .relaxed) }
    /// A caller finished. - Complexity: O(1).
    func finished() { count.subtract(1, ordering: .releasing) }
}

/// The largest size one component (or one of its maps) was seen at, against its limit.
struct SizeRecord {
    var name: String
    var limit: Int
    var largest = 0
    var highWaterMark = 0
}

/// Drives the mixed operations through a ``HeapWorld`` one at a time, moving its clock, sampling
/// every component's size, and keeping the callers it starts in tasks of their own bounded.
///
/// Memory of its own: a fixed ring of cancellable callers' tasks, a fixed array of counts, and the
/// size records; nothing that grows with the operations.
struct HeapDriver {
    let world: HeapWorld
    let workload: HeapWorkload
    let inFlight = CallersInFlight()
    private var random: SplitMix64
    /// Operations done, of every kind.
    private(set) var operations = 0
    private(set) var counts = [Int](repeating: 0, count: HeapOperation.allCases.count)
    private(set) var ticks = 0
    private(set) var records: [SizeRecord]
    private(set) var violations: [String] = []
    /// Heap in use at each sample once ``sampleHeap`` is set (with callers in flight): the band
    /// the two measured figures are compared within.
    var sampleHeap = false
    private(set) var heapBand: ClosedRange<Int>?
    private var nextTick: Int
    private var nextSample = 0
    private var sleepsObserved = 0
    /// The cancellable callers' tasks, oldest at `ringHead`.
    private var ring: [Task<Void, Never>?]
    private var ringHead = 0
    private var ringCount = 0
    private let payload = [UInt8](repeating: 0x5A, count: 32)

    init(world: HeapWorld, workload: HeapWorkload) {
        self.world = world
        self.workload = workload
        random = SplitMix64(seed: workload.seed)
        nextTick = workload.operationsPerTick
        ring = Array(repeating: nil, count: workload.cancellableCallers)
        records = [
            SizeRecord(name: world.pool.componentName, limit: world.pool.configuration.maximumConnections),
            SizeRecord(name: world.clients.componentName, limit: world.clients.configuration.maximumClients),
            SizeRecord(name: "client streams", limit: workload.clients * workload.streamsPerClient),
            SizeRecord(name: world.registry.componentName, limit: workload.localServices + workload.cachedServices),
            SizeRecord(name: "  local advertisements", limit: workload.localServices),
            SizeRecord(name: "  cached services", limit: workload.cachedServices),
            SizeRecord(name: world.advertisements.componentName, limit: workload.advertisements),
            SizeRecord(name: world.handler.componentName, limit: workload.pendingCalls),
        ]
    }

    /// Runs the mixed operations, callers in tasks included, until `operations` reaches `target`.
    mutating func run(until target: Int) async {
        while operations < target { await step(startsCallers: true) }
    }

    /// Cancels every cancellable caller, then runs operations that start no caller until every
    /// caller started before has finished and `settle` more operations have run since (so that
    /// the last callers' tasks are gone, not only their calls).
    /// - Returns: false when they have not finished after `limit` operations.
    mutating func drain(settle: Int = 1_000, limit: Int = 1_000_000) async -> Bool {
        while ringCount > 0 { cancelOldest() }
        let start = operations
        var quiet = 0
        while quiet < settle {
            if operations - start > limit { return false }
            quiet = inFlight.value == 0 ? quiet + 1 : 0
            await step(startsCallers: false)
        }
        return true
    }

    /// Reads every component's size now, and heap in use when ``sampleHeap`` is set.
    mutating func sample() async {
        if sampleHeap {
            let heap = heapBytesInUse()
            heapBand = heapBand.map { min($0.lowerBound, heap)...max($0.upperBound, heap) } ?? heap...heap
        }
        let usages: [MemoryUsage] = [
            await world.pool.memoryUsage(),
            await world.clients.memoryUsage(),
            MemoryUsage(size: await world.clients.streamCount, effectiveLimit: records[2].limit, baseLimit: records[2].limit, pressureScale: 1, highWaterMark: 0),
            await world.registry.memoryUsage(),
            await world.registry.localMemoryUsage(),
            await world.registry.cacheMemoryUsage(),
            await world.advertisements.memoryUsage(),
            await world.handler.memoryUsage(),
        ]
        for (index, usage) in usages.enumerated() {
            records[index].largest = max(records[index].largest, usage.size)
            records[index].highWaterMark = max(records[index].highWaterMark, usage.highWaterMark)
            records[index].limit = usage.effectiveLimit
            if usage.size > usage.effectiveLimit || usage.highWaterMark > usage.effectiveLimit, violations.count < 20 {
                violations.append(
                    "\(records[index].name): size \(usage.size), high-water mark \(usage.highWaterMark), limit \(usage.effectiveLimit) after \(operations) operations"
                )
            }
        }
    }

    // MARK: One step

    private mutating func step(startsCallers: Bool) async {
        if operations >= nextTick {
            await tick()
            nextTick += workload.operationsPerTick
        }
        if operations >= nextSample {
            await sample()
            nextSample += workload.sampleInterval
        }
        var operation = HeapOperation.table[pick(HeapOperation.table.count)]
        if operation.startsCaller, !startsCallers || inFlight.value >= workload.backgroundCallers {
            operation = .rpcPromptCall
        }
        if operation == .cancellableCall || operation == .cancellableConnect, ringCount == ring.count {
            operation = .rpcPromptCall
        }
        if operation == .cancelCaller, ringCount == 0 { operation = .rpcPromptCall }
        await perform(operation)
    }

    /// Delivers the replies of the held requests, moves the clock, and takes the sleeps that
    /// began from the clock's record of them (which keeps each until it is handed out).
    private mutating func tick() async {
        for request in world.transport.takeHeldRequests() {
            _ = await world.handler.handleReply(RPCReply(callID: request.callID, outcome: .success(request.arguments)))
            count(.rpcReply)
        }
        world.clock.advance(by: workload.tick)
        ticks += 1
        while sleepsObserved < world.clock.totalSleeps {
            _ = await world.clock.nextSleep()
            sleepsObserved += 1
        }
    }

    private mutating func perform(_ operation: HeapOperation) async {
        let pool = world.pool
        let clients = world.clients
        let registry = world.registry
        let handler = world.handler
        switch operation {
        case .poolConnection:
            _ = try? await pool.connection(to: pick(workload.nodes))
        case .poolLease:
            _ = try? await pool.withConnection(to: pick(workload.nodes)) { connection in connection.isAlive }
        case .poolMarkDead:
            if case .connected(let connection, _) = await pool.info(for: pick(workload.nodes)) { connection.markDead() }
        case .poolRemove:
            _ = await pool.remove(pick(workload.nodes))
        case .poolPrune:
            _ = await pool.prune()
        case .clientConnect:
            try? await clients.clientConnected(pick(workload.clientIDs), info: pick(1 << 20))
        case .clientWithClient:
            let client = pick(workload.clientIDs)
            _ = try? await clients.withClient(client, info: pick(1 << 20)) {
                try await clients.openStream(client * 16, for: client)
                try await clients.openStream(client * 16 + 1, for: client)
            }
        case .clientOpenStream:
            let client = pick(workload.clientIDs)
            try? await clients.openStream(client * 16 + pick(16), for: client)
        case .clientCloseStream:
            _ = await clients.closeStream(pick(workload.clientIDs * 16))
        case .clientDisconnect:
            _ = await clients.clientDisconnected(pick(workload.clientIDs))
        case .clientPrune:
            _ = await clients.prune()
        case .registryCache:
            try? await registry.cacheProviders(
                world.cachedProviders[pick(world.cachedProviders.count)], for: world.cachedNames[pick(world.cachedNames.count)]
            )
        case .registryLookup:
            let names = pick(2) == 0 ? world.cachedNames : world.remoteServices
            _ = await registry.providers(for: names[pick(names.count)])
        case .registryAdvertise:
            try? await registry.advertise(
                world.ownedNames[pick(world.ownedNames.count)], provider: world.me, ttl: .seconds(1 + pick(4))
            )
        case .registryWithdraw:
            _ = await registry.withdraw(world.ownedNames[pick(world.ownedNames.count)])
        case .registryInvalidate:
            _ = await registry.invalidate(world.cachedNames[pick(world.cachedNames.count)])
        case .advertise:
            try? await world.advertisements.advertise(world.advertisedNames[pick(world.advertisedNames.count)], provider: world.me)
        case .advertisementWithdraw:
            _ = await world.advertisements.withdraw(world.advertisedNames[pick(world.advertisedNames.count)])
        case .rpcPromptCall:
            _ = try? await handler.call(world.remoteServices[service(kinds: 0..<5)], arguments: payload)
        case .rpcLocalCall:
            _ = try? await handler.call(world.localProcedures[pick(world.localProcedures.count)], arguments: payload)
        case .rpcReply:
            return  // delivered by tick()
        case .rpcWaitingCall:
            startCall(world.remoteServices[service(kinds: 5..<8)])
        case .clientWaitingConnect:
            startConnect(pick(workload.clientIDs))
        case .cancellableCall:
            keep(startCall(world.remoteServices[service(kinds: 6..<8)]))
        case .cancellableConnect:
            keep(startConnect(pick(workload.clientIDs)))
        case .cancelCaller:
            cancelOldest()
            return  // counted by cancelOldest()
        }
        count(operation)
    }

    // MARK: Callers in tasks of their own

    @discardableResult
    private func startCall(_ service: String) -> Task<Void, Never> {
        let handler = world.handler
        let inFlight = self.inFlight
        let payload = self.payload
        inFlight.started()
        return Task {
            _ = try? await handler.call(service, arguments: payload)
            inFlight.finished()
        }
    }

    @discardableResult
    private mutating func startConnect(_ client: Int) -> Task<Void, Never> {
        let clients = world.clients
        let inFlight = self.inFlight
        let info = pick(1 << 20)
        inFlight.started()
        return Task {
            try? await clients.clientConnected(client, info: info, admission: .wait)
            inFlight.finished()
        }
    }

    private mutating func keep(_ task: Task<Void, Never>) {
        ring[(ringHead + ringCount) % ring.count] = task
        ringCount += 1
    }

    private mutating func cancelOldest() {
        guard ringCount > 0 else { return }
        ring[ringHead]?.cancel()
        ring[ringHead] = nil
        ringHead = (ringHead + 1) % ring.count
        ringCount -= 1
        count(.cancelCaller)
    }

    // MARK: Helpers

    private mutating func count(_ operation: HeapOperation) {
        counts[operation.rawValue] += 1
        operations += 1
    }

    /// A uniform pick in `0..<bound`.
    private mutating func pick(_ bound: Int) -> Int { Int(random.next() % UInt64(bound)) }

    /// The index of a remote service whose index modulo 8 is in `kinds` (see
    /// ``HeapWorld/remoteServices``).
    private mutating func service(kinds: Range<Int>) -> Int {
        pick(workload.remoteServices / 8) * 8 + kinds.lowerBound + pick(kinds.count)
    }
}
