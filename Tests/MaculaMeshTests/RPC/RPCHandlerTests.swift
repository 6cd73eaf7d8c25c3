@testable import MaculaMesh
import MaculaTesting
import Testing

@Suite("RPCHandler on the manual clock")
struct RPCHandlerTests {
    @Test("a reply reaches its caller, matched by call ID")
    func reply() async throws {
        let fixture = try RPCFixture()
        try await fixture.cache(RPCTest.nodes("a"), for: "calc.add")
        let call = fixture.call("calc.add", [1, 2])
        let request = await fixture.transport.nextRequest()
        #expect(request.procedure == "calc.add")
        #expect(request.arguments == [1, 2])
        #expect(request.provider == RPCTest.node("a"))
        #expect(request.attempt == 1)
        #expect(await fixture.handler.handleReply(.success(request.callID, [3])))
        #expect(try await call.value == [3])
        #expect(await fixture.pending() == (0, 0, 0))
        #expect(fixture.metrics.count(.callStarted) == 1)
        #expect(fixture.metrics.removed(.replied) == 1)
        await fixture.stop()
    }
}
