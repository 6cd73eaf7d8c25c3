import Foundation

// macula-bench: every mechanism's benchmark, each against a baseline measured in this process.
// Usage: macula-bench [--quick] [--json PATH] [--only NAME[,NAME…]]
//        macula-bench --heap [--operations N | --quick]

let usage = """
    usage: macula-bench [--quick] [--json PATH] [--only NAME[,NAME...]]
           macula-bench --heap [--operations N | --quick]
      --quick          a smoke run (each suite in well under 15 s; under a minute in all);
                       with --heap, 1,000,000 operations unless --operations says otherwise
      --json PATH      also write the results as JSON to PATH
      --only NAMES     run only the named suites (comma-separated)
      --heap           run no suite: drive mixed operations through all five components at
                       once and report heap growth per million operations (not with --json or
                       --only)
      --operations N   the operations of the --heap run, a positive integer (default 10,000,000);
                       heap growth is measured after the first fifth (at most 2,000,000)
    exit status: 0 (a missed target is reported, not fatal: timings on a shared machine vary;
    --heap: every size within its limit and heap growth within 1 % + 256 KiB), 1 for a failed
    --heap run,
    64 for a bad command line
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("macula-bench: \(message)\n\(usage)\n".utf8))
    exit(64)
}

var quick = false
var jsonPath: String?
var only: Set<String>?
var heap = false
var heapOperations: Int?
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--quick": quick = true
    case "--json":
        guard let path = arguments.next(), !path.isEmpty else { fail("--json needs a path") }
        jsonPath = path
    case "--only":
        guard let names = arguments.next(), !names.isEmpty else { fail("--only needs suite names") }
        only = Set(names.split(separator: ",").map(String.init))
    case "--heap": heap = true
    case "--operations":
        guard let value = arguments.next(), let count = Int(value), count > 0 else {
            fail("--operations needs a positive integer")
        }
        heapOperations = count
    case "-h", "--help":
        print(usage)
        exit(0)
    default:
        fail("unknown argument '\(argument)'")
    }
}

if heap {
    if only != nil { fail("--only selects suites; --heap runs none") }
    if jsonPath != nil { fail("--json writes suite results; --heap has none") }
    let passed = await heapBenchmark(operations: heapOperations ?? (quick ? 1_000_000 : 10_000_000))
    exit(passed ? 0 : 1)
}
if heapOperations != nil { fail("--operations needs --heap") }

/// Each mechanism adds its suite here.
let suites: [(String, (Bool) async -> [BenchmarkResult])] = [
    ("pool", connectionPoolBenchmarks),
    ("registry", serviceRegistryBenchmarks),
    ("clients", clientManagerBenchmarks),
    ("rpc", rpcHandlerBenchmarks),
]

if let only {
    let unknown = only.subtracting(suites.map(\.0))
    if !unknown.isEmpty {
        fail("no suite named \(unknown.sorted().joined(separator: ", ")); suites: \(suites.map(\.0).joined(separator: ", "))")
    }
}

let started = DispatchTime.now().uptimeNanoseconds
var results: [BenchmarkResult] = []
for (name, suite) in suites where only?.contains(name) ?? true {
    print("running \(name)…")
    let suiteStart = DispatchTime.now().uptimeNanoseconds
    results += await suite(quick)
    print(String(format: "  %@ done in %.1f s", name, Double(DispatchTime.now().uptimeNanoseconds - suiteStart) / 1e9))
}
let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9

print("")
print("\(quick ? "quick" : "full") mode; each ratio is measured in this process against its baseline")
print("group      comparison                                                   ratio      target     met")
for result in results {
    let name = result.name.padding(toLength: 60, withPad: " ", startingAt: 0)
    let group = result.group.padding(toLength: 10, withPad: " ", startingAt: 0)
    let ratio = format(result.ratio).padding(toLength: 10, withPad: " ", startingAt: 0)
    let reportOnly = result.target == Target.report.check(0).0
    let target = result.target.padding(toLength: 10, withPad: " ", startingAt: 0)
    print("\(group) \(name) \(ratio) \(target) \(reportOnly ? "-" : result.met ? "yes" : "NO")")
    print("           \(result.detail)")
}
let judged = results.filter { $0.target != Target.report.check(0).0 }
let missed = judged.filter { !$0.met }
print("")
print(String(format: "%d comparisons, %d with a target: %@ (%.1f s)", results.count, judged.count,
             missed.isEmpty ? "all met" : "\(missed.count) NOT met", seconds))
for result in missed {
    print("  NOT met: \(result.group) \(result.name): \(format(result.ratio)), target \(result.target)")
}

/// What `--json` writes.
struct BenchmarkReport: Codable {
    var mode: String
    var seconds: Double
    var results: [BenchmarkResult]
}

if let jsonPath {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    do {
        try encoder.encode(BenchmarkReport(mode: quick ? "quick" : "full", seconds: seconds, results: results))
            .write(to: URL(fileURLWithPath: jsonPath))
        print("wrote \(jsonPath)")
    } catch {
        FileHandle.standardError.write(Data("macula-bench: cannot write \(jsonPath): \(error)\n".utf8))
        exit(1)
    }
}
