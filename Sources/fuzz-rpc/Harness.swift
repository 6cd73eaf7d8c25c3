import MaculaModels

/// libFuzzer's entry point: a sequence of RPC handler operations (calls with cached providers,
/// none or a discovery; sends returning or failing; replies, some for ended or unknown calls;
/// cancellations; clock advances; discoveries found, empty or failed; stale discovery results;
/// limit and pressure changes) applied to `RPCHandlerCore` and `RPCReferenceModel`, then a
/// shutdown; traps on the first difference, or anything left pending for a departed caller.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRPC(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Fuzzing.run("rpc", data, size, FuzzDrivers.rpc)
    return 0
}

#if !MACULA_FUZZ
/// Without libFuzzer: replays the inputs named on the command line.
@main
enum Replay {
    static func main() {
        Fuzzing.replay("rpc", arguments: CommandLine.arguments.dropFirst(), fuzzRPC)
    }
}
#endif
