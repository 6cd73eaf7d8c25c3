@testable import MaculaMemory
import Testing

@Suite("MemoryPressureCore", .timeLimit(.minutes(3)))
struct MemoryPressureCoreTests {
    private func core(hysteresis: Double = 0.05) -> MemoryPressureCore {
        var configuration = MemoryPressureMonitorConfiguration()
        configuration.thresholds = .bytes(medium: 800, high: 900)
        configuration.hysteresis = hysteresis
        return MemoryPressureCore(configuration: configuration)
    }

    private func reading(_ used: Int) -> MemoryReading { MemoryReading(usedBytes: used, limitBytes: 1_000) }

    @Test("a level is entered when the reading reaches its threshold")
    func entersAtThreshold() {
        var core = core()
        #expect(core.readingTaken(reading(799)) == .none)
        #expect(core.readingTaken(reading(800)) == .applyLevel(from: .normal, to: .medium, scale: 0.9))
        #expect(core.readingTaken(reading(900)) == .applyLevel(from: .medium, to: .high, scale: 0.8))
        #expect(core.level == .high)
    }

    @Test("a jump from normal goes straight to high")
    func jumpsTwoLevels() {
        var core = core()
        #expect(core.readingTaken(reading(5_000)) == .applyLevel(from: .normal, to: .high, scale: 0.8))
    }

    @Test("a level is left only below its threshold less the hysteresis margin")
    func hysteresis() {
        var core = core()
        _ = core.readingTaken(reading(900))
        // high threshold 900, margin 5 %: stays high down to 855 inclusive.
        #expect(core.readingTaken(reading(899)) == .none)
        #expect(core.readingTaken(reading(855)) == .none)
        #expect(core.readingTaken(reading(854)) == .applyLevel(from: .high, to: .medium, scale: 0.9))
        // medium threshold 800: stays medium down to 760.
        #expect(core.readingTaken(reading(760)) == .none)
        #expect(core.readingTaken(reading(759)) == .applyLevel(from: .medium, to: .normal, scale: 1))
    }

    @Test("a reading that wobbles around a threshold does not flap")
    func noFlapping() {
        var core = core()
        var changes = 0
        for used in [801, 799, 802, 790, 805, 770, 800, 761] {
            if core.readingTaken(reading(used)) != .none { changes += 1 }
        }
        #expect(changes == 1)
        #expect(core.level == .medium)
    }

    @Test("without hysteresis the level follows the threshold exactly")
    func zeroHysteresis() {
        var core = core(hysteresis: 0)
        _ = core.readingTaken(reading(800))
        #expect(core.readingTaken(reading(799)) == .applyLevel(from: .medium, to: .normal, scale: 1))
    }

    @Test("a drop from high far below every threshold restores normal in one step")
    func restoresNormal() {
        var core = core()
        _ = core.readingTaken(reading(950))
        #expect(core.readingTaken(reading(10)) == .applyLevel(from: .high, to: .normal, scale: 1))
    }

    @Test("fraction thresholds use the reading's limit, and cannot judge without one")
    func fractions() {
        var configuration = MemoryPressureMonitorConfiguration()
        configuration.thresholds = .fractionOfLimit(medium: 0.5, high: 0.75)
        var core = MemoryPressureCore(configuration: configuration)
        #expect(core.readingTaken(MemoryReading(usedBytes: 600, limitBytes: nil)) == .unjudged)
        #expect(core.readingTaken(MemoryReading(usedBytes: 600, limitBytes: 1_000)) == .applyLevel(from: .normal, to: .medium, scale: 0.9))
        #expect(core.readingTaken(MemoryReading(usedBytes: 600, limitBytes: 800)) == .applyLevel(from: .medium, to: .high, scale: 0.8))
    }

    @Test("bad configuration names the field and the rule")
    func validation() {
        func error(_ change: (inout MemoryPressureMonitorConfiguration) -> Void) -> ConfigurationError? {
            var configuration = MemoryPressureMonitorConfiguration()
            change(&configuration)
            do { try configuration.validate() } catch { return error }
            return nil
        }
        #expect(error { _ in } == nil)
        #expect(error { $0.thresholds = .bytes(medium: 900, high: 800) }?.field == "thresholds.high")
        #expect(error { $0.thresholds = .bytes(medium: 0, high: 800) }?.field == "thresholds.medium")
        #expect(error { $0.thresholds = .fractionOfLimit(medium: 0.9, high: 0.8) }?.field == "thresholds.high")
        #expect(error { $0.thresholds = .fractionOfLimit(medium: 0.5, high: 1.5) }?.field == "thresholds.high")
        #expect(error { $0.thresholds = .fractionOfLimit(medium: 0, high: 0.5) }?.field == "thresholds.medium")
        #expect(error { $0.mediumScale = 0 }?.field == "mediumScale")
        #expect(error { $0.mediumScale = 1.1 }?.field == "mediumScale")
        #expect(error { $0.highScale = 0.95 }?.field == "highScale")
        #expect(error { $0.highScale = -0.1 }?.field == "highScale")
        #expect(error { $0.hysteresis = 1 }?.field == "hysteresis")
        #expect(error { $0.checkInterval = .zero }?.field == "checkInterval")
        #expect(error { $0.checkInterval = .seconds(-1) }?.rule == "must be greater than zero")
    }
}
