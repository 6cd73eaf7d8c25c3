import MaculaMemory
import MaculaMesh
import MaculaTesting

// The reference model the randomized test and `fuzz-pool` compare the core with.

/// What a request ended with, in terms both pools share.
package enum PoolModelOutcome: Equatable, CustomStringConvertible {
    case connected(serial: Int, leased: Bool)
    case failed(ConnectionPoolError)

    package var description: String {
        switch self {
        case .connected(let serial, let leased): "connected(#\(serial)\(leased ? ", leased" : ""))"
        case .failed(let error): "failed(\(error))"
        }
    }
}

/// The reference model: the pool's specification written the obvious way, with arrays, linear
/// scans for the least recently used entry and a use counter instead of linked lists.
package struct PoolReferenceModel {
    struct Entry {
        var node: Int
        var connection: FakeConnection<Int>
        var pins: Int
        var lastUse: Int
    }
    struct Waiter {
        var request: UInt64
        var pin: Bool
    }
    struct Connect {
        var id: UInt64
        var node: Int
        var waiters: [Waiter]
        var live: Bool
    }
    struct Queued {
        var request: UInt64
        var node: Int
        var pin: Bool
        var deadline: Int
    }

    var baseLimit: Int
    var scalePPM = 1_000_000
    let maximumWaiters: Int
    let timeout: Int
    /// Whether `run()` runs now, and whether one ever started (before that, waiting callers are
    /// accepted; after a `run()` returned, refused).
    var running = false
    var everStarted = false
    /// Whether the one-time warning about callers overdue before `run()` started was due.
    var warnedOverdue = false
    var warnings = 0
    var shutDown = false
    var entries: [Entry] = []
    var connects: [Connect] = []
    var queue: [Queued] = []
    var useCounter = 0
    var shrinkReason = RemovalReason.evicted
    var outcomes: [UInt64: PoolModelOutcome] = [:]
    var closed: [(serial: Int, reason: RemovalReason?)] = []

    mutating func resolve(_ id: UInt64, _ outcome: PoolModelOutcome) {
        outcomes[id] = outcome
    }

    var limit: Int { max(1, baseLimit * scalePPM / 1_000_000) }
    var pinnedCount: Int { entries.filter { $0.pins > 0 }.count }
    var inFlight: Int { connects.count }
    var order: [Entry] {
        entries.filter { $0.pins > 0 }.sorted { $0.lastUse > $1.lastUse }
            + entries.filter { $0.pins == 0 }.sorted { $0.lastUse > $1.lastUse }
    }

    mutating func use(_ index: Int) {
        useCounter += 1
        entries[index].lastUse = useCounter
    }

    func index(of node: Int) -> Int? { entries.firstIndex { $0.node == node } }

    /// The unpinned entry used longest ago.
    func victim() -> Int? {
        entries.indices.filter { entries[$0].pins == 0 }.min { entries[$0].lastUse < entries[$1].lastUse }
    }

    mutating func removeEntry(_ index: Int, reason: RemovalReason) {
        closed.append((entries[index].connection.serial, reason))
        entries.remove(at: index)
    }

    /// Starts a connect; its ID is 0 until the run gives it the real core's ID for the same start.
    mutating func startConnect(_ node: Int, _ waiter: Waiter) {
        connects.append(Connect(id: 0, node: node, waiters: [waiter], live: true))
    }

    mutating func request(_ id: UInt64, node: Int, pin: Bool, now: Int) {
        if shutDown { resolve(id, .failed(.shutdown)); return }
        if let at = index(of: node) {
            if entries[at].connection.isAlive {
                if !pin {
                    use(at)
                    resolve(id, .connected(serial: entries[at].connection.serial, leased: false))
                    return
                }
                if entries[at].pins > 0 || (queue.isEmpty && pinnedCount + inFlight < limit) {
                    entries[at].pins += 1
                    use(at)
                    resolve(id, .connected(serial: entries[at].connection.serial, leased: true))
                    return
                }
                enqueue(id, node: node, pin: pin, now: now)
                return
            }
            let wasPinned = entries[at].pins > 0
            removeEntry(at, reason: .dead)
            if wasPinned { drain() }
        }
        if let at = connects.firstIndex(where: { $0.live && $0.node == node }) {
            connects[at].waiters.append(Waiter(request: id, pin: pin))
        } else if queue.isEmpty && pinnedCount + inFlight < limit {
            startConnect(node, Waiter(request: id, pin: pin))
        } else {
            enqueue(id, node: node, pin: pin, now: now)
        }
    }

    mutating func enqueue(_ id: UInt64, node: Int, pin: Bool, now: Int) {
        if maximumWaiters == 0 { resolve(id, .failed(.limitReached)); return }
        if queue.count >= maximumWaiters { resolve(id, .failed(.waitersLimitReached)); return }
        if everStarted && !running { resolve(id, .failed(.notRunning)); return }
        checkOverdue(now: now)
        queue.append(Queued(request: id, node: node, pin: pin, deadline: now + timeout))
    }

    mutating func drain() {
        guard !shutDown else { return }
        while let head = queue.first {
            if let at = index(of: head.node), !entries[at].connection.isAlive {
                removeEntry(at, reason: .dead)
            }
            let hasSlot = pinnedCount + inFlight < limit
            if let at = index(of: head.node) {
                if !head.pin {
                    use(at)
                    resolve(head.request, .connected(serial: entries[at].connection.serial, leased: false))
                } else if entries[at].pins > 0 || hasSlot {
                    entries[at].pins += 1
                    use(at)
                    resolve(head.request, .connected(serial: entries[at].connection.serial, leased: true))
                } else {
                    return
                }
            } else if let at = connects.firstIndex(where: { $0.live && $0.node == head.node }) {
                connects[at].waiters.append(Waiter(request: head.request, pin: head.pin))
            } else if hasSlot {
                startConnect(head.node, Waiter(request: head.request, pin: head.pin))
            } else {
                return
            }
            queue.removeFirst()
        }
    }

    mutating func connectFinished(_ id: UInt64, connection: FakeConnection<Int>?) {
        let at = connects.firstIndex { $0.id == id }!
        let connect = connects.remove(at: at)
        if !connect.live {
            if let connection { closed.append((connection.serial, nil)) }
        } else if let connection {
            while entries.count >= limit, let victim = victim() { removeEntry(victim, reason: .evicted) }
            if entries.count >= limit {
                closed.append((connection.serial, nil))
                for waiter in connect.waiters { resolve(waiter.request, .failed(.limitReached)) }
            } else {
                useCounter += 1
                let pins = connect.waiters.filter(\.pin).count
                entries.append(Entry(node: connect.node, connection: connection, pins: pins, lastUse: useCounter))
                for waiter in connect.waiters {
                    resolve(waiter.request, .connected(serial: connection.serial, leased: waiter.pin))
                }
            }
        } else {
            for waiter in connect.waiters { resolve(waiter.request, .failed(.connectFailed)) }
        }
        drain()
    }

    mutating func release(serial: Int) {
        guard let at = entries.firstIndex(where: { $0.connection.serial == serial }), entries[at].pins > 0 else { return }
        entries[at].pins -= 1
        guard entries[at].pins == 0 else { return }
        use(at)
        shrink(reason: shrinkReason)
        drain()
    }

    mutating func shrink(reason: RemovalReason) {
        while entries.count > limit, let victim = victim() { removeEntry(victim, reason: reason) }
    }

    mutating func cancel(_ id: UInt64) {
        if let at = queue.firstIndex(where: { $0.request == id }) {
            queue.remove(at: at)
            drain()
            return
        }
        for at in connects.indices { connects[at].waiters.removeAll { $0.request == id } }
    }

    /// The one-time warning: before `run()` ever started, a queued caller is past its deadline.
    mutating func checkOverdue(now: Int) {
        guard !everStarted, !warnedOverdue, let earliest = queue.map(\.deadline).min(), earliest <= now else { return }
        warnedOverdue = true
        warnings += 1
    }

    /// `run()` starts at `now`: its first turn fails whatever is past its deadline.
    mutating func startRunning(now: Int) {
        checkOverdue(now: now)
        running = true
        everStarted = true
        advance(to: now)
    }

    /// Time moves to `now`; only a running `run()` enforces the deadlines.
    mutating func advance(to now: Int) {
        guard running else { return }
        let expired = queue.filter { $0.deadline <= now }
        guard !expired.isEmpty else { return }
        queue.removeAll { $0.deadline <= now }
        for queued in expired { resolve(queued.request, .failed(.timedOut)) }
        drain()
    }

    mutating func remove(_ node: Int) {
        if let at = index(of: node) {
            let wasPinned = entries[at].pins > 0
            removeEntry(at, reason: .removed)
            if wasPinned { drain() }
        } else if let at = connects.firstIndex(where: { $0.live && $0.node == node }) {
            connects[at].live = false
            for waiter in connects[at].waiters { resolve(waiter.request, .failed(.nodeRemoved)) }
            connects[at].waiters = []
        }
    }

    mutating func prune() -> Int {
        let dead = entries.filter { !$0.connection.isAlive }
        let freed = dead.contains { $0.pins > 0 }
        for entry in dead { removeEntry(index(of: entry.node)!, reason: .dead) }
        if freed { drain() }
        return dead.count
    }

    mutating func prune(_ node: Int) -> Bool {
        guard let at = index(of: node), !entries[at].connection.isAlive else { return false }
        let wasPinned = entries[at].pins > 0
        removeEntry(at, reason: .dead)
        if wasPinned { drain() }
        return true
    }

    mutating func limitChanged(reason: RemovalReason) {
        if entries.count > limit { shrinkReason = reason }
        shrink(reason: reason)
        drain()
    }

    mutating func stopRunning() {
        running = false
        for queued in queue { resolve(queued.request, .failed(.notRunning)) }
        queue = []
    }

    mutating func shutdown() {
        guard !shutDown else { return }
        shutDown = true
        for queued in queue { resolve(queued.request, .failed(.shutdown)) }
        queue = []
        for at in connects.indices where connects[at].live {
            for waiter in connects[at].waiters { resolve(waiter.request, .failed(.shutdown)) }
            connects[at].waiters = []
            connects[at].live = false
        }
        for entry in order { closed.append((entry.connection.serial, .shutdown)) }
        entries = []
    }
}
