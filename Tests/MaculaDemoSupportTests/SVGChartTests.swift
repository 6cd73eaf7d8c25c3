import Foundation
import MaculaDemoSupport
import Testing
#if canImport(FoundationXML)
import FoundationXML
#endif

@Suite struct SVGChartTests {
    @Test func ticksAreNiceAndCoverTheValue() {
        #expect(ChartFormat.ticks(upTo: 1_000) == [0, 250, 500, 750, 1_000])
        #expect(ChartFormat.ticks(upTo: 3_574) == [0, 1_000, 2_000, 3_000, 4_000])
        #expect(ChartFormat.ticks(upTo: 30, target: 6) == [0, 5, 10, 15, 20, 25, 30])
        #expect(ChartFormat.ticks(upTo: 0) == [0, 0.25, 0.5, 0.75, 1])
        #expect(ChartFormat.ticks(upTo: .nan) == [0, 0.25, 0.5, 0.75, 1])
        for value in [0.3, 7, 99, 123_456, 9_999_999.0] {
            let ticks = ChartFormat.ticks(upTo: value)
            #expect(ticks.first == 0)
            #expect(ticks.last! >= value)
            #expect(ticks.count <= 6)
        }
    }

    @Test func byteAxesStepInWholeMebibytes() {
        let ticks = ChartUnit.bytes.ticks(upTo: 190 * 1_048_576)
        #expect(ticks == [0, 50, 100, 150, 200].map { $0 * 1_048_576 })
        #expect(ChartUnit.bytes.label(50 * 1_048_576) == "50 MiB")
        #expect(ChartUnit.count.label(2_500) == "2.5k")
        #expect(ChartUnit.count.label(3_000_000) == "3M")
        #expect(ChartUnit.count.label(12) == "12")
    }

    static func chart() -> SVGChart {
        let points = (0...10).map { ChartPoint(x: Double($0), y: Double($0 * $0)) }
        var chart = SVGChart(
            title: "A <title> & more",
            subtitle: "sub",
            main: ChartPanel(title: "main", unit: .bytes, series: [ChartSeries(name: "a", color: "#ff0000", points: points)], note: "note \"quoted\""),
            grid: [
                ChartPanel(title: "one", unit: .count, series: [ChartSeries(name: "b", color: "#00ff00", points: points, dashed: true)]),
                ChartPanel(title: "two", unit: .count, series: []),
            ],
            duration: 10
        )
        chart.legend = [ChartLegendItem(name: "a", color: "#ff0000")]
        chart.bands = [ChartBand(start: 2, end: 4, label: "spike")]
        return chart
    }

    @Test func theDocumentIsWellFormedXMLWithEveryPanel() throws {
        let svg = Self.chart().render()
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.contains("A &lt;title&gt; &amp; more"))
        #expect(svg.contains("note &quot;quoted&quot;"))
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 2)
        #expect(svg.contains("stroke-dasharray"))
        #expect(svg.contains(">spike</text>"))
        let parser = XMLParser(data: Data(svg.utf8))
        #expect(parser.parse(), "the SVG is not well-formed XML: \(String(describing: parser.parserError))")
    }

    @Test func pointsAreScaledIntoTheirPanel() throws {
        let svg = Self.chart().render()
        let polyline = try #require(svg.split(separator: "\n").first { $0.contains("<polyline") && $0.contains("#ff0000") })
        let list = try #require(polyline.split(separator: "\"").dropFirst().first)
        let coordinates = list.split(separator: " ").map { pair in pair.split(separator: ",").compactMap { Double($0) } }
        #expect(coordinates.count == 11)
        let xs = coordinates.map { $0[0] }
        let ys = coordinates.map { $0[1] }
        #expect(xs == xs.sorted())
        // y grows downwards in SVG: a rising series falls on the page.
        #expect(ys == ys.sorted(by: >))
        #expect(xs.first! >= 0 && xs.last! <= 1_200)
    }
}
