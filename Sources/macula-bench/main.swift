import Foundation

// macula-bench: every mechanism's benchmark, each against a baseline measured in this process.
// Usage: macula-bench [--quick] [--json PATH]

var quick = false
var jsonPath: String?
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--quick": quick = true
    case "--json":
        guard let path = arguments.next() else {
            FileHandle.standardError.write(Data("macula-bench: --json needs a path\n".utf8))
            exit(64)
        }
        jsonPath = path
    case "-h", "--help":
        print("usage: macula-bench [--quick] [--json PATH]")
        exit(0)
    default:
        FileHandle.standardError.write(Data("macula-bench: unknown argument '\(argument)'\nusage: macula-bench [--quick] [--json PATH]\n".utf8))
        exit(64)
    }
}

/// Each mechanism adds its suite here.
let suites: [(String, (Bool) async -> [BenchmarkResult])] = [
    ("pool", connectionPoolBenchmarks),
    ("registry", serviceRegistryBenchmarks),
    ("clients", clientManagerBenchmarks),
    ("rpc", rpcHandlerBenchmarks),
]

var results: [BenchmarkResult] = []
for (name, suite) in suites {
    print("running \(name)…")
    results += await suite(quick)
}

print("")
print("group      comparison                                                   ratio      target     met")
for result in results {
    let name = result.name.padding(toLength: 60, withPad: " ", startingAt: 0)
    let group = result.group.padding(toLength: 10, withPad: " ", startingAt: 0)
    let ratio = format(result.ratio).padding(toLength: 10, withPad: " ", startingAt: 0)
    let target = result.target.padding(toLength: 10, withPad: " ", startingAt: 0)
    print("\(group) \(name) \(ratio) \(target) \(result.met ? "yes" : "NO")")
    print("           \(result.detail)")
}
if let jsonPath {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(results).write(to: URL(fileURLWithPath: jsonPath))
    print("wrote \(jsonPath)")
}
