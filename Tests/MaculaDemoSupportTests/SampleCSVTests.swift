import MaculaDemoSupport
import Testing

@Suite struct SampleCSVTests {
    static let bounded = Sample(
        time: 0.25, residentBytes: 10_000_000, heapBytes: 5_000_000, pressure: "normal", spikeHeld: false,
        components: [
            .connections: ComponentReading(size: 1_000, effectiveLimit: 800, baseLimit: 1_000, highWaterMark: 1_000),
            .clients: ComponentReading(size: 3, effectiveLimit: 10, baseLimit: 10),
            .streams: ComponentReading(size: 9),
        ]
    )
    static let unbounded = Sample(
        time: 12.5, residentBytes: 20_000_000, heapBytes: 0, pressure: "high", spikeHeld: true,
        components: [.connections: ComponentReading(size: 4_321), .pendingCalls: ComponentReading(size: 0)]
    )

    @Test func theHeaderNamesEveryComponentWithItsLimits() {
        let header = SampleCSV.header
        #expect(header.prefix(6) == ["world", "time_s", "resident_bytes", "heap_bytes", "pressure", "spike"])
        #expect(header.count == 6 + 3 * DemoComponent.allCases.count)
        #expect(header.contains("pending_calls_limit"))
        #expect(header.contains("local_services_base"))
    }

    @Test func samplesSurviveARoundTrip() throws {
        let text = SampleCSV.render([("bounded", [Self.bounded]), ("unbounded", [Self.unbounded, Self.unbounded])])
        let runs = try SampleCSV.parse(text)
        #expect(runs.map(\.world) == ["bounded", "unbounded"])
        var expected = Self.bounded
        // The high-water mark is not written.
        expected.components[.connections]?.highWaterMark = nil
        #expect(runs[0].samples == [expected])
        #expect(runs[1].samples == [Self.unbounded, Self.unbounded])
    }

    @Test func aMissingLimitIsAnEmptyField() {
        let line = SampleCSV.line(SampleCSV.fields(of: Self.unbounded, world: "unbounded"))
        #expect(line.hasPrefix("unbounded,12.500,20000000,0,high,1,4321,,,"))
    }

    @Test func fieldsWithSeparatorsAreQuotedAndReadBack() {
        #expect(SampleCSV.quote("plain") == "plain")
        #expect(SampleCSV.quote("a,b") == "\"a,b\"")
        #expect(SampleCSV.quote("say \"hi\"") == "\"say \"\"hi\"\"\"")
        let records = SampleCSV.records("x,\"a,b\",\"say \"\"hi\"\"\"\r\n\n\"multi\nline\",2\n")
        #expect(records == [["x", "a,b", "say \"hi\""], ["multi\nline", "2"]])
    }

    @Test func aForeignHeaderIsRefused() {
        #expect(throws: SampleCSV.ReadError.self) { try SampleCSV.parse("a,b,c\n1,2,3\n") }
        #expect(throws: SampleCSV.ReadError.self) { try SampleCSV.parse("") }
    }

    @Test func aShortRowOrABadNumberNamesItsLine() throws {
        let header = SampleCSV.line(SampleCSV.header)
        do {
            _ = try SampleCSV.parse(header + "\nbounded,1\n")
            Issue.record("a short row was accepted")
        } catch {
            #expect(error.line == 2)
        }
        var fields = SampleCSV.fields(of: Self.bounded, world: "bounded")
        fields[2] = "lots"
        do {
            _ = try SampleCSV.parse(header + "\n" + SampleCSV.line(SampleCSV.fields(of: Self.bounded, world: "bounded")) + "\n" + SampleCSV.line(fields) + "\n")
            Issue.record("a bad number was accepted")
        } catch {
            #expect(error.line == 3)
            #expect(error.reason.contains("resident_bytes"))
        }
    }
}
