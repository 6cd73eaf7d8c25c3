import Foundation

/// One line on a chart panel.
package struct ChartSeries: Sendable, Hashable {
    /// The legend label.
    package var name: String
    /// An SVG color (`#1b9e3e`).
    package var color: String
    /// The points, in x order.
    package var points: [ChartPoint]
    /// Drawn dashed (used for limits).
    package var dashed: Bool

    /// Creates a series.
    package init(name: String, color: String, points: [ChartPoint], dashed: Bool = false) {
        self.name = name
        self.color = color
        self.points = points
        self.dashed = dashed
    }
}

/// A point of a ``ChartSeries``.
package struct ChartPoint: Sendable, Hashable {
    /// Seconds since the start.
    package var x: Double
    /// The value.
    package var y: Double
    /// Creates a point.
    package init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}

/// How a panel's values are written on its axis.
package enum ChartUnit: Sendable, Hashable {
    /// Bytes, written in MiB.
    case bytes
    /// A count, written with a `k` or `M` suffix.
    case count

    /// Nice ticks from 0 to at least `value`: whole MiB steps for bytes.
    package func ticks(upTo value: Double) -> [Double] {
        switch self {
        case .bytes: return ChartFormat.ticks(upTo: value / 1_048_576).map { $0 * 1_048_576 }
        case .count: return ChartFormat.ticks(upTo: value)
        }
    }

    /// `value` as an axis label.
    package func label(_ value: Double) -> String {
        switch self {
        case .bytes: return ChartFormat.number(value / 1_048_576) + " MiB"
        case .count: return ChartFormat.count(value)
        }
    }
}

/// One entry of the legend.
package struct ChartLegendItem: Sendable, Hashable {
    /// The label.
    package var name: String
    /// The line's color.
    package var color: String
    /// Whether the line is dashed.
    package var dashed: Bool
    /// Creates an entry.
    package init(name: String, color: String, dashed: Bool = false) {
        self.name = name
        self.color = color
        self.dashed = dashed
    }
}

/// A shaded span of time on every panel (the memory spike).
package struct ChartBand: Sendable, Hashable {
    /// Start, in seconds.
    package var start: Double
    /// End, in seconds.
    package var end: Double
    /// The label written at the top of the main panel.
    package var label: String
    /// Creates a band.
    package init(start: Double, end: Double, label: String) {
        self.start = start
        self.end = end
        self.label = label
    }
}

/// One panel: a title, a y axis from zero, and its series.
package struct ChartPanel: Sendable, Hashable {
    /// Written above the panel.
    package var title: String
    /// How y values are written.
    package var unit: ChartUnit
    /// The lines.
    package var series: [ChartSeries]
    /// A note written under the title (a measured growth, say).
    package var note: String?

    /// Creates a panel.
    package init(title: String, unit: ChartUnit, series: [ChartSeries], note: String? = nil) {
        self.title = title
        self.unit = unit
        self.series = series
        self.note = note
    }
}

/// A small, dependency-free SVG line chart: a wide main panel on top and a grid of small panels
/// below, sharing the time axis, a legend and shaded bands.
package struct SVGChart: Sendable {
    /// The headline.
    package var title: String
    /// A line under the headline.
    package var subtitle: String
    /// The wide panel on top.
    package var main: ChartPanel
    /// The small panels, laid out `columns` per row.
    package var grid: [ChartPanel]
    /// Small panels per row.
    package var columns: Int = 3
    /// The end of the time axis, in seconds.
    package var duration: Double
    /// Shaded spans of time.
    package var bands: [ChartBand] = []
    /// The legend, left to right.
    package var legend: [ChartLegendItem] = []
    /// The total width, in pixels.
    package var width: Double = 1200

    /// Creates a chart.
    package init(title: String, subtitle: String, main: ChartPanel, grid: [ChartPanel], duration: Double) {
        self.title = title
        self.subtitle = subtitle
        self.main = main
        self.grid = grid
        self.duration = duration
    }

    private struct Frame {
        var x: Double
        var y: Double
        var width: Double
        var height: Double
    }

    /// The SVG document.
    /// - Complexity: O(points).
    package func render() -> String {
        let margin = 24.0
        let headerHeight = 92.0
        let mainHeight = 300.0
        let gridHeight = 200.0
        let gap = 58.0
        let rows = (grid.count + columns - 1) / max(1, columns)
        let height = headerHeight + mainHeight + gap + Double(rows) * (gridHeight + gap) + 8
        var svg = SVGWriter()
        svg.open(width: width, height: height)
        svg.rect(x: 0, y: 0, width: width, height: height, fill: "#ffffff")
        svg.text(title, x: margin, y: 30, size: 20, weight: "bold")
        svg.text(subtitle, x: margin, y: 52, size: 13, color: "#444444")
        var legendX = margin
        for item in legend {
            svg.line(x1: legendX, y1: 72, x2: legendX + 26, y2: 72, color: item.color, width: 3, dashed: item.dashed)
            svg.text(item.name, x: legendX + 32, y: 76, size: 12)
            legendX += 44 + Double(item.name.count) * 6.6
        }
        let plotLeft = margin + 64
        draw(main, in: Frame(x: plotLeft, y: headerHeight + 22, width: width - plotLeft - margin, height: mainHeight - 40), into: &svg, bandLabels: true)
        let cellWidth = (width - 2 * margin) / Double(max(1, columns))
        for (index, panel) in grid.enumerated() {
            let row = Double(index / columns)
            let column = Double(index % columns)
            let top = headerHeight + mainHeight + gap + row * (gridHeight + gap)
            let left = margin + column * cellWidth + 58
            draw(panel, in: Frame(x: left, y: top, width: cellWidth - 58 - 16, height: gridHeight - 30), into: &svg, bandLabels: false)
        }
        svg.close()
        return svg.text
    }

    private func draw(_ panel: ChartPanel, in frame: Frame, into svg: inout SVGWriter, bandLabels: Bool) {
        svg.text(panel.title, x: frame.x, y: frame.y - 22, size: 14, weight: "bold")
        if let note = panel.note {
            svg.text(note, x: frame.x, y: frame.y - 7, size: 11, color: "#444444")
        }
        let largest = panel.series.flatMap(\.points).map(\.y).filter(\.isFinite).max() ?? 0
        let yTicks = panel.unit.ticks(upTo: largest)
        let yMax = yTicks.last ?? 1
        let xTicks = ChartFormat.ticks(upTo: duration, target: 6)
        let xMax = max(duration, xTicks.last ?? 1)
        func px(_ x: Double) -> Double { frame.x + frame.width * min(max(x / xMax, 0), 1) }
        func py(_ y: Double) -> Double { frame.y + frame.height * (1 - min(max(y / yMax, 0), 1)) }

        for band in bands {
            let start = px(band.start)
            svg.rect(x: start, y: frame.y, width: max(1, px(band.end) - start), height: frame.height, fill: "#fff1cc")
            if bandLabels {
                svg.text(band.label, x: start + 4, y: frame.y + 14, size: 11, color: "#8a6d00")
            }
        }
        for tick in yTicks {
            svg.line(x1: frame.x, y1: py(tick), x2: frame.x + frame.width, y2: py(tick), color: "#e4e4e4", width: 1)
            svg.text(panel.unit.label(tick), x: frame.x - 6, y: py(tick) + 4, size: 11, color: "#555555", anchor: "end")
        }
        for tick in xTicks where tick <= xMax {
            svg.line(x1: px(tick), y1: frame.y + frame.height, x2: px(tick), y2: frame.y + frame.height + 4, color: "#888888", width: 1)
            svg.text(ChartFormat.number(tick) + " s", x: px(tick), y: frame.y + frame.height + 17, size: 11, color: "#555555", anchor: "middle")
        }
        svg.line(x1: frame.x, y1: frame.y + frame.height, x2: frame.x + frame.width, y2: frame.y + frame.height, color: "#888888", width: 1)
        svg.line(x1: frame.x, y1: frame.y, x2: frame.x, y2: frame.y + frame.height, color: "#888888", width: 1)
        for series in panel.series where !series.points.isEmpty {
            let points = series.points.filter { $0.y.isFinite }.map { (px($0.x), py($0.y)) }
            svg.polyline(points, color: series.color, width: series.dashed ? 1.5 : 2.2, dashed: series.dashed)
        }
    }
}

