import MaculaMemory
import Dispatch
import Foundation
import MaculaDemoSupport
import Synchronization

/// Counts workload operations by kind and outcome, for the report.
final class OutcomeCounter: Sendable {
    private let counts = LockedState<[String: [String: Int]]>([:])

    func record(_ operation: String, _ outcome: Outcome) {
        counts.withLock { $0[operation, default: [:]][outcome.label, default: 0] += 1 }
    }

    /// Outcome counts per operation.
    var snapshot: [String: [String: Int]] { counts.withLock { $0 } }
}

/// Counts the child tasks the workload starts and those that finished.
final class TaskCounter: Sendable {
    private let started = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)

    func start() { started.add(1, ordering: .relaxed) }
    func finish() { finished.add(1, ordering: .relaxed) }

    var startedCount: Int { started.load(ordering: .relaxed) }
    var runningCount: Int { started.load(ordering: .relaxed) - finished.load(ordering: .relaxed) }
}

/// Drives the simulated node's traffic through a world's facades, on the real clock, for a
/// duration: every 10 ms it asks the ``WorkloadPlan`` what is due and carries it out. Every
/// operation that waits runs in a child task of the demo's task group, so cancelling the group at
/// the end stops everything.
struct Workload: Sendable {
    let world: any DemoWorld
    let mesh: SimulatedMesh
    let profile: WorkloadProfile
    let outcomes = OutcomeCounter()
    let tasks = TaskCounter()

    /// Runs the workload until `duration` seconds after `start`, adding its tasks to `group`.
    /// - Parameters:
    ///   - group: the demo's task group; it owns every task the workload starts.
    ///   - start: the instant the run started.
    ///   - duration: how long to run, in seconds.
    ///   - seed: the seed of the workload's choices.
    func drive(in group: inout DiscardingTaskGroup, start: ContinuousClock.Instant, duration: Double, seed: UInt64) async {
        var plan = WorkloadPlan(profile: profile, seed: seed)
        let kept = plan.keptServices
        spawn(in: &group) { [world, outcomes] in
            for service in kept { outcomes.record("services.advertise (kept)", await world.services.advertise(service)) }
        }
        let clock = mesh.clock
        while !Task.isCancelled && !Interrupt.requested {
            let now = Self.seconds(start.duration(to: clock.now))
            if now >= duration { break }
            perform(plan.step(at: now), in: &group)
            do {
                try await clock.sleep(for: .milliseconds(10))
            } catch {
                break
            }
        }
    }

    /// Carries out one step: the peer directory changes at once; each kind of work goes to child
    /// tasks (one per batch, one per scoped client, one per call).
    private func perform(_ step: WorkloadStep, in group: inout DiscardingTaskGroup) {
        for peer in step.peersJoining { mesh.peers.join(peer) }
        for peer in step.peersLeaving { mesh.peers.leave(peer) }

        if !step.pool.isEmpty {
            spawn(in: &group) { [world, outcomes] in
                for operation in step.pool {
                    switch operation {
                    case .send(let peer, let leased):
                        outcomes.record(leased ? "pool.send (leased)" : "pool.send", await world.pool.send(to: peer, leased: leased))
                    case .peerLeft(let peer):
                        await world.pool.peerLeft(peer)
                    case .maintain:
                        await world.pool.maintain()
                    }
                }
            }
        }

        let sessionBytes = profile.sessionBytes
        if !step.clients.isEmpty {
            spawn(in: &group) { [world, outcomes] in
                for operation in step.clients {
                    switch operation {
                    case .join(let client, let streams):
                        let outcome = await world.clients.connect(client, session: ClientSession(client: client, bytes: sessionBytes))
                        outcomes.record("clients.connect", outcome)
                        guard outcome == .ok else { continue }
                        for stream in streams {
                            outcomes.record("clients.openStream", await world.clients.openStream(stream, for: client))
                        }
                    case .leave(let client, let streams, let graceful):
                        if graceful {
                            for stream in streams { await world.clients.closeStream(stream) }
                        }
                        await world.clients.disconnect(client)
                    }
                }
            }
        }
        for scoped in step.scopedClients {
            spawn(in: &group) { [world, outcomes, mesh] in
                let session = ClientSession(client: scoped.client, bytes: sessionBytes)
                let outcome = await Self.cancelling(after: scoped.cancelAfter, clock: mesh.clock) {
                    await world.clients.withClient(scoped.client, session: session, streams: scoped.streams) {
                        try await mesh.sleep(Self.duration(scoped.lifetime))
                    }
                }
                outcomes.record(scoped.cancelAfter == nil ? "clients.withClient" : "clients.withClient (task cancelled)", outcome)
            }
        }

        if !step.services.isEmpty {
            let ttl = profile.oneShotTTL
            spawn(in: &group) { [world, outcomes] in
                for operation in step.services {
                    switch operation {
                    case .advertise(let service):
                        outcomes.record("services.advertise", await world.services.advertise(service))
                    case .stop(let service):
                        await world.services.stopAdvertising(service)
                    case .once(let service):
                        outcomes.record("services.advertiseOnce", await world.services.advertiseOnce(service, ttl: ttl))
                    }
                }
            }
        }

        let payloadBytes = profile.payloadBytes
        for call in step.calls {
            spawn(in: &group) { [world, outcomes, mesh] in
                let payload = [UInt8](repeating: 0x2A, count: payloadBytes)
                let outcome = await Self.cancelling(after: call.cancelAfter, clock: mesh.clock) {
                    await world.calls.call(call.service, payload: payload)
                }
                outcomes.record(call.cancelAfter == nil ? "rpc.call" : "rpc.call (caller cancelled)", outcome)
            }
        }
    }

    private func spawn(in group: inout DiscardingTaskGroup, _ body: @escaping @Sendable () async -> Void) {
        tasks.start()
        group.addTask { [tasks] in
            await body()
            tasks.finish()
        }
    }

    /// Runs `operation`; when `delay` is given, cancels it after `delay` seconds (as a server
    /// cancels the task of a connection that dropped) and returns its outcome all the same.
    static func cancelling(
        after delay: Double?,
        clock: ContinuousClock,
        _ operation: @escaping @Sendable () async -> Outcome
    ) async -> Outcome {
        guard let delay else { return await operation() }
        return await withTaskGroup(of: Outcome?.self) { group in
            group.addTask { await operation() }
            group.addTask {
                try? await clock.sleep(for: duration(delay))
                return nil
            }
            var result: Outcome?
            while let next = await group.next() {
                group.cancelAll()
                if let next {
                    result = next
                    break
                }
            }
            return result ?? .cancelled
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }

    static func duration(_ seconds: Double) -> Duration { .nanoseconds(Int64(seconds * 1e9)) }
}

/// Ctrl-C ends the workload early; the run still reports and writes its files. A second Ctrl-C
/// exits at once.
enum Interrupt {
    private static let flag = Atomic<Bool>(false)
    /// Written once, by `install()` on the main thread before any task starts; only kept alive.
    nonisolated(unsafe) private static var source: (any DispatchSourceSignal)?

    /// Whether Ctrl-C was pressed.
    static var requested: Bool { flag.load(ordering: .relaxed) }

    /// Takes over SIGINT: the first one sets ``requested``, the second exits with status 130.
    static func install() {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            if flag.exchange(true, ordering: .relaxed) { exit(130) }
        }
        source.resume()
        Self.source = source
    }
}
