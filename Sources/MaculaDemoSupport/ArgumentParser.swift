/// Why a `macula-demo` command line was refused. The `description` names the argument and what
/// would be accepted; the executable prints it with the usage and exits with status 64 (EX_USAGE).
package struct ArgumentError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case unknownOption
        case missingValue
        case invalidValue
        case unexpectedArgument
        case conflictingOptions
        case unexpectedValue
    }

    private let code: Code
    /// The argument at fault, as it was written.
    package let argument: String
    private let detail: String

    private init(_ code: Code, _ argument: String, _ detail: String = "") {
        self.code = code
        self.argument = argument
        self.detail = detail
    }

    /// An option the demo does not know.
    package static let unknownOption = ArgumentError(.unknownOption, "")
    /// An option that needs a value came last, or got an empty one.
    package static let missingValue = ArgumentError(.missingValue, "")
    /// An option's value is not what the option accepts.
    package static let invalidValue = ArgumentError(.invalidValue, "")
    /// A positional argument: the demo takes none.
    package static let unexpectedArgument = ArgumentError(.unexpectedArgument, "")
    /// Two options that cannot go together.
    package static let conflictingOptions = ArgumentError(.conflictingOptions, "")
    /// A flag that takes no value was given one (`--soak=yes`).
    package static let unexpectedValue = ArgumentError(.unexpectedValue, "")

    static func unknownOption(_ option: String) -> Self { Self(.unknownOption, option) }
    static func missingValue(_ option: String) -> Self { Self(.missingValue, option) }
    static func invalidValue(_ option: String, _ value: String, expected: String) -> Self {
        Self(.invalidValue, option, "'\(value)' is not \(expected)")
    }
    static func unexpectedArgument(_ argument: String) -> Self { Self(.unexpectedArgument, argument) }
    static func conflicting(_ option: String, _ other: String, _ why: String) -> Self {
        Self(.conflictingOptions, option, "\(option) and \(other) cannot go together: \(why)")
    }
    static func unexpectedValue(_ option: String) -> Self { Self(.unexpectedValue, option) }

    /// Errors are equal when they have the same kind; the argument and detail are for people.
    package static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    package func hash(into hasher: inout Hasher) { hasher.combine(code) }

    package var description: String {
        switch code {
        case .unknownOption: "unknown option '\(argument)'"
        case .missingValue: "option '\(argument)' needs a value"
        case .invalidValue: "invalid value for '\(argument)': \(detail)"
        case .unexpectedArgument: "unexpected argument '\(argument)': macula-demo takes options only"
        case .conflictingOptions: detail
        case .unexpectedValue: "option '\(argument)' takes no value"
        }
    }
}

