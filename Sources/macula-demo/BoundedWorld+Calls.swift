import MaculaDemoSupport
import MaculaMemory
import MaculaMesh
import MaculaTesting

/// The call facade over ``RPCHandler``.
struct BoundedCalls: CallFacade {
    let handler: RPCHandler

    func call(_ service: String, payload: [UInt8]) async -> Outcome {
        do {
            _ = try await handler.call(service, arguments: payload)
            return .ok
        } catch {
            return Self.outcome(of: error)
        }
    }

    func reading() async -> ComponentReading { ComponentReading(await handler.memoryUsage()) }

    static func outcome(of error: RPCError) -> Outcome {
        if error == .cancelled { return .cancelled }
        if error == .attemptsExhausted { return .timedOut("every provider tried") }
        if error == .deadlineExceeded { return .timedOut("overall deadline") }
        if error == .discoveryTimedOut { return .timedOut("discovery") }
        if error == .tooManyPendingCalls { return .refused("too_many_pending_calls") }
        if error == .noProviders { return .failed("no providers") }
        if error == .discoveryFailed { return .failed("discovery failed") }
        if error == .procedureFailed { return .failed("procedure failed") }
        if error == .notRunning { return .failed("not running") }
        if error == .shutdown { return .failed("shutdown") }
        return .failed("\(error)")
    }
}

/// Finds the providers of a remote service after a DHT-like latency; honors cancellation.
struct SimulatedDiscovery: RPCDiscovery {
    let mesh: SimulatedMesh

    func discover(_ service: String) async throws -> [ServiceProvider] {
        try await mesh.sleep(mesh.discoveryLatency())
        return mesh.providers(of: service)
    }
}

/// The remote providers' side of the in-memory transport: every 2 ms it takes the requests the
/// transport holds and, after each provider's latency, hands the reply to the handler. One loop,
/// one sleeper; the replies in flight are bounded by the requests of the last latency window.
final class SimulatedNetwork: Sendable {
    private let transport: InMemoryRPCTransport
    private let mesh: SimulatedMesh
    private let reply = [UInt8](repeating: 0x4F, count: 64)

    init(transport: InMemoryRPCTransport, mesh: SimulatedMesh) {
        self.transport = transport
        self.mesh = mesh
    }

    /// Delivers replies to `handler` until the task is cancelled.
    func run(replyingTo handler: RPCHandler) async {
        var inFlight = EventQueue<RPCCallID>()
        let start = mesh.clock.now
        func now() -> Double { Workload.seconds(start.duration(to: mesh.clock.now)) }
        while !Task.isCancelled {
            let time = now()
            for request in transport.takeHeldRequests() {
                let latency = mesh.replyLatency(of: request.provider).map(Workload.seconds) ?? 0
                inFlight.schedule(request.callID, at: time + latency)
            }
            for callID in inFlight.popDue(at: time) {
                await handler.handleReply(.success(callID, reply))
            }
            do {
                try await mesh.clock.sleep(for: .milliseconds(2))
            } catch {
                return
            }
        }
    }
}
