import Foundation
import MaculaDemoSupport

/// The before/after soak: the same workload in both worlds, each in a fresh process of this
/// executable (so that neither inherits the other's heap), then the chart, the CSV and the
/// acceptance verdict.
enum Soak {
    /// Runs the soak.
    /// - Returns: 0 when every acceptance check passed, 1 when one failed or a run could not be
    ///   made.
    static func main(_ options: DemoOptions) async -> Int32 {
        let output: URL
        do {
            output = try OutputFiles.prepare(options.outputDirectory)
        } catch {
            Console.error("macula-demo: cannot create the output directory: \(error)")
            return 1
        }
        Console.line("macula-demo soak: the same workload in both worlds, \(Report.seconds(options.durationSeconds)) each, one process per world")
        Console.line("")

        var runs: [DemoOptions.World: (samples: [Sample], summary: RunSummary)] = [:]
        for world in [DemoOptions.World.bounded, .unbounded] {
            let directory = output.appendingPathComponent(world.rawValue, isDirectory: true)
            do {
                let status = try await runChild(arguments: childArguments(options, world: world, output: directory))
                guard status == 0 else {
                    Console.error("macula-demo: the \(world.rawValue) run exited with status \(status)")
                    return 1
                }
                runs[world] = try readRun(in: directory, world: world)
            } catch {
                Console.error("macula-demo: the \(world.rawValue) run failed: \(error)")
                return 1
            }
            Console.line("")
        }
        guard let bounded = runs[.bounded], let unbounded = runs[.unbounded] else { return 1 }

        let verdict = SoakVerdict.judge(bounded: bounded, unbounded: unbounded)
        let spike: (window: Range<Double>, mebibytes: Int)? = bounded.summary.spikeStartSeconds.flatMap { start in
            bounded.summary.spikeEndSeconds.map { end in (start..<end, bounded.summary.spikeBytes / 1_048_576) }
        }
        let limits = options.limits
        let subtitle = "\(Report.seconds(options.durationSeconds)) per world at scale \(ChartFormat.number(options.scale)), seed \(options.seed); "
            + "limits: \(limits.connections) connections, \(limits.clients) clients, \(limits.localServices) local services, "
            + "\(limits.cachedServices) cached services, \(limits.pendingCalls) pending calls; sampled every 250 ms"
        let chart = SoakChart.make(
            bounded: bounded.samples,
            unbounded: unbounded.samples,
            duration: options.durationSeconds,
            spike: spike,
            verdict: verdict,
            subtitle: subtitle
        )
        let svg = output.appendingPathComponent("soak.svg")
        let csv = output.appendingPathComponent("soak.csv")
        do {
            try Data(chart.render().utf8).write(to: svg)
            try Data(SampleCSV.render([("bounded", bounded.samples), ("unbounded", unbounded.samples)]).utf8).write(to: csv)
        } catch {
            Console.error("macula-demo: cannot write the soak files: \(error)")
            return 1
        }
        Console.out(report(bounded: bounded, unbounded: unbounded, verdict: verdict, svg: svg, csv: csv))
        return verdict.passed ? 0 : 1
    }

    static func report(
        bounded: (samples: [Sample], summary: RunSummary),
        unbounded: (samples: [Sample], summary: RunSummary),
        verdict: SoakVerdict,
        svg: URL,
        csv: URL
    ) -> String {
        var lines = ["== soak: bounded vs unbounded =="]
        lines.append("")
        lines.append("                       bounded (limit)          unbounded")
        for component in DemoComponent.allCases {
            let limit = bounded.samples.last?.components[component]?.baseLimit.map { " (\($0))" } ?? ""
            let left = (bounded.summary.finalSizes[component.rawValue].map(String.init) ?? "-") + limit
            let right = unbounded.summary.finalSizes[component.rawValue].map(String.init) ?? "-"
            lines.append("  " + Report.pad(component.title, 20) + Report.pad(left, 25) + right)
        }
        func memory(_ summary: RunSummary) -> String {
            "\(Report.mib(summary.residentStartBytes)) → peak \(Report.mib(summary.residentPeakBytes)) → end \(Report.mib(summary.residentEndBytes))"
        }
        lines.append("  " + Report.pad("resident memory", 20) + "bounded " + memory(bounded.summary))
        lines.append("  " + Report.pad("", 20) + "unbounded " + memory(unbounded.summary))
        lines.append("  " + Report.pad("pressure levels", 20) + "bounded " + bounded.summary.pressureLevelsSeen.joined(separator: ", ")
            + "; unbounded " + unbounded.summary.pressureLevelsSeen.joined(separator: ", "))
        lines.append("")
        lines.append("acceptance:")
        for check in verdict.checks {
            lines.append("  " + check.line)
        }
        lines.append("")
        lines.append("chart: \(svg.path)")
        lines.append("samples of both worlds: \(csv.path)")
        lines.append(verdict.passed ? "soak PASSED" : "soak FAILED")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The command line of one world's run: the soak's options, that world, its own directory.
    static func childArguments(_ options: DemoOptions, world: DemoOptions.World, output: URL) -> [String] {
        var arguments = [
            "--duration", "\(options.durationSeconds)",
            "--scale", "\(options.scale)",
            "--pool-limit", "\(options.limits.connections)",
            "--client-limit", "\(options.limits.clients)",
            "--local-service-limit", "\(options.limits.localServices)",
            "--cache-limit", "\(options.limits.cachedServices)",
            "--pending-call-limit", "\(options.limits.pendingCalls)",
            "--pressure-spike", "\(options.pressureSpikeMiB)",
            "--seed", "\(options.seed)",
            "--output", output.path,
        ]
        if world == .unbounded { arguments.append("--unbounded") }
        return arguments
    }

    /// Runs this executable with `arguments`, sharing the standard streams.
    /// - Returns: its exit status.
    static func runChild(arguments: [String]) async throws -> Int32 {
        let process = Process()
        process.executableURL = executableURL()
        process.arguments = arguments
        return try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { process in
                continuation.resume(returning: process.terminationStatus)
            }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
    }

    /// This executable's path.
    static func executableURL() -> URL {
        #if os(Linux)
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: path)
        }
        #endif
        return Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
    }

    struct MissingWorld: Error, CustomStringConvertible {
        var world: String
        var description: String { "samples.csv holds no samples of the \(world) world" }
    }

    static func readRun(in directory: URL, world: DemoOptions.World) throws -> (samples: [Sample], summary: RunSummary) {
        let text = try String(contentsOf: directory.appendingPathComponent("samples.csv"), encoding: .utf8)
        guard let samples = try SampleCSV.parse(text).first(where: { $0.world == world.rawValue })?.samples else {
            throw MissingWorld(world: world.rawValue)
        }
        let summary = try JSONDecoder().decode(RunSummary.self, from: Data(contentsOf: directory.appendingPathComponent("summary.json")))
        return (samples, summary)
    }
}
