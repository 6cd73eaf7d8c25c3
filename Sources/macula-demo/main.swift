import Foundation
import MaculaDemoSupport

// macula-demo: a simulated mesh node that embeds Macula's mechanisms through their public API and
// drives realistic churn through them; `--unbounded` runs the world before the fixes, `--soak`
// runs both and charts them. See `macula-demo --help`.

let command: DemoCommand
do {
    command = try ArgumentParser.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    Console.error("macula-demo: \(error)\n\n\(ArgumentParser.usage)")
    exit(64)
}

switch command {
case .help:
    Console.line(ArgumentParser.usage)
    exit(0)
case .run(let options):
    Interrupt.install()
    switch options.mode {
    case .run:
        exit(await DemoRun.main(options))
    case .soak:
        exit(await Soak.main(options))
    }
}
