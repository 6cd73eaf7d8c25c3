@testable import MaculaMesh
import Testing

@Suite("RPCHandler core: provider strategies", .timeLimit(.minutes(3)))
struct RPCHandlerCoreProvidersTests {
    @Test("first: in order; round-robin: rotates per service; random: seeded and never an excluded provider")
    func strategies() {
        let roundRobin = RPCTest.options(configuration: RPCTest.configuration(strategy: .roundRobin))
        var core = RPCTest.runningCore()
        let rotation = (0..<4).map { _ in
            core.callStarted(service: "s", providers: RPCTest.abc, options: roundRobin, now: .zero).sent!.attempt.provider.nodeID
        }
        #expect(rotation == ["a", "b", "c", "a"])
        #expect(core.callStarted(service: "other", providers: RPCTest.abc, options: roundRobin, now: .zero).sent!.attempt.provider.nodeID == "a")
        // Round-robin failover continues after the failed provider.
        let id = core.callStarted(service: "s", providers: RPCTest.abc, options: roundRobin, now: .zero).sent!
        #expect(id.attempt.provider.nodeID == "b")
        #expect(core.sendCompleted(id.id, failed: true, now: .zero).next?.provider.nodeID == "c")
        #expect(core.sendCompleted(id.id, failed: true, now: .zero).next?.provider.nodeID == "a")

        func randomOrders(seed: UInt64) -> [[String]] {
            var core = RPCTest.runningCore(RPCTest.configuration(seed: seed, strategy: .random))
            let many = RPCTest.nodes("a", "b", "c", "d", "e", "f")
            return (0..<50).map { _ in
                let options = RPCTest.options(RPCCallOptions(maximumAttempts: 6, strategy: .random))
                let sent = core.callStarted(service: "s", providers: many, options: options, now: .zero).sent!
                var order = [sent.attempt.provider.nodeID]
                while let next = core.sendCompleted(sent.id, failed: true, now: .zero).next { order.append(next.provider.nodeID) }
                return order
            }
        }
        let orders = randomOrders(seed: 42)
        #expect(orders == randomOrders(seed: 42))
        #expect(orders != randomOrders(seed: 43))
        #expect(orders.allSatisfy { Set($0).count == 6 })  // every provider once, none repeated
        #expect(Set(orders.map { $0[0] }).count > 1)
    }
}
