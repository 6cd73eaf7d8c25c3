import MaculaMemory
@testable import MaculaMesh
import MaculaTesting
import Testing

/// Many tasks hammering one pool at once, while a resolver task completes or fails the factory's
/// calls as they arrive. After every operation the core's invariants hold (in particular the
/// established connections never exceed the limit, unless the limit was lowered under leased
/// ones); at the end every connection the factory ever made was closed exactly once.
@Suite("ConnectionPool stress", .timeLimit(.minutes(1)))
struct ConnectionPoolStressTests {
    @Test("concurrent callers keep the invariants, and every connection is closed exactly once")
    func hammer() async throws {
        let clock = ManualClock()
        // Half the calls answer at once, the rest wait for the resolver; cancelled calls throw.
        let factory = ScriptedConnectionFactory<Int>(honorsCancellation: true) { node in
            node < 0 || node % 2 == 0 ? .wait : .succeed
        }
        let pool = try PoolUnderTest(
            configuration: .init(maximumConnections: 6, maximumWaiters: 32, waitTimeout: .seconds(60)),
            clock: clock,
            factory: factory.connect
        )
        let runner = Task { try await pool.run() }
        let resolver = Task {
            var random = SplitMix64(state: 99)
            while true {
                let pending = await factory.nextConnect()
                if pending.node < 0 {
                    pending.fail(PoolTestError())
                    return
                }
                if Int.random(in: 0..<6, using: &random) == 0 {
                    pending.fail(PoolTestError())
                } else {
                    pending.succeed()
                }
            }
        }

        let workers = 12
        let operations = 250
        let violations = await withTaskGroup(of: [String].self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var random = SplitMix64(state: UInt64(worker) &* 7919 &+ 1)
                    var problems: [String] = []
                    for _ in 0..<operations {
                        let node = Int.random(in: 0..<16, using: &random)
                        switch Int.random(in: 0..<100, using: &random) {
                        case 0..<45:
                            _ = try? await pool.connection(to: node)
                        case 45..<70:
                            _ = try? await pool.withConnection(to: node) { connection in
                                // Something that suspends while the lease is held.
                                _ = await pool.info(for: connection.node)
                            }
                        case 70..<78:
                            let caller = Task { try await pool.connection(to: node) }
                            caller.cancel()
                            _ = try? await caller.value
                        case 78..<84:
                            await pool.remove(node)
                        case 84..<90:
                            if let victim = await pool.connections().randomElement(using: &random) {
                                victim.connection.markDead()
                            }
                        case 90..<94:
                            _ = await pool.prune()
                        case 94..<97:
                            try? await pool.setLimit(Int.random(in: 3...6, using: &random))
                        default:
                            await pool.setPressureScale([1, 0.5, 1, 0.75][Int.random(in: 0...3, using: &random)])
                        }
                        problems += await pool.core.invariantViolations()
                    }
                    return problems
                }
            }
            var all: [String] = []
            for await problems in group { all += problems }
            return all
        }
        #expect(violations.isEmpty, "\(violations.prefix(5))")
        #expect(await pool.memoryUsage().highWaterMark <= 6)
        // Every caller has returned: the actor keeps nothing for any of them.
        #expect(await pool.callerStateLeftOver() == [])

        await pool.shutdown()
        async let stop: Void = { _ = try? await factory.connect(to: -1) }()
        await resolver.value
        await stop
        runner.cancel()
        try await runner.value

        let made = factory.connections.filter { $0.node >= 0 }
        #expect(made.count > 100, "the stress made \(made.count) connections")
        let wrong = made.filter { $0.closeCount != 1 }
        #expect(wrong.isEmpty, "closed other than once: \(wrong.prefix(5).map { "\($0) ×\($0.closeCount)" })")
    }
}
