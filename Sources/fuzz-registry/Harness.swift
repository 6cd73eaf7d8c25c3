import MaculaModels

/// libFuzzer's entry point: a sequence of registry operations (advertisements, withdrawals,
/// cached discovery results, invalidations, prunes, limit and pressure changes, clock advances;
/// valid, default, invalid and extreme TTLs; unknown services) applied to `ServiceRegistryCore` and
/// `ServiceRegistryModel`; traps on the first difference, a removal reported other than exactly
/// once, or a cache over its limit.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRegistry(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Fuzzing.run("registry", data, size, FuzzDrivers.registry)
    return 0
}

#if !MACULA_FUZZ
/// Without libFuzzer: replays the inputs named on the command line.
@main
enum Replay {
    static func main() {
        Fuzzing.replay("registry", arguments: CommandLine.arguments.dropFirst(), fuzzRegistry)
    }
}
#endif
