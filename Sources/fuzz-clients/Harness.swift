import MaculaModels

/// libFuzzer's entry point: limits, then a sequence of client manager operations (connects,
/// waiting connects, disconnects, stale registrations, streams, cancellations, clock advances,
/// limit and pressure changes, prunes, `run()` starting and stopping) applied to
/// `ClientManagerCore` and `ClientsModel`, then a shutdown; traps on the first difference or broken
/// invariant.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClients(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Fuzzing.run("clients", data, size, FuzzDrivers.clients)
    return 0
}

#if !MACULA_FUZZ
/// Without libFuzzer: replays the inputs named on the command line.
@main
enum Replay {
    static func main() {
        Fuzzing.replay("clients", arguments: CommandLine.arguments.dropFirst(), fuzzClients)
    }
}
#endif
