import MaculaDemoSupport
import Testing

@Suite struct SoakVerdictTests {
    static func summary(_ world: String, duration: Double, highWaterMark: Int = 100) -> RunSummary {
        RunSummary(
            world: world, durationSeconds: duration, scale: 1, seed: 1,
            residentStartBytes: 1, residentPeakBytes: 2, residentEndBytes: 2,
            highWaterMarks: ["connections": highWaterMark], finalSizes: ["connections": 100],
            pressureLevelsSeen: ["normal"], spikeStartSeconds: nil, spikeEndSeconds: nil, spikeBytes: 0,
            drainAllowanceSeconds: 2
        )
    }

    static let withinLimit: @Sendable (Double) -> ComponentReading? = { _ in ComponentReading(size: 100, effectiveLimit: 100, baseLimit: 100) }

    @Test func aFlatBoundedWorldPassesBesideAClimbingOne() {
        let bounded = samples(duration: 20, value: { _ in 1_000 }, reading: Self.withinLimit)
        let unbounded = samples(duration: 20, value: { Int(1_000 + 100 * $0) })
        let verdict = SoakVerdict.judge(
            bounded: (bounded, Self.summary("bounded", duration: 20)),
            unbounded: (unbounded, Self.summary("unbounded", duration: 20))
        )
        #expect(verdict.passed)
        #expect(verdict.boundedGrowth?.fraction == 0)
        #expect((verdict.unboundedGrowth?.fraction ?? 0) > 0.5)
        #expect(verdict.checks.contains { $0.status == .pass && $0.text.contains("connections within its base limit 100") })
        #expect(verdict.checks.contains { $0.status == .info && $0.text.hasPrefix("unbounded resident memory grew") })
    }

    @Test func fivePercentGrowthFails() {
        let bounded = samples(duration: 20, value: { $0 < 10 ? 1_000 : 1_060 }, reading: Self.withinLimit)
        let verdict = SoakVerdict.judge(
            bounded: (bounded, Self.summary("bounded", duration: 20)),
            unbounded: (bounded, Self.summary("unbounded", duration: 20))
        )
        #expect(!verdict.passed)
        #expect(verdict.checks.contains { $0.status == .fail && $0.text.contains("bounded resident memory grew +6.0 %") })
    }

    @Test func aShortRunReportsGrowthWithoutJudgingIt() {
        let bounded = samples(duration: 4, value: { Int(1_000 + 500 * $0) }, reading: Self.withinLimit)
        let verdict = SoakVerdict.judge(
            bounded: (bounded, Self.summary("bounded", duration: 4)),
            unbounded: (bounded, Self.summary("unbounded", duration: 4))
        )
        #expect(verdict.passed)
        #expect(verdict.checks.contains { $0.status == .info && $0.text.contains("not judged") })
    }

    @Test func aHighWaterMarkOverTheLimitFails() {
        let bounded = samples(duration: 20, value: { _ in 1_000 }, reading: Self.withinLimit)
        let verdict = SoakVerdict.judge(
            bounded: (bounded, Self.summary("bounded", duration: 20, highWaterMark: 101)),
            unbounded: (bounded, Self.summary("unbounded", duration: 20))
        )
        #expect(!verdict.passed)
        #expect(verdict.checks.first?.line.hasPrefix("FAIL") == true)
    }

    @Test func aBoundedWorldWithoutLimitsFails() {
        let bounded = samples(duration: 20, value: { _ in 1_000 })
        let verdict = SoakVerdict.judge(
            bounded: (bounded, Self.summary("bounded", duration: 20)),
            unbounded: (bounded, Self.summary("unbounded", duration: 20))
        )
        #expect(!verdict.passed)
    }
}
