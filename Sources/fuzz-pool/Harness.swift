import MaculaModels

/// libFuzzer's entry point: a limit and a waiter bound, then a sequence of pool operations
/// (requests with and without a lease, connects succeeding or failing, leases released,
/// cancellations, clock advances, removals, dead connections and prunes, limit and pressure
/// changes, `run()` starting and stopping) applied to `ConnectionPoolCore` and
/// `PoolReferenceModel`, then a shutdown; traps on the first difference, a connection closed other
/// than exactly once, or a request left without an outcome.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPool(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Fuzzing.run("pool", data, size, FuzzDrivers.pool)
    return 0
}

#if !MACULA_FUZZ
/// Without libFuzzer: replays the inputs named on the command line.
@main
enum Replay {
    static func main() {
        Fuzzing.replay("pool", arguments: CommandLine.arguments.dropFirst(), fuzzPool)
    }
}
#endif
