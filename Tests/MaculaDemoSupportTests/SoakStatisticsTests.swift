import MaculaDemoSupport
import Testing

/// Samples every 0.25 s over `duration` seconds, with `value` giving the resident bytes and
/// `reading` the connections' reading at each time.
func samples(
    duration: Double,
    value: (Double) -> Int = { _ in 100 },
    reading: (Double) -> ComponentReading? = { _ in nil }
) -> [Sample] {
    stride(from: 0.0, through: duration, by: 0.25).map { time in
        var components: [DemoComponent: ComponentReading] = [:]
        components[.connections] = reading(time)
        return Sample(time: time, residentBytes: value(time), heapBytes: 0, pressure: "normal", components: components)
    }
}

@Suite struct SoakStatisticsTests {
    @Test func growthComparesTheFirstAndLastQuartersAfterTheWarmUp() throws {
        // 40 s: warm-up 10 s, quarters of 7.5 s: [10, 17.5) and [32.5, 40].
        let run = samples(duration: 40) { time in time < 10 ? 1 : (time < 17.5 ? 100 : (time < 32.5 ? 500 : 110)) }
        let growth = try #require(SoakStatistics.growth(of: run, duration: 40) { Double($0.residentBytes) })
        #expect(growth.warmUpEnd == 10)
        #expect(growth.firstQuarter.lowerBound == 10)
        #expect(growth.firstQuarter.upperBound == 17.5)
        #expect(growth.lastQuarter.lowerBound == 32.5)
        #expect(growth.firstMean == 100)
        #expect(growth.lastMean == 110)
        #expect(abs(growth.fraction - 0.10) < 1e-12)
    }

    @Test func aSteadyClimbShowsItsGrowth() throws {
        let run = samples(duration: 20) { time in Int(100 + 10 * time) }
        let growth = try #require(SoakStatistics.growth(of: run, duration: 20) { Double($0.residentBytes) })
        #expect(growth.fraction > 0.5)
    }

    @Test func growthNeedsSamplesInBothQuarters() {
        #expect(SoakStatistics.growth(of: [], duration: 10) { Double($0.residentBytes) } == nil)
        let early = samples(duration: 5)
        #expect(SoakStatistics.growth(of: early, duration: 40) { Double($0.residentBytes) } == nil)
        #expect(SoakStatistics.growth(of: early, duration: 0) { Double($0.residentBytes) } == nil)
    }

    @Test func aComponentWithinItsLimitPasses() throws {
        let run = samples(duration: 10) { _ in 1 } reading: { time in ComponentReading(size: min(100, Int(time * 20)), effectiveLimit: 100, baseLimit: 100) }
        let finding = try #require(SoakStatistics.limitFindings(samples: run, highWaterMarks: [.connections: 100], drainAllowance: 2).first)
        #expect(finding.component == .connections)
        #expect(finding.largestSize == 100)
        #expect(finding.samplesOverBase == 0)
        #expect(finding.loweredSamplesJudged == 0)
        #expect(finding.passed)
    }

    @Test func oneSampleOverTheBaseFails() throws {
        let run = samples(duration: 10) { _ in 1 } reading: { time in ComponentReading(size: time == 5 ? 101 : 50, effectiveLimit: 100, baseLimit: 100) }
        let finding = try #require(SoakStatistics.limitFindings(samples: run, drainAllowance: 2).first)
        #expect(finding.samplesOverBase == 1)
        #expect(!finding.passed)
    }

    @Test func aHighWaterMarkOverTheBaseFailsEvenBetweenSamples() throws {
        let run = samples(duration: 2) { _ in 1 } reading: { _ in ComponentReading(size: 50, effectiveLimit: 100, baseLimit: 100) }
        let finding = try #require(SoakStatistics.limitFindings(samples: run, highWaterMarks: [.connections: 101], drainAllowance: 2).first)
        #expect(finding.samplesOverBase == 0)
        #expect(!finding.passed)
    }

    @Test func theLoweredLimitHoldsOnlyAfterTheDrainAllowance() throws {
        // Lowered to 80 from 4 s to 10 s; the size drains from 100 to 80 by 6 s.
        func reading(_ time: Double) -> ComponentReading {
            let lowered = time >= 4 && time < 10
            let size = lowered ? max(80, 100 - Int((time - 4) * 10)) : 100
            return ComponentReading(size: size, effectiveLimit: lowered ? 80 : 100, baseLimit: 100)
        }
        let run = samples(duration: 12) { _ in 1 } reading: { reading($0) }
        let finding = try #require(SoakStatistics.limitFindings(samples: run, drainAllowance: 2).first)
        // Judged from 6 s to 9.75 s: 16 samples, all at 80.
        #expect(finding.loweredSamplesJudged == 16)
        #expect(finding.loweredSamplesOver == 0)
        #expect(finding.passed)
        let impatient = try #require(SoakStatistics.limitFindings(samples: run, drainAllowance: 0.5).first)
        #expect(impatient.loweredSamplesOver > 0)
        #expect(!impatient.passed)
    }

    @Test func aNewLoweredLimitRestartsTheAllowance() throws {
        // 90 from 2 s, 80 from 4 s: each level gets its own allowance.
        func reading(_ time: Double) -> ComponentReading {
            let limit = time < 2 ? 100 : (time < 4 ? 90 : 80)
            return ComponentReading(size: time < 5 ? 90 : 80, effectiveLimit: limit, baseLimit: 100)
        }
        let run = samples(duration: 8) { _ in 1 } reading: { reading($0) }
        let finding = try #require(SoakStatistics.limitFindings(samples: run, drainAllowance: 1.5).first)
        #expect(finding.loweredSamplesOver == 0)
        #expect(finding.loweredSamplesJudged == 2 + 11)
    }

    @Test func componentsWithoutALimitAreNotJudged() {
        let run = samples(duration: 2) { _ in 1 } reading: { _ in ComponentReading(size: 5_000) }
        #expect(SoakStatistics.limitFindings(samples: run, drainAllowance: 1).isEmpty)
    }
}
