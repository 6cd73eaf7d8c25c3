/// Coordinates memory pressure across components (the seed's `macula_memory_pressure`, shaped after
/// Envoy's overload manager).
///
/// Each check takes one ``MemoryReading`` and maps it to ``MemoryPressureLevel``:
/// - a level is **entered** as soon as the reading reaches its threshold;
/// - a level is **left** only when the reading falls below its threshold by the hysteresis margin
///   (default 5 % of the threshold), one level at a time. A reading that wobbles around a
///   threshold inside the margin does not flap. **Restore rule**: the monitor goes back to `normal`
///   only when the reading falls below the medium threshold less the margin, which is why the
///   default source is heap in use (it falls when memory is freed; resident memory often does not).
///
/// On a change of level the monitor sets every registered component's pressure scale (1.0 / 0.9 /
/// 0.8 by default), prunes each one, and reports the change to the metrics hooks. Level changes are
/// applied one at a time, in the order they were judged: a check, a registration or a level change
/// waits for the one before it to finish, so a slow component can never make an older level land
/// after a newer one.
///
/// Components are held weakly: registering does not keep one alive.
public actor MemoryPressureMonitor<C: Clock> where C.Duration == Duration {
    /// Thresholds, hysteresis, scales and interval.
    public typealias Configuration = MemoryPressureConfiguration

    private struct WeakComponent {
        weak var component: (any MemoryManaged)?
    }

    /// Lifecycle of ``run()``.
    private enum RunState {
        /// No `run()` loop; may become `running`.
        case idle
        /// A `run()` loop is active; becomes `idle` when it ends.
        case running
    }

    private var core: MemoryPressureCore
    private let reader: any MemoryReader
    private let clock: C
    private let metrics: any MemoryMetrics
    private var components: [ObjectIdentifier: WeakComponent] = [:]
    private var runState = RunState.idle
    /// Callers waiting for their turn to judge or apply, oldest first.
    private var turnQueue: [CheckedContinuation<Void, Never>] = []
    private var turnTaken = false

    /// Creates a monitor.
    /// - Parameters:
    ///   - configuration: thresholds, hysteresis, scales and interval.
    ///   - reader: the memory source; default heap bytes in use.
    ///   - clock: the clock ``run()`` sleeps on.
    ///   - metrics: receives every reading and every level change.
    /// - Throws: ``ConfigurationError`` naming the field that breaks its rule.
    public init(
        configuration: Configuration = Configuration(),
        reader: any MemoryReader = SystemMemoryReader.heapInUse,
        clock: C,
        metrics: any MemoryMetrics = NoMemoryMetrics()
    ) throws(ConfigurationError) {
        try configuration.validate()
        self.core = MemoryPressureCore(configuration: configuration)
        self.reader = reader
        self.clock = clock
        self.metrics = metrics
    }

    /// The current level.
    public var level: MemoryPressureLevel { core.level }

    /// How many live components are registered.
    public var registeredCount: Int { components.values.filter { $0.component != nil }.count }

    /// Registers `component`. When the level is `medium` or `high` it gets the current scale at once
    /// (and is pruned) before this returns. Registering twice is a no-op.
    /// - Complexity: O(1) plus the component's own work.
    public func register(_ component: any MemoryManaged) async {
        await takeTurn()
        components[ObjectIdentifier(component)] = WeakComponent(component: component)
        if core.level != .normal {
            await component.setPressureScale(core.scale)
            _ = await component.prune()
        }
        endTurn()
    }

    /// Unregisters `component`; its scale is left as it is. Unknown components are a no-op.
    /// - Complexity: O(1).
    public func unregister(_ component: any MemoryManaged) {
        components[ObjectIdentifier(component)] = nil
    }

    /// Takes one reading now and applies a level change if there is one.
    /// - Returns: the level after the check. When the reading fails, the level is kept.
    @discardableResult
    public func check() async -> MemoryPressureLevel {
        await takeTurn()
        let reading: MemoryReading
        do {
            reading = try reader.read()
        } catch {
            endTurn()
            return core.level
        }
        let action = core.readingTaken(reading)
        metrics.memoryReadingTaken(reading, level: core.level)
        switch action {
        case .none, .unjudged:
            break
        case .applyLevel(let from, let to, let scale):
            metrics.pressureLevelChanged(from: from, to: to, reading: reading)
            components = components.filter { $0.value.component != nil }
            for component in components.values.compactMap(\.component) {
                await component.setPressureScale(scale)
                _ = await component.prune()
            }
        }
        let level = core.level
        endTurn()
        return level
    }

    /// Checks every ``Configuration/checkInterval`` on the clock until the task is cancelled, then
    /// returns. The first check is immediate.
    /// - Throws: ``MemoryPressureMonitorError/alreadyRunning`` when another `run()` is active.
    public func run() async throws {
        switch runState {
        case .running: throw MemoryPressureMonitorError.alreadyRunning
        case .idle: runState = .running
        }
        defer { runState = .idle }
        while !Task.isCancelled {
            await check()
            do {
                try await clock.sleep(until: clock.now.advanced(by: core.configuration.checkInterval), tolerance: nil)
            } catch {
                break
            }
        }
    }

    /// Waits until no other check, registration or level change is in progress.
    private func takeTurn() async {
        if !turnTaken {
            turnTaken = true
            return
        }
        await withCheckedContinuation { turnQueue.append($0) }
    }

    /// Hands the turn to the oldest waiter, or frees it.
    private func endTurn() {
        if turnQueue.isEmpty {
            turnTaken = false
        } else {
            turnQueue.removeFirst().resume()
        }
    }
}

extension MemoryPressureMonitor where C == ContinuousClock {
    /// Creates a monitor on the continuous clock.
    /// - Throws: ``ConfigurationError`` naming the field that breaks its rule.
    public init(
        configuration: Configuration = Configuration(),
        reader: any MemoryReader = SystemMemoryReader.heapInUse,
        metrics: any MemoryMetrics = NoMemoryMetrics()
    ) throws(ConfigurationError) {
        try self.init(configuration: configuration, reader: reader, clock: ContinuousClock(), metrics: metrics)
    }
}

/// An error from ``MemoryPressureMonitor``.
public struct MemoryPressureMonitorError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable { case alreadyRunning }
    private let code: Code

    /// `run()` was called while another `run()` of the same monitor is active.
    public static let alreadyRunning = MemoryPressureMonitorError(code: .alreadyRunning)

    public var description: String {
        switch code {
        case .alreadyRunning: "the memory pressure monitor is already running; run() must be called once"
        }
    }
}
