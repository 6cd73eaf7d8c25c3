/// Coordinates memory pressure across components. Each check maps one ``MemoryReading`` to a
/// ``MemoryPressureLevel``: a level is entered when a reading reaches its threshold and left only
/// when one falls below it by the hysteresis margin (one reading may leave several levels). On a
/// change it sets every registered component's pressure scale, prunes each, and reports and logs
/// the change; checks, registrations and level changes take turns, so levels land in the order they
/// were judged. Components are held weakly. Behavior: `architecture/memory_management.md`.
public actor MemoryPressureMonitor {
    /// The name in log events: ``MemoryPressureMonitorConfiguration/componentName``.
    public nonisolated let componentName: String
    /// The configuration the monitor was created with.
    public nonisolated let configuration: MemoryPressureMonitorConfiguration

    private var core: MemoryPressureCore
    private let reader: any MemoryReader
    private let clock: ComponentClock
    private let report: Reporter
    /// Checks and registrations that apply a scale take turns: the one holding the turn, then the
    /// waiting ones, oldest first.
    private var turnTaken = false
    private var turnWaiters: [Waiter<Void>] = []

    /// Creates a monitor.
    /// - Parameters:
    ///   - configuration: thresholds, hysteresis, scales, interval and name.
    ///   - clock: the clock ``run()`` sleeps on; the continuous clock by default.
    ///   - metrics: receives every reading and every level change.
    ///   - log: receives level changes and failed readings.
    ///   - reader: the memory source; heap bytes in use by default.
    /// - Throws: ``ConfigurationError`` naming the field that breaks its rule.
    public init(
        configuration: MemoryPressureMonitorConfiguration = .init(),
        clock: some Clock<Duration> = ContinuousClock(),
        metrics: any MemoryMetrics = NoMemoryMetrics(),
        log: any ComponentLogHandler = NoComponentLog(),
        reader: any MemoryReader = SystemMemoryReader.heapInUse
    ) throws(ConfigurationError) {
        try configuration.validate()
        self.core = MemoryPressureCore(configuration: configuration)
        self.componentName = configuration.componentName
        self.configuration = configuration
        self.reader = reader
        self.clock = ComponentClock(clock)
        self.report = Reporter(component: configuration.componentName, metrics: metrics, log: log)
    }

    /// The current level.
    public var level: MemoryPressureLevel { core.level }

    /// How many live components are registered.
    /// - Complexity: O(n) for n registrations.
    public var registeredCount: Int { core.registeredCount }

    /// Registers `component`; at `medium` or `high` it gets the current scale (and is pruned)
    /// before this returns, unless the calling task is cancelled while it waits for its turn.
    /// Registering twice is a no-op.
    /// - Complexity: O(1) plus the component's own work.
    public func register(_ component: any MemoryManaged) async {
        guard core.register(component) != nil, await takeTurn() else { return }
        defer { endTurn() }
        await component.setPressureScale(core.scale)
        _ = await component.prune()
    }

    /// Unregisters `component`, leaving its scale as it is. A no-op for an unknown component.
    /// - Complexity: O(1).
    public func unregister(_ component: any MemoryManaged) {
        core.unregister(ObjectIdentifier(component))
    }

    /// Takes one reading now and applies a level change if there is one.
    /// - Returns: the level after the check; a failed reading keeps it, and so does a task
    ///   cancelled while it waits for its turn (it then takes no reading).
    /// - Complexity: O(n) for n registered components when the level changes, O(1) otherwise.
    @discardableResult
    public func check() async -> MemoryPressureLevel {
        guard await takeTurn() else { return core.level }
        defer { endTurn() }
        let check = core.checked(Result { () throws(MemoryReadError) in try reader.read() }, component: componentName)
        report(check.reports)
        if let scale = check.scale {
            for component in check.components {
                await component.setPressureScale(scale)
                _ = await component.prune()
            }
        }
        return core.level
    }

    /// Checks at once, then every ``MemoryPressureMonitorConfiguration/checkInterval`` on the clock
    /// until its task is cancelled. May be called again after it returns.
    /// - Throws: ``MemoryPressureMonitorError/alreadyRunning`` when another `run()` is active.
    ///   Cancellation is not an error.
    public func run() async throws(MemoryPressureMonitorError) {
        guard core.runStarted() else { throw .alreadyRunning }
        defer { core.runEnded() }
        await runDeadlineLoop(clock: clock, signal: DeadlineSignal()) { now in
            await check()
            return now + configuration.checkInterval
        }
    }

    /// Waits for the turn. - Returns: false when the task was cancelled first (no turn taken).
    private func takeTurn() async -> Bool {
        guard turnTaken else {
            turnTaken = true
            return true
        }
        let waiter = Waiter<Void>()
        turnWaiters.append(waiter)
        return await waiter.wait() != nil
    }

    /// Hands the turn to the oldest waiter whose task is not cancelled, or frees it.
    private func endTurn() {
        while !turnWaiters.isEmpty {
            if turnWaiters.removeFirst().finish(()) { return }
        }
        turnTaken = false
    }
}

extension ComponentLogEvent.Kind {
    /// The pressure level changed (info); metadata `from`, `to`, `used_bytes`, `scale`.
    public static let pressureLevelChanged = Self("pressure_level_changed")
    /// A reading failed and the level was kept (warning, once until a reading works); metadata
    /// `error`, `level`.
    public static let memoryReadingFailed = Self("memory_reading_failed")
}

/// An error from ``MemoryPressureMonitor``.
public struct MemoryPressureMonitorError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable { case alreadyRunning }
    private let code: Code

    /// `run()` was called while another `run()` of the same monitor is active.
    public static let alreadyRunning = MemoryPressureMonitorError(code: .alreadyRunning)

    /// What went wrong and what to do about it.
    public var description: String {
        switch code {
        case .alreadyRunning: "the memory pressure monitor's run() is already running; call it from one task only"
        }
    }
}
