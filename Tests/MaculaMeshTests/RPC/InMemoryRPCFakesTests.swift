import MaculaMemory
import MaculaMesh
import MaculaTesting
import Testing

@Suite("In-memory RPC transport and discovery", .timeLimit(.minutes(3)))
struct InMemoryRPCFakesTests {
    private func request(_ id: UInt64, to node: String) -> RPCRequest {
        RPCRequest(callID: RPCCallID(rawValue: id), procedure: "p", arguments: [UInt8(id)], provider: RPCTest.node(node), attempt: 1)
    }

    @Test("the transport holds, drops, fails or answers per provider, and hands held requests out in order")
    func transportBehaviors() async throws {
        let transport = InMemoryRPCTransport()
        let replies = LockedState<[RPCReply]>([])
        transport.deliverReplies { reply in replies.withLock { $0.append(reply) } }
        transport.setBehavior(.drop, for: "dropped")
        transport.setBehavior(.failSend("refused"), for: "failing")
        transport.setBehavior(.respond { .success($0.arguments + [9]) }, for: "answering")

        try await transport.send(request(1, to: "held"))
        try await transport.send(request(2, to: "dropped"))
        await #expect(throws: InMemoryRPCTransportError.self) { try await transport.send(request(3, to: "failing")) }
        try await transport.send(request(4, to: "answering"))
        try await transport.send(request(5, to: "held"))

        #expect(transport.sendCount == 5)
        #expect(transport.sentRequests.map(\.callID.rawValue) == [1, 2, 3, 4, 5])
        #expect(replies.withLock { $0 } == [.success(RPCCallID(rawValue: 4), [4, 9])])
        #expect(await transport.nextRequest().callID.rawValue == 1)
        #expect(transport.takeHeldRequests().map(\.callID.rawValue) == [5])
        #expect(transport.heldRequests.isEmpty)
        // A waiting `nextRequest` gets the next held request when it is sent.
        async let next = transport.nextRequest()
        await transport.waitForSends(5)
        try await transport.send(request(6, to: "held"))
        #expect(await next.callID.rawValue == 6)
    }

    @Test("the discovery answers from its table, or holds until the test answers; a cancelled hold is counted")
    func discoveryAnswers() async throws {
        let discovery = InMemoryRPCDiscovery(defaultAnswer: .providers(RPCTest.nodes("x")))
        discovery.setAnswer(.failure("down"), for: "broken")
        discovery.setAnswer(.hold, for: "slow")
        #expect(try await discovery.discover("anything") == RPCTest.nodes("x"))
        await #expect(throws: InMemoryRPCDiscoveryError.self) { try await discovery.discover("broken") }

        let answered = Task { try await discovery.discover("slow") }
        let query = await discovery.nextQuery()
        #expect(query.service == "slow")
        #expect(query.succeed(RPCTest.nodes("a")))
        #expect(try await answered.value == RPCTest.nodes("a"))

        let abandoned = Task { try await discovery.discover("slow") }
        let second = await discovery.nextQuery()
        abandoned.cancel()
        await discovery.waitForCancellations(1)
        await #expect(throws: CancellationError.self) { try await abandoned.value }
        #expect(!second.succeed(RPCTest.nodes("a")))
        #expect(discovery.discoveryCount(for: "slow") == 2)
        #expect(discovery.discoveryCount() == 4)
        #expect(discovery.heldCount == 0)
    }

    private final class WeakBox<Object: AnyObject> {
        weak var object: Object?
        init(_ object: Object) { self.object = object }
    }

    @Test("the transport does not keep the handler its replies go to alive; a reply after the handler is gone is dropped")
    func transportHoldsHandlerWeakly() async throws {
        let transport = InMemoryRPCTransport(defaultBehavior: .respond { .success($0.arguments) })
        func wire() throws -> WeakBox<RPCHandler> {
            let registry = try ServiceRegistry(configuration: .init())
            let handler = try RPCHandler(registry: registry, transport: transport, discovery: InMemoryRPCDiscovery())
            transport.deliverReplies(to: handler)
            return WeakBox(handler)
        }
        let handler = try wire()
        #expect(handler.object == nil)
        try await transport.send(request(1, to: "answering"))
        #expect(transport.sendCount == 1)
    }

    @Test("a held discovery the test never took does not keep the discovery alive")
    func discoveryHoldsNoReferenceToItself() async throws {
        func abandonQuery() async -> WeakBox<InMemoryRPCDiscovery> {
            let discovery = InMemoryRPCDiscovery(defaultAnswer: .hold)
            let abandoned = Task { try await discovery.discover("slow") }
            await discovery.waitForHolds(1)
            #expect(discovery.heldCount == 1)
            abandoned.cancel()
            await discovery.waitForCancellations(1)
            _ = await abandoned.result
            return WeakBox(discovery)
        }
        let discovery = await abandonQuery()
        #expect(discovery.object == nil)
    }
}
