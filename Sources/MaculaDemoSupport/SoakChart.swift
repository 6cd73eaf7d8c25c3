/// Builds the soak's chart — the seed's before/after diagram with measured numbers: resident
/// memory of both worlds over time on top, and below it the size of each bounded map in both
/// worlds with the bounded world's (effective) limit.
package enum SoakChart {
    /// The bounded world's color (green).
    package static let boundedColor = "#1a9641"
    /// The unbounded world's color (red).
    package static let unboundedColor = "#d7191c"
    /// The limit line's color (gray).
    package static let limitColor = "#555555"

    /// The components drawn in the grid, in order.
    package static let gridComponents: [DemoComponent] = [
        .connections, .clients, .streams, .localServices, .cachedServices, .pendingCalls,
    ]

    /// The chart of a soak.
    /// - Parameters:
    ///   - bounded: the bounded world's samples.
    ///   - unbounded: the unbounded world's samples.
    ///   - duration: each world's duration, in seconds.
    ///   - spike: the memory spike's window and size in MiB, if there was one.
    ///   - verdict: the soak's verdict, for the growth figures in the notes.
    ///   - subtitle: the line under the title (workload, scale, limits).
    /// - Returns: the chart; ``SVGChart/render()`` gives the SVG.
    package static func make(
        bounded: [Sample],
        unbounded: [Sample],
        duration: Double,
        spike: (window: Range<Double>, mebibytes: Int)?,
        verdict: SoakVerdict,
        subtitle: String
    ) -> SVGChart {
        func series(_ samples: [Sample], _ name: String, _ color: String, _ value: (Sample) -> Double?) -> ChartSeries {
            ChartSeries(name: name, color: color, points: samples.compactMap { sample in value(sample).map { ChartPoint(x: sample.time, y: $0) } })
        }
        let growth = [
            verdict.boundedGrowth.map { "bounded \(SoakVerdict.percent($0.fraction))" },
            verdict.unboundedGrowth.map { "unbounded \(SoakVerdict.percent($0.fraction))" },
        ].compactMap { $0 }.joined(separator: ", ")
        let main = ChartPanel(
            title: "Resident memory",
            unit: .bytes,
            series: [
                series(unbounded, "unbounded", unboundedColor) { Double($0.residentBytes) },
                series(bounded, "bounded", boundedColor) { Double($0.residentBytes) },
            ],
            note: growth.isEmpty ? nil : "growth from the first to the last quarter after warm-up: \(growth)"
        )
        var grid: [ChartPanel] = []
        for component in gridComponents {
            var lines = [
                series(unbounded, "unbounded", unboundedColor) { $0.components[component].map { Double($0.size) } },
                series(bounded, "bounded", boundedColor) { $0.components[component].map { Double($0.size) } },
            ]
            let limit = series(bounded, "limit", limitColor) { $0.components[component]?.effectiveLimit.map(Double.init) }
            if !limit.points.isEmpty {
                lines.append(ChartSeries(name: limit.name, color: limit.color, points: limit.points, dashed: true))
            }
            let end = { (samples: [Sample]) in samples.last?.components[component].map { ChartFormat.count(Double($0.size)) } ?? "-" }
            grid.append(ChartPanel(
                title: component.title,
                unit: .count,
                series: lines,
                note: "at the end: bounded \(end(bounded)), unbounded \(end(unbounded))"
            ))
        }
        var chart = SVGChart(
            title: "Macula memory before and after: bounded vs unbounded, measured",
            subtitle: subtitle,
            main: main,
            grid: grid,
            duration: duration
        )
        chart.legend = [
            ChartLegendItem(name: "bounded: the Macula actors", color: boundedColor),
            ChartLegendItem(name: "unbounded: naive stand-ins (the original's behavior)", color: unboundedColor),
            ChartLegendItem(name: "bounded limit (lowered under pressure)", color: limitColor, dashed: true),
        ]
        if let spike {
            chart.bands = [ChartBand(start: spike.window.lowerBound, end: spike.window.upperBound, label: "\(spike.mebibytes) MiB memory spike")]
        }
        return chart
    }
}
