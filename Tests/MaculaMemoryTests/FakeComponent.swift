import MaculaMemory

/// A bounded component for contract tests: entries are integers, all droppable; it records every
/// scale it was given and every prune.
actor FakeComponent: MemoryManaged {
    nonisolated let componentName: String
    private var budget: MemoryBudget
    private(set) var entries: Int
    private(set) var scalesApplied: [Double] = []
    private(set) var pruneCount = 0
    private let metrics: any MemoryMetrics
    /// When set, `setPressureScale` waits at this gate (to test ordering).
    private let gate: Gate?

    init(name: String, limit: Int, entries: Int = 0, metrics: any MemoryMetrics = NoMemoryMetrics(), gate: Gate? = nil) throws {
        componentName = name
        budget = try MemoryBudget(baseLimit: limit)
        self.entries = entries
        self.metrics = metrics
        self.gate = gate
        budget.recordSize(entries)
    }

    func memoryUsage() -> MemoryUsage { budget.usage(size: entries) }

    func setLimit(_ limit: Int) throws(ConfigurationError) {
        try budget.setBaseLimit(limit)
        shrink(reason: .evicted)
    }

    func setPressureScale(_ scale: Double) async {
        await gate?.pass()
        budget.setPressureScale(scale)
        scalesApplied.append(scale)
        shrink(reason: .pressure)
    }

    func prune() -> Int {
        pruneCount += 1
        return 0
    }

    func add(_ count: Int) {
        entries += count
        budget.recordSize(entries)
    }

    private func shrink(reason: RemovalReason) {
        let excess = entries - budget.effectiveLimit
        guard excess > 0 else { return }
        entries -= excess
        metrics.entriesRemoved(excess, reason: reason, component: componentName)
    }
}

/// Holds callers of `pass()` until the test opens it, and tells the test when one arrived.
final class Gate: Sendable {
    private struct State {
        var open = false
        var waiting: [CheckedContinuation<Void, Never>] = []
        var arrivals = 0
        var arrivalWatchers: [(Int, CheckedContinuation<Void, Never>)] = []
    }
    private let state = LockedState(State())

    func pass() async {
        await withCheckedContinuation { continuation in
            let (resume, watchers) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
                state.arrivals += 1
                let arrivals = state.arrivals
                let ready = state.arrivalWatchers.filter { $0.0 <= arrivals }.map(\.1)
                state.arrivalWatchers.removeAll { $0.0 <= arrivals }
                if state.open { return (true, ready) }
                state.waiting.append(continuation)
                return (false, ready)
            }
            for watcher in watchers { watcher.resume() }
            if resume { continuation.resume() }
        }
    }

    /// Waits until `count` callers have arrived at the gate in all.
    func waitForArrivals(_ count: Int) async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool in
                if state.arrivals >= count { return true }
                state.arrivalWatchers.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    func open() {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiting.removeAll() }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }
}
