import MaculaDemoSupport
import Testing

@Suite struct SoakChartTests {
    @Test func theChartShowsBothWorldsEveryComponentTheLimitAndTheSpike() {
        let bounded = samples(duration: 20, value: { _ in 50 << 20 }) { time in
            ComponentReading(size: 100, effectiveLimit: time >= 8 && time < 12 ? 80 : 100, baseLimit: 100)
        }
        let unbounded = samples(duration: 20, value: { Int((50 + 5 * $0) * 1_048_576) }) { time in ComponentReading(size: Int(100 * time)) }
        let verdict = SoakVerdict.judge(
            bounded: (bounded, SoakVerdictTests.summary("bounded", duration: 20)),
            unbounded: (unbounded, SoakVerdictTests.summary("unbounded", duration: 20))
        )
        let chart = SoakChart.make(bounded: bounded, unbounded: unbounded, duration: 20, spike: (8..<12, 96), verdict: verdict, subtitle: "test")
        #expect(chart.main.series.map(\.name) == ["unbounded", "bounded"])
        #expect(chart.main.note?.contains("bounded +0.0 %") == true)
        #expect(chart.grid.map(\.title) == SoakChart.gridComponents.map(\.title))
        let connections = chart.grid[0]
        #expect(connections.series.map(\.name) == ["unbounded", "bounded", "limit"])
        #expect(connections.series[2].dashed)
        #expect(connections.series[2].points.map(\.y).min() == 80)
        #expect(connections.note == "at the end: bounded 100, unbounded 2k")
        // Components measured in neither world draw no lines.
        #expect(chart.grid[1].series.allSatisfy { $0.points.isEmpty })
        #expect(chart.bands == [ChartBand(start: 8, end: 12, label: "96 MiB memory spike")])
        #expect(chart.render().contains("96 MiB memory spike"))
    }
}
