import MaculaDemoSupport
import MaculaMemory
import MaculaMesh

/// The demo's connections go into the pool as they are: `isAlive` and `close()` are theirs.
extension DemoConnection: PooledConnection {}

/// The pool facade over ``ConnectionPool``.
struct BoundedPool: PoolFacade {
    let pool: BoundedWorld.Pool

    func send(to peer: Int, leased: Bool) async -> Outcome {
        do {
            if leased {
                try await pool.withConnection(to: peer) { connection in _ = connection.send() }
            } else {
                _ = try await pool.connection(to: peer).send()
            }
            return .ok
        } catch let error as ConnectionPoolError {
            return Self.outcome(of: error)
        } catch {
            return .failed("\(error)")
        }
    }

    func peerLeft(_ peer: Int) async { await pool.remove(peer) }
    func maintain() async { _ = await pool.prune() }
    func shutdown() async { await pool.shutdown() }
    func reading() async -> ComponentReading { ComponentReading(await pool.memoryUsage()) }

    static func outcome(of error: ConnectionPoolError) -> Outcome {
        if error == .connectFailed { return .failed("peer unreachable") }
        if error == .timedOut { return .timedOut("waiting for a slot") }
        if error == .waitersLimitReached { return .refused("waiters_limit_reached") }
        if error == .limitReached { return .refused("limit_reached") }
        if error == .cancelled { return .cancelled }
        if error == .nodeRemoved { return .failed("peer removed while connecting") }
        if error == .notRunning { return .failed("not running") }
        if error == .shutdown { return .failed("shutdown") }
        return .failed("\(error)")
    }
}
