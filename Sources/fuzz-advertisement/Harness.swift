import MaculaModels

/// libFuzzer's entry point: intervals and a limit, then a sequence of advertisement operations
/// (advertisements, changes and duplicates, withdrawals, publish outcomes: success, failure,
/// interruption, stale and unknown attempt IDs; clock advances, often onto a deadline; limit and
/// pressure changes; `run()` starting and ending) applied to `AdvertisementManagerCore` and
/// `AdvertisementReferenceModel`; traps on the first difference or missed wake-up.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAdvertisement(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Fuzzing.run("advertisement", data, size, FuzzDrivers.advertisement)
    return 0
}

#if !MACULA_FUZZ
/// Without libFuzzer: replays the inputs named on the command line.
@main
enum Replay {
    static func main() {
        Fuzzing.replay("advertisement", arguments: CommandLine.arguments.dropFirst(), fuzzAdvertisement)
    }
}
#endif
