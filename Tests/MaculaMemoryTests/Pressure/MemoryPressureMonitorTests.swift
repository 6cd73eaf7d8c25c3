import CMaculaSystem
import MaculaMemory
import MaculaTesting
import Testing

@Suite("MemoryPressureMonitor", .timeLimit(.minutes(3)))
struct MemoryPressureMonitorTests {
    private func configuration() -> MemoryPressureMonitorConfiguration {
        var configuration = MemoryPressureMonitorConfiguration()
        configuration.thresholds = .fractionOfLimit(medium: 0.8, high: 0.9)
        configuration.checkInterval = .seconds(5)
        return configuration
    }

    @Test("a registered component gets 80 % of base at high, 90 % at medium, its base at normal, pruned at each change, and the registry shows every step")
    func doneWhen() async throws {
        let registry = MemoryMetricsRegistry()
        let reader = FakeMemoryReader(usedBytes: 100, limitBytes: 1_000)
        let monitor = try MemoryPressureMonitor(configuration: configuration(), clock: ManualClock(), metrics: registry, reader: reader)
        let component = try FakeComponent(name: "fake_pool", limit: 1_000, entries: 950, metrics: registry)
        try registry.register(component)
        await monitor.register(component)

        func expectStep(level: MemoryPressureLevel, limit: Int, size: Int, prunes: Int, pressureRemovals: Int) async {
            #expect(await monitor.level == level)
            #expect(await component.memoryUsage().effectiveLimit == limit)
            #expect(await component.memoryUsage().baseLimit == 1_000)
            #expect(await component.pruneCount == prunes)
            let snapshot = await registry.snapshot()
            #expect(snapshot.pressureLevel == level)
            let stats = snapshot.component(named: "fake_pool")
            #expect(stats?.usage?.effectiveLimit == limit)
            #expect(stats?.usage?.size == size)
            #expect(stats?.usage?.highWaterMark == 950)
            #expect((stats?.removals[.pressure] ?? 0) == pressureRemovals)
            let samples = PrometheusSamples(parsing: await registry.prometheusText())
            #expect(samples["macula_component_limit_entries", ["component": "fake_pool"]] == Double(limit))
            #expect(samples["macula_component_entries", ["component": "fake_pool"]] == Double(size))
            #expect(samples["macula_memory_pressure_level", [:]] == Double(level.rawValue))
            #expect(samples["macula_component_removed_entries_total", ["component": "fake_pool", "reason": "pressure"]] ?? 0 == Double(pressureRemovals))
        }

        #expect(await monitor.check() == .normal)
        await expectStep(level: .normal, limit: 1_000, size: 950, prunes: 0, pressureRemovals: 0)

        reader.set(usedBytes: 950)
        #expect(await monitor.check() == .high)
        await expectStep(level: .high, limit: 800, size: 800, prunes: 1, pressureRemovals: 150)

        reader.set(usedBytes: 820)
        #expect(await monitor.check() == .medium)
        await expectStep(level: .medium, limit: 900, size: 800, prunes: 2, pressureRemovals: 150)

        reader.set(usedBytes: 100)
        #expect(await monitor.check() == .normal)
        await expectStep(level: .normal, limit: 1_000, size: 800, prunes: 3, pressureRemovals: 150)

        #expect(await component.scalesApplied == [0.8, 0.9, 1.0])
        let changes = await registry.snapshot().pressureLevelChanges
        #expect(changes == [.high: 1, .medium: 1, .normal: 1])
    }

    @Test("a component registered at high gets the current scale at once")
    func registerUnderPressure() async throws {
        let reader = FakeMemoryReader(usedBytes: 990, limitBytes: 1_000)
        let monitor = try MemoryPressureMonitor(configuration: configuration(), clock: ManualClock(), reader: reader)
        #expect(await monitor.check() == .high)
        let component = try FakeComponent(name: "late", limit: 10)
        await monitor.register(component)
        #expect(await component.memoryUsage().effectiveLimit == 8)
        #expect(await component.pruneCount == 1)
    }

    @Test("level changes land in order even when a component is slow")
    func orderedUnderSlowComponent() async throws {
        let reader = FakeMemoryReader(usedBytes: 100, limitBytes: 1_000)
        let monitor = try MemoryPressureMonitor(configuration: configuration(), clock: ManualClock(), reader: reader)
        let gate = Gate()
        let slow = try FakeComponent(name: "slow", limit: 100, gate: gate)
        let fast = try FakeComponent(name: "fast", limit: 100)
        await monitor.register(slow)
        await monitor.register(fast)

        reader.set(usedBytes: 950)
        let first = Task { await monitor.check() }
        await gate.waitForArrivals(1)          // the high level is being applied, stuck at `slow`
        reader.set(usedBytes: 100)
        let second = Task { await monitor.check() }
        // The first change is judged and being applied; the second check waits for its turn.
        #expect(await monitor.level == .high)
        gate.open()
        #expect(await first.value == .high)
        #expect(await second.value == .normal)
        #expect(await slow.scalesApplied == [0.8, 1.0])
        #expect(await fast.scalesApplied == [0.8, 1.0])
        #expect(await slow.memoryUsage().effectiveLimit == 100)
    }