/// Parses `macula-demo`'s command line into a ``DemoCommand``.
package enum ArgumentParser {
    /// The usage text, printed by `--help` and after every refused command line.
    package static let usage = """
        usage: macula-demo [options]

        A simulated mesh node that embeds Macula's five mechanisms (connection pool, client
        manager, service registry with advertisement, RPC handler), the memory pressure monitor
        and the metrics registry, and drives realistic churn through them with the real clock.

        modes:
          (default)                  run the bounded world with a live status line and a report
          --unbounded                run the world before the fixes instead: the demo's naive
                                     stand-ins (unbounded maps, no TTL cleanup, no caller cleanup)
          --soak                     run both worlds, one after the other, each for the duration;
                                     write an SVG chart, a CSV of the samples and a verdict

        options:
          --duration SECONDS         how long the workload runs (per world in a soak); default 30
          --scale N                  multiply every workload rate by N (0 < N <= 100); default 1
          --pool-limit N             connection pool limit; default 1000
          --client-limit N           client manager limit; default 1000
          --local-service-limit N    local advertisements limit; default 500
          --cache-limit N            remote provider cache limit; default 500
          --pending-call-limit N     pending RPC call limit; default 2000
          --pressure-spike MIB       size of the simulated memory spike held in the middle of the
                                     run to drive the pressure monitor; 0 for none; default 96
          --seed N                   seed of the workload's random choices
          --output DIR               where to write the files; default a new temporary directory
          -h, --help                 show this help

        files written: exposition.prom (Prometheus text), samples.csv (every 250 ms),
        summary.json; with --soak also soak.svg, soak.csv and one directory per world.
        exit status: 0 success, 1 a soak acceptance check failed, 64 bad command line.
        """

    /// Parses `arguments` (without the program name).
    /// - Returns: `.help` when `-h`/`--help` appears anywhere, else `.run` with the options.
    /// - Throws: ``ArgumentError`` for the first argument that is not accepted.
    /// - Complexity: O(n) in the number of arguments.
    package static func parse(_ arguments: [String]) throws(ArgumentError) -> DemoCommand {
        if arguments.contains(where: { $0 == "-h" || $0 == "--help" }) { return .help }
        var options = DemoOptions()
        var unboundedGiven = false
        var index = 0
        while index < arguments.count {
            let raw = arguments[index]
            index += 1
            guard raw.hasPrefix("-"), raw != "-" else { throw .unexpectedArgument(raw) }
            var name = raw
            var inlineValue: String?
            if raw.hasPrefix("--"), let equals = raw.firstIndex(of: "=") {
                name = String(raw[..<equals])
                inlineValue = String(raw[raw.index(after: equals)...])
            }

            /// The option's value: inline after `=`, else the next argument.
            func value() throws(ArgumentError) -> String {
                if let inlineValue {
                    guard !inlineValue.isEmpty else { throw .missingValue(name) }
                    return inlineValue
                }
                guard index < arguments.count else { throw .missingValue(name) }
                let next = arguments[index]
                index += 1
                return next
            }
            func flag() throws(ArgumentError) {
                if inlineValue != nil { throw .unexpectedValue(name) }
            }

            switch name {
            case "--duration":
                options.durationSeconds = try seconds(name, try value())
            case "--scale":
                options.scale = try decimal(name, try value(), in: 0.001...100, expected: "a number greater than 0 and at most 100")
            case "--pool-limit":
                options.limits.connections = try limit(name, try value())
            case "--client-limit":
                options.limits.clients = try limit(name, try value())
            case "--local-service-limit":
                options.limits.localServices = try limit(name, try value())
            case "--cache-limit":
                options.limits.cachedServices = try limit(name, try value())
            case "--pending-call-limit":
                options.limits.pendingCalls = try limit(name, try value())
            case "--pressure-spike":
                options.pressureSpikeMiB = try integer(name, try value(), in: 0...16_384, expected: "a whole number of MiB from 0 to 16384")
            case "--seed":
                let text = try value()
                guard let seed = UInt64(text) else {
                    throw .invalidValue(name, text, expected: "a whole number from 0 to \(UInt64.max)")
                }
                options.seed = seed
            case "--output":
                options.outputDirectory = try value()
            case "--unbounded":
                try flag()
                unboundedGiven = true
                options.world = .unbounded
            case "--soak":
                try flag()
                options.mode = .soak
            default:
                throw .unknownOption(name)
            }
        }
        if options.mode == .soak && unboundedGiven {
            throw .conflicting("--soak", "--unbounded", "a soak runs both worlds")
        }
        return .run(options)
    }

    private static func seconds(_ option: String, _ text: String) throws(ArgumentError) -> Double {
        try decimal(option, text, in: 0.5...86_400, expected: "a number of seconds from 0.5 to 86400")
    }

    private static func limit(_ option: String, _ text: String) throws(ArgumentError) -> Int {
        try integer(option, text, in: 1...10_000_000, expected: "a whole number from 1 to 10000000")
    }

    private static func decimal(_ option: String, _ text: String, in range: ClosedRange<Double>, expected: String) throws(ArgumentError) -> Double {
        guard let number = Double(text), number.isFinite, range.contains(number) else {
            throw .invalidValue(option, text, expected: expected)
        }
        return number
    }

    private static func integer(_ option: String, _ text: String, in range: ClosedRange<Int>, expected: String) throws(ArgumentError) -> Int {
        guard let number = Int(text), range.contains(number) else {
            throw .invalidValue(option, text, expected: expected)
        }
        return number
    }
}
