/// Coordinates memory pressure across components (the seed's `macula_memory_pressure`, shaped after
/// Envoy's overload manager).
///
/// Each check takes one ``MemoryReading`` and maps it to ``MemoryPressureLevel``:
/// - a level is **entered** as soon as the reading reaches its threshold;
/// - a level is **left** only when the reading falls below its threshold by the hysteresis margin
///   (default 5 % of the threshold). A reading that wobbles around a threshold inside the margin
///   does not flap. One reading may leave several levels at once: a reading below the medium
///   threshold less the margin takes the monitor from `high` straight to `normal`. **Restore
///   rule**: the monitor goes back to `normal` only then, which is why the default source is heap
///   in use (it falls when memory is freed; resident memory often does not).
///
/// On a change of level the monitor sets every registered component's pressure scale (1.0 / 0.9 /
/// 0.8 by default), prunes each one, reports the change to the metrics hooks and logs it (info).
/// Level changes are applied one after another, in the order they were judged: a check, a
/// registration or a level change waits for the one before it to finish, so a slow component can
/// never make an older level land after a newer one. A reading that fails keeps the level and is
/// logged (warning) once, until a reading works again.
///
/// Components are held weakly: registering does not keep one alive.
public actor MemoryPressureMonitor {
    private struct WeakComponent {
        weak var component: (any MemoryManaged)?
    }

    /// The name in log events: ``MemoryPressureMonitorConfiguration/componentName``.
    public nonisolated let componentName: String
    /// The configuration the monitor was created with.
    public nonisolated let configuration: MemoryPressureMonitorConfiguration

    private var core: MemoryPressureCore
    private let reader: any MemoryReader
    private let clock: ComponentClock
    private let metrics: any MemoryMetrics
    private let logHandler: any ComponentLogHandler
    private var components: [ObjectIdentifier: WeakComponent] = [:]
    private var lifecycle = RunLifecycle.notStarted
    /// Callers waiting for their turn to judge or apply, oldest first.
    private var turnQueue: [CheckedContinuation<Void, Never>] = []
    private var turnTaken = false

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
        self.metrics = metrics
        self.logHandler = log
    }

    /// The current level.
    public var level: MemoryPressureLevel { core.level }

    /// How many live components are registered.
    /// - Complexity: O(n) for n registrations.
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
    /// - Complexity: O(n) for n registered components when the level changes, O(1) otherwise.
    @discardableResult
    public func check() async -> MemoryPressureLevel {
        await takeTurn()
        let reading: MemoryReading
        do {
            reading = try reader.read()
        } catch {
            if core.readingFailed() {
                log(.warning, .memoryReadingFailed, "\(error); the pressure level stays \(core.level) until a reading works",
                    ["error": error.description, "level": core.level.description])
            }
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
            log(.info, .pressureLevelChanged, "memory pressure went from \(from) to \(to): components scaled to \(scale)",
                ["from": from.description, "to": to.description, "used_bytes": "\(reading.usedBytes)", "scale": "\(scale)"])
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

    /// Checks every ``MemoryPressureMonitorConfiguration/checkInterval`` on the clock until the
    /// task is cancelled, then returns. The first check is immediate. May be called again after
    /// it returns.
    /// - Throws: ``MemoryPressureMonitorError/alreadyRunning`` when another `run()` is active.
    ///   Cancellation is not an error: `run()` returns normally.
    public func run() async throws(MemoryPressureMonitorError) {
        switch lifecycle.start() {
        case .started: break
        case .alreadyRunning, .shutDown: throw .alreadyRunning
        }
        defer { _ = lifecycle.end() }
        while !Task.isCancelled {
            await check()
            do {
                try await clock.sleep(until: clock.now + configuration.checkInterval)
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

    private func log(_ level: ComponentLogEvent.Level, _ kind: ComponentLogEvent.Kind, _ message: String, _ metadata: [String: String]) {
        logHandler.log(ComponentLogEvent(level: level, kind: kind, component: componentName, message: message, metadata: metadata))
    }
}

extension ComponentLogEvent.Kind {
    /// The memory pressure level changed (level info); metadata `from`, `to`, `used_bytes`,
    /// `scale`.
    public static let pressureLevelChanged = Self("pressure_level_changed")
    /// A memory reading failed and the level was kept (level warning, once until a reading
    /// works again); metadata `error`, `level`.
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
