import MaculaModels

/// libFuzzer's entry point: a configuration, then readings (near thresholds, extreme, without a
/// limit), failed readings, the monitor's checks, and components registered, registered again,
/// unregistered (known or unknown IDs) or dropped, applied to `MemoryPressureCore` and
/// `MemoryPressureModel`; traps on the first difference.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPressure(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Fuzzing.run("pressure", data, size, FuzzDrivers.pressure)
    return 0
}

#if !MACULA_FUZZ
/// Without libFuzzer: replays the inputs named on the command line.
@main
enum Replay {
    static func main() {
        Fuzzing.replay("pressure", arguments: CommandLine.arguments.dropFirst(), fuzzPressure)
    }
}
#endif
