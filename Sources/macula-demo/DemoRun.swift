import Foundation
import MaculaDemoSupport
import MaculaMemory
import MaculaMesh

/// Everything one run produced, for the report and the files.
struct RunResult: Sendable {
    var options: DemoOptions
    var profile: WorkloadProfile
    var samples: [Sample]
    var finalSample: Sample
    var afterStop: [DemoComponent: ComponentReading]
    var snapshot: MemorySnapshot
    var residentStart: Int
    var pressureChanges: [PressureWatch.Change]
    var monitorSetup: String
    var spike: MemorySpike
    var outcomes: [String: [String: Int]]
    var ledger: (opens: Int, closes: Int, doubleCloses: Int, releases: Int)
    var openAtEnd: Int
    var tasksStarted: Int
    var tasksRunningAfter: Int
    var advertisementLog: (events: [String: Int], removed: Int)
    var publishes: Int
    var elapsed: Double
}

/// Runs one world for the duration: builds it, starts its loops, the sampler, the memory spike
/// and the pressure monitor in one task group, drives the workload, then cancels the group and
/// waits for every task before it reports.
enum DemoRun {
    static let sampleInterval: Duration = .milliseconds(250)

    static func execute(_ options: DemoOptions, output: URL) async throws -> RunResult {
        var profile = WorkloadProfile()
        profile.scale = options.scale
        let mesh = SimulatedMesh(profile: profile, seed: options.seed)
        let registry = MemoryMetricsRegistry()
        let world: any DemoWorld
        switch options.world {
        case .bounded:
            world = try BoundedWorld(profile: profile, limits: options.limits, mesh: mesh, metrics: registry)
        case .unbounded:
            world = UnboundedWorld(profile: profile, mesh: mesh)
        }
        for component in world.managedComponents {
            try registry.register(component)
        }

        let duration = options.durationSeconds
        let clock = ContinuousClock()
        let start = clock.now
        let residentStart = Sampler.residentBytes()
        let watch = PressureWatch(start: start)
        let spike = MemorySpike(window: (duration * 0.45)..<(duration * 0.75), bytes: options.pressureSpikeMiB * 1_048_576)
        let plan = PressurePlan(
            startTime: duration * SoakStatistics.defaultWarmUpFraction,
            spikeBytes: spike.bytes,
            checkInterval: profile.pressureCheckInterval
        )
        let sampler = Sampler(world: world, label: options.world.rawValue, duration: duration, start: start, spike: spike, watch: watch)
        let workload = Workload(world: world, mesh: mesh, profile: profile)
        let monitorSetup = LockedState("the pressure monitor did not start (the run ended during the warm-up)")

        var finalSample: Sample?
        var snapshot: MemorySnapshot?
        await withDiscardingTaskGroup { group in
            world.startLoops(in: &group)
            group.addTask { await sampler.run(interval: sampleInterval) }
            group.addTask { await spike.hold(start: start, clock: clock) }
            group.addTask {
                do {
                    try await clock.sleep(until: start.advanced(by: Workload.duration(plan.startTime)))
                } catch {
                    return
                }
                let heap = try? SystemMemoryReader.heapInUse.read().usedBytes
                let configuration = plan.configuration(heapBytes: heap)
                do {
                    let monitor = try MemoryPressureMonitor(
                        configuration: configuration,
                        clock: clock,
                        metrics: MemoryMetricsMultiplexer([registry, watch]),
                        reader: SystemMemoryReader.heapInUse
                    )
                    for component in world.managedComponents {
                        await monitor.register(component)
                    }
                    monitorSetup.withLock { $0 = Report.describe(configuration, startedAt: plan.startTime, heap: heap) }
                    try await monitor.run()
                } catch {
                    monitorSetup.withLock { $0 = "the pressure monitor failed: \(error)" }
                }
            }
            await workload.drive(in: &group, start: start, duration: duration, seed: options.seed)
            // The report's numbers and the exposition are those of the running node, taken before
            // the loops and the workload's tasks are cancelled.
            finalSample = await sampler.take()
            snapshot = await registry.snapshot()
            group.cancelAll()
        }
        let elapsed = Workload.seconds(start.duration(to: clock.now))
        let last = finalSample ?? sampler.all.last ?? Sample(time: elapsed, residentBytes: 0, heapBytes: 0, pressure: "normal", components: [:])
        sampler.finish(with: last)

        let openAtEnd = mesh.ledger.opens - mesh.ledger.closes
        await world.shutdown()
        let afterStop = await world.readings()
        let ledger = mesh.ledger
        return RunResult(
            options: options,
            profile: profile,
            samples: sampler.all,
            finalSample: last,
            afterStop: afterStop,
            snapshot: snapshot ?? MemorySnapshot(components: [], pressureLevel: watch.level),
            residentStart: residentStart,
            pressureChanges: watch.changes,
            monitorSetup: monitorSetup.withLock { $0 },
            spike: spike,
            outcomes: workload.outcomes.snapshot,
            ledger: (ledger.opens, ledger.closes, ledger.doubleCloses, ledger.releases),
            openAtEnd: openAtEnd,
            tasksStarted: workload.tasks.startedCount,
            tasksRunningAfter: workload.tasks.runningCount,
            advertisementLog: (world as? BoundedWorld)?.advertisementLog.summary ?? ([:], 0),
            publishes: mesh.publisher.publishes,
            elapsed: elapsed
        )
    }

    /// Runs one world, writes its files and prints its report.
    /// - Returns: the process exit status.
    static func main(_ options: DemoOptions) async -> Int32 {
        let output: URL
        do {
            output = try OutputFiles.prepare(options.outputDirectory)
        } catch {
            Console.error("macula-demo: cannot create the output directory: \(error)")
            return 1
        }
        Console.line(Report.header(options))
        let result: RunResult
        do {
            result = try await execute(options, output: output)
        } catch {
            Console.error("macula-demo: \(error)")
            return 1
        }
        do {
            let files = try OutputFiles.write(result, to: output)
            Console.out(Report.text(result, files: files))
        } catch {
            Console.out(Report.text(result, files: nil))
            Console.error("macula-demo: cannot write the output files: \(error)")
            return 1
        }
        return 0
    }
}
