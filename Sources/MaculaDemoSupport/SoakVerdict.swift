import Foundation

/// The soak's acceptance check, from the two worlds' samples and summaries.
///
/// In the bounded world:
/// - every component stays within its base limit for the whole run (every sample, and the
///   component's own high-water mark);
/// - while memory pressure lowers a limit, every component is within the lowered limit once it
///   has been lowered for the drain allowance;
/// - resident memory grows less than ``growthLimit`` between the first and the last quarter
///   after the warm-up. A run shorter than ``minimumJudgedDuration`` has no steady state to
///   judge: its growth is reported, not judged.
///
/// The unbounded world's growth is reported beside it, never judged.
package struct SoakVerdict: Sendable {
    /// The largest resident growth the bounded world may show: 5 %.
    package static let growthLimit = 0.05
    /// Runs shorter than this, in seconds, do not judge growth.
    package static let minimumJudgedDuration = 15.0

    /// One line of the verdict.
    package struct Check: Sendable, Hashable {
        /// PASS, FAIL, or INFO for what is reported only.
        package enum Status: String, Sendable, Hashable {
            case pass = "PASS"
            case fail = "FAIL"
            case info = "INFO"
        }

        package var status: Status
        package var text: String

        /// `PASS text`.
        package var line: String { "\(status.rawValue)  \(text)" }
    }

    /// The checks, in the order they are printed.
    package var checks: [Check]
    /// The bounded world's resident growth, if both quarters had samples.
    package var boundedGrowth: Growth?
    /// The unbounded world's resident growth, if both quarters had samples.
    package var unboundedGrowth: Growth?
    /// The per-component findings for the bounded world.
    package var findings: [LimitFinding]

    /// Whether no check failed.
    package var passed: Bool { !checks.contains { $0.status == .fail } }

    /// Judges a soak.
    /// - Parameters:
    ///   - bounded: the bounded world's samples and summary.
    ///   - unbounded: the unbounded world's samples and summary.
    /// - Returns: the verdict.
    /// - Complexity: O(samples × components).
    package static func judge(bounded: (samples: [Sample], summary: RunSummary), unbounded: (samples: [Sample], summary: RunSummary)) -> SoakVerdict {
        let duration = bounded.summary.durationSeconds
        var checks: [Check] = []
        var marks: [DemoComponent: Int] = [:]
        for (name, mark) in bounded.summary.highWaterMarks {
            if let component = DemoComponent(rawValue: name) { marks[component] = mark }
        }
        let findings = SoakStatistics.limitFindings(
            samples: bounded.samples,
            highWaterMarks: marks,
            drainAllowance: bounded.summary.drainAllowanceSeconds
        )
        for finding in findings {
            let mark = finding.highWaterMark.map { ", high-water \($0)" } ?? ""
            let withinBase = finding.samplesOverBase == 0 && (finding.highWaterMark ?? 0) <= finding.baseLimit
            checks.append(Check(
                status: withinBase ? .pass : .fail,
                text: "\(finding.component.title) within its base limit \(finding.baseLimit) for the whole run "
                    + "(largest sample \(finding.largestSize)\(mark); \(finding.samplesOverBase) samples over)"
            ))
            if finding.loweredSamplesJudged > 0 {
                checks.append(Check(
                    status: finding.loweredSamplesOver == 0 ? .pass : .fail,
                    text: "\(finding.component.title) within the lowered limit once drained "
                        + "(\(finding.loweredSamplesJudged) samples judged, \(finding.loweredSamplesOver) over)"
                ))
            }
        }
        if findings.isEmpty {
            checks.append(Check(status: .fail, text: "no component of the bounded world reported a limit"))
        }
        let loweredJudged = findings.reduce(0) { $0 + $1.loweredSamplesJudged }
        if loweredJudged == 0 {
            checks.append(Check(
                status: .info,
                text: "no limit stayed lowered longer than the drain allowance (\(format(bounded.summary.drainAllowanceSeconds)) s): the lowered-limit rule was not exercised"
            ))
        }

        let resident: (Sample) -> Double = { Double($0.residentBytes) }
        let boundedGrowth = SoakStatistics.growth(of: bounded.samples, duration: duration, value: resident)
        let unboundedGrowth = SoakStatistics.growth(of: unbounded.samples, duration: unbounded.summary.durationSeconds, value: resident)
        if let growth = boundedGrowth {
            let text = "bounded resident memory grew \(percent(growth.fraction)) between the first and the last quarter after warm-up "
                + "(\(mib(growth.firstMean)) in \(span(growth.firstQuarter, end: duration)) → \(mib(growth.lastMean)) in \(span(growth.lastQuarter, end: duration))); limit +5.0 %"
            if duration >= minimumJudgedDuration {
                checks.append(Check(status: growth.fraction < growthLimit ? .pass : .fail, text: text))
            } else {
                checks.append(Check(status: .info, text: text + " — not judged: runs under \(format(minimumJudgedDuration)) s have no steady state"))
            }
        } else {
            checks.append(Check(status: .fail, text: "bounded resident memory: too few samples to measure growth"))
        }
        if let growth = unboundedGrowth {
            checks.append(Check(
                status: .info,
                text: "unbounded resident memory grew \(percent(growth.fraction)) over the same quarters (\(mib(growth.firstMean)) → \(mib(growth.lastMean)))"
            ))
        }
        return SoakVerdict(checks: checks, boundedGrowth: boundedGrowth, unboundedGrowth: unboundedGrowth, findings: findings)
    }

    static func percent(_ fraction: Double) -> String { String(format: "%+.1f %%", fraction * 100) }
    static func mib(_ bytes: Double) -> String { String(format: "%.1f MiB", bytes / 1_048_576) }
    static func format(_ value: Double) -> String { ChartFormat.number(value) }
    static func span(_ range: Range<Double>, end: Double) -> String {
        String(format: "%.1f–%.1f s", range.lowerBound, min(range.upperBound, end))
    }
}
