import MaculaDemoSupport
import Testing

@Suite struct ArgumentParserTests {
    private func options(_ arguments: [String]) throws -> DemoOptions {
        switch try ArgumentParser.parse(arguments) {
        case .run(let options): return options
        case .help: Issue.record("expected options, got help"); return DemoOptions()
        }
    }

    private func error(_ arguments: [String]) -> ArgumentError? {
        do {
            _ = try ArgumentParser.parse(arguments)
            return nil
        } catch {
            return error
        }
    }

    @Test func noArgumentsGiveTheDefaults() throws {
        let parsed = try options([])
        #expect(parsed == DemoOptions())
        #expect(parsed.mode == .run)
        #expect(parsed.world == .bounded)
        #expect(parsed.durationSeconds == 30)
        #expect(parsed.scale == 1)
        #expect(parsed.limits.connections == 1_000)
        #expect(parsed.outputDirectory == nil)
    }

    @Test func everyOptionIsRead() throws {
        let parsed = try options([
            "--duration", "12.5", "--scale", "2", "--pool-limit", "10", "--client-limit", "20",
            "--local-service-limit", "30", "--cache-limit", "40", "--pending-call-limit", "50",
            "--pressure-spike", "0", "--seed", "7", "--output", "/tmp/x", "--unbounded",
        ])
        #expect(parsed.durationSeconds == 12.5)
        #expect(parsed.scale == 2)
        #expect(parsed.limits.connections == 10)
        #expect(parsed.limits.clients == 20)
        #expect(parsed.limits.localServices == 30)
        #expect(parsed.limits.cachedServices == 40)
        #expect(parsed.limits.pendingCalls == 50)
        #expect(parsed.pressureSpikeMiB == 0)
        #expect(parsed.seed == 7)
        #expect(parsed.outputDirectory == "/tmp/x")
        #expect(parsed.world == .unbounded)
    }

    @Test func valuesMayFollowAnEqualsSign() throws {
        let parsed = try options(["--duration=3", "--soak", "--output=/tmp/a=b"])
        #expect(parsed.durationSeconds == 3)
        #expect(parsed.mode == .soak)
        #expect(parsed.outputDirectory == "/tmp/a=b")
    }

    @Test func helpWinsWherever() throws {
        #expect(try ArgumentParser.parse(["--duration", "3", "--help"]) == .help)
        #expect(try ArgumentParser.parse(["-h"]) == .help)
        #expect(try ArgumentParser.parse(["--bogus", "-h"]) == .help)
    }

    @Test func unknownOptionsAndPositionalArgumentsAreRefused() {
        let unknown = error(["--durration", "3"])
        #expect(unknown == .unknownOption)
        #expect(unknown?.argument == "--durration")
        #expect(unknown?.description.contains("--durration") == true)
        #expect(error(["soak"]) == .unexpectedArgument)
        #expect(error(["-"]) == .unexpectedArgument)
        #expect(error(["-x"]) == .unknownOption)
    }

    @Test func missingValuesAreRefused() {
        #expect(error(["--duration"]) == .missingValue)
        #expect(error(["--duration="]) == .missingValue)
        #expect(error(["--output"]) == .missingValue)
        #expect(error(["--pool-limit"])?.argument == "--pool-limit")
    }

    @Test(arguments: [
        ["--duration", "0"], ["--duration", "-1"], ["--duration", "abc"], ["--duration", "nan"],
        ["--duration", "inf"], ["--duration", "100000"], ["--scale", "0"], ["--scale", "101"],
        ["--pool-limit", "0"], ["--pool-limit", "1.5"], ["--client-limit", "-3"],
        ["--cache-limit", "99999999999"], ["--pending-call-limit", "x"], ["--local-service-limit", ""],
        ["--pressure-spike", "-1"], ["--pressure-spike", "20000"], ["--seed", "-1"],
    ])
    func invalidValuesAreRefusedWithTheRule(arguments: [String]) {
        let refused = error(arguments)
        #expect(refused == .invalidValue)
        #expect(refused?.argument == arguments[0])
        #expect(refused?.description.contains("is not") == true)
    }

    @Test func flagsTakeNoValue() {
        #expect(error(["--soak=yes"]) == .unexpectedValue)
        #expect(error(["--unbounded=1"]) == .unexpectedValue)
    }

    @Test func aSoakRunsBothWorlds() {
        #expect(error(["--soak", "--unbounded"]) == .conflictingOptions)
        #expect(error(["--unbounded", "--soak"])?.description.contains("both worlds") == true)
    }

    @Test func theUsageNamesEveryOption() {
        for option in ["--duration", "--scale", "--pool-limit", "--client-limit", "--local-service-limit",
                       "--cache-limit", "--pending-call-limit", "--pressure-spike", "--seed", "--output",
                       "--unbounded", "--soak", "--help"] {
            #expect(ArgumentParser.usage.contains(option), "usage lacks \(option)")
        }
    }
}