    @Test("a check cancelled while it waits for its turn takes no reading and keeps the level; the turn passes on")
    func cancelledWhileWaitingForTurn() async throws {
        let reader = FakeMemoryReader(usedBytes: 100, limitBytes: 1_000)
        let monitor = try MemoryPressureMonitor(configuration: configuration(), clock: ManualClock(), reader: reader)
        let gate = Gate()
        let slow = try FakeComponent(name: "slow", limit: 100, gate: gate)
        await monitor.register(slow)

        reader.set(usedBytes: 950)
        let first = Task { await monitor.check() }
        await gate.waitForArrivals(1)          // the first check holds the turn
        let reads = reader.readCount
        let second = Task { await monitor.check() }
        second.cancel()
        #expect(await second.value == .high)
        #expect(reader.readCount == reads)
        gate.open()
        #expect(await first.value == .high)
        reader.set(usedBytes: 100)
        #expect(await monitor.check() == .normal)
        #expect(await slow.scalesApplied == [0.8, 1.0])
    }

    @Test("components are held weakly")
    func weakRegistration() async throws {
        let reader = FakeMemoryReader(usedBytes: 100, limitBytes: 1_000)
        let monitor = try MemoryPressureMonitor(configuration: configuration(), clock: ManualClock(), reader: reader)
        var component: FakeComponent? = try FakeComponent(name: "gone", limit: 10)
        await monitor.register(component!)
        #expect(await monitor.registeredCount == 1)
        component = nil
        #expect(await monitor.registeredCount == 0)
        reader.set(usedBytes: 999)
        #expect(await monitor.check() == .high)
    }

    @Test("a failed reading keeps the level")
    func failedReading() async throws {
        let reader = FakeMemoryReader(usedBytes: 950, limitBytes: 1_000)
        let monitor = try MemoryPressureMonitor(configuration: configuration(), clock: ManualClock(), reader: reader)
        #expect(await monitor.check() == .high)
        reader.fail(with: MemoryReadError("unreadable"))
        #expect(await monitor.check() == .high)
    }

    @Test("run() checks at once and every interval on the clock, and stops when cancelled")
    func runLoop() async throws {
        let clock = ManualClock()
        let reader = FakeMemoryReader(usedBytes: 100, limitBytes: 1_000)
        let metrics = RecordingMemoryMetrics()
        let monitor = try MemoryPressureMonitor(configuration: configuration(), clock: clock, metrics: metrics, reader: reader)
        let loop = Task { try await monitor.run() }
        #expect(await clock.nextSleep().offset == .seconds(5))
        #expect(reader.readCount == 1)
        await #expect(throws: MemoryPressureMonitorError.alreadyRunning) { try await monitor.run() }
        reader.set(usedBytes: 910)
        clock.advance(by: .seconds(5))
        #expect(await clock.nextSleep().offset == .seconds(10))
        #expect(reader.readCount == 2)
        #expect(await monitor.level == .high)
        #expect(metrics.events.contains(.pressureLevelChanged(from: .normal, to: .high, usedBytes: 910)))
        loop.cancel()
        try await loop.value
        #expect(clock.sleeperCount == 0)
        #expect(reader.readCount == 2)
    }

    @Test("bad configuration is refused at creation")
    func badConfiguration() {
        var configuration = configuration()
        configuration.highScale = 1.5
        #expect(throws: ConfigurationError.self) {
            _ = try MemoryPressureMonitor(configuration: configuration, clock: ManualClock(), reader: FakeMemoryReader())
        }
    }

    @Test("the built-in readers read this process")
    func systemReaders() throws {
        if macula_allocator_is_replaced() != 0 {
            // Under ThreadSanitizer glibc's statistics read zero: the reader says so instead.
            #expect(throws: MemoryReadError.self) { try SystemMemoryReader.heapInUse.read() }
        } else {
            let heap = try SystemMemoryReader.heapInUse.read()
            #expect(heap.usedBytes > 0)
            #expect((heap.limitBytes ?? 0) > 0)
        }
        #if os(Linux)
        let resident = try SystemMemoryReader.resident.read()
        #expect(resident.usedBytes > 1_000_000)
        #endif
    }
}
