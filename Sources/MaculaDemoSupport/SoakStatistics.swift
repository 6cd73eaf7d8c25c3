/// How much a quantity grew between the first and the last quarter of a run after its warm-up.
package struct Growth: Sendable, Hashable {
    /// The end of the warm-up, in seconds since the start.
    package var warmUpEnd: Double
    /// The first quarter after the warm-up, in seconds since the start (half-open).
    package var firstQuarter: Range<Double>
    /// The last quarter, in seconds since the start (half-open, its end is the run's duration
    /// plus a little slack for the final sample).
    package var lastQuarter: Range<Double>
    /// The mean of the samples in the first quarter.
    package var firstMean: Double
    /// The mean of the samples in the last quarter.
    package var lastMean: Double

    /// `(lastMean - firstMean) / firstMean`: 0.05 is 5 % growth; negative when it shrank.
    package var fraction: Double { firstMean == 0 ? 0 : (lastMean - firstMean) / firstMean }
}

/// What the acceptance check found for one component of the bounded world.
package struct LimitFinding: Sendable, Hashable {
    /// The component.
    package var component: DemoComponent
    /// Its base limit (the largest one seen, if it changed).
    package var baseLimit: Int
    /// The largest size sampled.
    package var largestSize: Int
    /// The component's own high-water mark, when it reported one (every step, not only samples).
    package var highWaterMark: Int?
    /// Samples taken while the effective limit was below the base and had been for at least the
    /// drain allowance: the samples the lowered-limit rule applies to.
    package var loweredSamplesJudged: Int
    /// Of those, how many were above the lowered limit.
    package var loweredSamplesOver: Int
    /// Samples above the base limit.
    package var samplesOverBase: Int

    /// Within the base limit always (samples and high-water mark), and within the lowered limit
    /// whenever the rule applied.
    package var passed: Bool {
        samplesOverBase == 0 && (highWaterMark ?? 0) <= baseLimit && loweredSamplesOver == 0
    }
}

/// The arithmetic of the soak's verdict.
package enum SoakStatistics {
    /// The default warm-up: the first quarter of the run, while the pool fills and clients,
    /// caches and calls reach their steady state.
    package static let defaultWarmUpFraction = 0.25

    /// Growth of `value` between the first and the last quarter of `[warm-up end, duration]`.
    /// - Parameters:
    ///   - samples: the run's samples, in time order.
    ///   - duration: the run's nominal duration, in seconds.
    ///   - warmUpFraction: the share of `duration` left out at the start, in [0, 1).
    ///   - value: the quantity to measure (resident bytes, a component's size, …).
    /// - Returns: nil when either quarter holds no sample.
    /// - Complexity: O(samples).
    package static func growth(
        of samples: [Sample],
        duration: Double,
        warmUpFraction: Double = defaultWarmUpFraction,
        value: (Sample) -> Double
    ) -> Growth? {
        guard duration > 0, warmUpFraction >= 0, warmUpFraction < 1 else { return nil }
        let warmUpEnd = duration * warmUpFraction
        let quarter = (duration - warmUpEnd) / 4
        let first = warmUpEnd..<(warmUpEnd + quarter)
        // The last sample is taken as the workload stops, a little after `duration`.
        let last = (duration - quarter)..<(duration + quarter / 2)
        func mean(_ range: Range<Double>) -> Double? {
            var total = 0.0
            var count = 0
            for sample in samples where range.contains(sample.time) {
                total += value(sample)
                count += 1
            }
            return count == 0 ? nil : total / Double(count)
        }
        guard let firstMean = mean(first), let lastMean = mean(last) else { return nil }
        return Growth(warmUpEnd: warmUpEnd, firstQuarter: first, lastQuarter: last, firstMean: firstMean, lastMean: lastMean)
    }

    /// Checks every component that has a base limit: within it in every sample and by its
    /// high-water mark; and, while the effective limit is lowered (memory pressure), within the
    /// lowered limit once it has been lowered for at least `drainAllowance` seconds: entries
    /// owned by live callers (clients, pending calls, local advertisements) are not dropped, they
    /// drain as their owners finish, and new ones are refused meanwhile.
    /// - Parameters:
    ///   - samples: the run's samples, in time order.
    ///   - highWaterMarks: each component's reported high-water mark, when known.
    ///   - drainAllowance: how long owners get to finish after a limit is lowered, in seconds.
    /// - Returns: one finding per component with a base limit, in ``DemoComponent`` order.
    /// - Complexity: O(samples × components).
    package static func limitFindings(
        samples: [Sample],
        highWaterMarks: [DemoComponent: Int] = [:],
        drainAllowance: Double
    ) -> [LimitFinding] {
        var findings: [LimitFinding] = []
        for component in DemoComponent.allCases {
            var finding: LimitFinding?
            /// When the effective limit took its current lowered value, if it is lowered.
            var loweredSince: (limit: Int, time: Double)?
            for sample in samples {
                guard let reading = sample.components[component], let base = reading.baseLimit else { continue }
                var current = finding ?? LimitFinding(
                    component: component, baseLimit: base, largestSize: 0, highWaterMark: highWaterMarks[component],
                    loweredSamplesJudged: 0, loweredSamplesOver: 0, samplesOverBase: 0
                )
                current.baseLimit = max(current.baseLimit, base)
                current.largestSize = max(current.largestSize, reading.size)
                if reading.size > base { current.samplesOverBase += 1 }
                if let effective = reading.effectiveLimit, effective < base {
                    if loweredSince?.limit != effective { loweredSince = (effective, sample.time) }
                    if let since = loweredSince, sample.time - since.time >= drainAllowance {
                        current.loweredSamplesJudged += 1
                        if reading.size > effective { current.loweredSamplesOver += 1 }
                    }
                } else {
                    loweredSince = nil
                }
                finding = current
            }
            if let finding { findings.append(finding) }
        }
        return findings
    }
}
