/// Coordinates memory pressure across components. Each check maps one ``MemoryReading`` to a
/// ``MemoryPressureLevel``: a level is entered when a reading reaches its threshold and left only
/// when one falls below it by the hysteresis margin (one reading may leave several levels). On a
/// change it sets every registered component's pressure scale, prunes each, and reports and logs
/// the change; checks, registrations and level changes take turns, so levels land in the order they
/// were judged. Components are held weakly. Behavior: `architecture/memory_management.md`.
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
    /// Oldest first.
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

    /// Registers `component`; at `medium` or `high` it gets the current scale (and is pruned)
    /// before this returns. Registering twice is a no-op.
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

    /// Unregisters `component`, leaving its scale as it is. A no-op for an unknown component.
    /// - Complexity: O(1).
    public func unregister(_ component: any MemoryManaged) {
        components[ObjectIdentifier(component)] = nil
    }

    /// Takes one reading now and applies a level change if there is one.
    /// - Returns: the level after the check; a failed reading keeps it.
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

    /// Checks at once, then every ``MemoryPressureMonitorConfiguration/checkInterval`` on the clock
    /// until its task is cancelled. May be called again after it returns.
    /// - Throws: ``MemoryPressureMonitorError/alreadyRunning`` when another `run()` is active.
    ///   Cancellation is not an error.
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

    private func takeTurn() async {
        if !turnTaken {
            turnTaken = true
            return
        }
        await withCheckedContinuation { turnQueue.append($0) }
    }

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
