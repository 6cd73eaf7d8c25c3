import MaculaModels

/// libFuzzer's entry point: a configuration and a sequence of readings and failed readings,
/// applied to `MemoryPressureCore` and `MemoryPressureModel`; traps on the first difference.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPressure(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Fuzzing.run("pressure", data, size) { (random: inout ModelRandom) throws(Divergence) in
        var run = MemoryPressureModelRun(configuration: MemoryPressureModelRun.configuration(&random))
        while !random.isExhausted, run.step < Fuzzing.maximumSteps {
            try run.randomOperation(&random)
        }
    }
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