/// Number formatting and axis ticks for ``SVGChart``.
package enum ChartFormat {
    /// Evenly spaced "nice" ticks (1, 2, 2.5 or 5 × 10ⁿ apart) from 0 to at least `value`.
    /// - Parameters:
    ///   - value: the largest value to cover; 0 or less gives ticks up to 1.
    ///   - target: about how many intervals.
    /// - Returns: the ticks, starting at 0, the last one ≥ `value`.
    package static func ticks(upTo value: Double, target: Int = 4) -> [Double] {
        let top = value.isFinite && value > 0 ? value : 1
        let rough = top / Double(max(1, target))
        let magnitude = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        var ticks: [Double] = [0]
        while ticks.last! < top * (1 - 1e-9) {
            ticks.append(Double(ticks.count) * step)
        }
        return ticks
    }

    /// `value` with at most one decimal, without a trailing `.0`.
    package static func number(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        if rounded == rounded.rounded() { return String(Int(rounded)) }
        return String(format: "%.1f", rounded)
    }

    /// A count with a `k` or `M` suffix above a thousand.
    package static func count(_ value: Double) -> String {
        if abs(value) >= 1_000_000 { return number(value / 1_000_000) + "M" }
        if abs(value) >= 1_000 { return number(value / 1_000) + "k" }
        return number(value)
    }
}

/// Accumulates SVG elements.
struct SVGWriter {
    private(set) var text = ""

    mutating func open(width: Double, height: Double) {
        text += """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(n(width))" height="\(n(height))" \
            viewBox="0 0 \(n(width)) \(n(height))" font-family="Helvetica, Arial, sans-serif">

            """
    }

    mutating func close() { text += "</svg>\n" }

    mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String) {
        text += "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(width))\" height=\"\(n(height))\" fill=\"\(fill)\"/>\n"
    }

    mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, color: String, width: Double, dashed: Bool = false) {
        text += "<line x1=\"\(n(x1))\" y1=\"\(n(y1))\" x2=\"\(n(x2))\" y2=\"\(n(y2))\" stroke=\"\(color)\" stroke-width=\"\(n(width))\"\(dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
    }

    mutating func polyline(_ points: [(Double, Double)], color: String, width: Double, dashed: Bool) {
        let list = points.map { "\(n($0.0)),\(n($0.1))" }.joined(separator: " ")
        text += "<polyline points=\"\(list)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(n(width))\" stroke-linejoin=\"round\"\(dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
    }

    mutating func text(_ content: String, x: Double, y: Double, size: Double, color: String = "#111111", weight: String = "normal", anchor: String = "start") {
        text += "<text x=\"\(n(x))\" y=\"\(n(y))\" font-size=\"\(n(size))\" fill=\"\(color)\" font-weight=\"\(weight)\" text-anchor=\"\(anchor)\">\(escape(content))</text>\n"
    }

    /// `value` with at most two decimals.
    private func n(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        if rounded == rounded.rounded() { return String(Int(rounded)) }
        return String(format: "%.2f", rounded)
    }

    /// `content` with XML's special characters escaped.
    func escape(_ content: String) -> String {
        var escaped = ""
        for character in content {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
