import Dispatch
import Foundation
import MaculaMemory

/// One comparison in the suite: a measured ratio against its target.
struct BenchmarkResult: Codable, Sendable {
    /// The mechanism (`pool`, `clients`, `registry`, `rpc`).
    var group: String
    /// What was compared, in words.
    var name: String
    /// The measured ratio (what the target speaks of).
    var ratio: Double
    /// The target, in words (`<= 2`, `>= 1000`).
    var target: String
    /// Whether the measured ratio meets the target.
    var met: Bool
    /// The raw numbers behind the ratio, for the report.
    var detail: String
    /// The smallest and largest ratio over the paired trials, when the ratio is their median.
    var range: ClosedRange<Double>? = nil
    /// How many paired trials the median is over (nil for a ratio of a single measurement).
    var trials: Int? = nil
}

/// The median of paired trials: each trial times the candidate and its baseline back to back
/// (alternating which goes first), so both see the same state of the machine.
struct PairedRatio: Sendable {
    var median: Double
    var range: ClosedRange<Double>
    var trials: Int
    /// The medians of the two timings, nanoseconds per operation.
    var candidate: Double
    var baseline: Double

    init(candidate: [Double], baseline: [Double]) {
        let ratios = zip(candidate, baseline).map { $0 / $1 }.sorted()
        median = Self.median(ratios)
        range = ratios.first!...ratios.last!
        trials = ratios.count
        self.candidate = Self.median(candidate.sorted())
        self.baseline = Self.median(baseline.sorted())
    }

    private static func median(_ sorted: [Double]) -> Double {
        sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// "a–b over n trials", for the report.
    var rangeText: String { "\(format(range.lowerBound))–\(format(range.upperBound)) over \(trials) trials" }
}

/// At least five trials, as every ratio with a target is reported.
let minimumTrials = 5

/// Times `candidate` and `baseline` in `trials` interleaved pairs; each closure performs
/// `operations` operations per call.
func pairedRatio(trials: Int = minimumTrials, operations: Int,
                 candidate: () -> Void, baseline: () -> Void) -> PairedRatio {
    var candidates: [Double] = []
    var baselines: [Double] = []
    for trial in 0..<max(trials, minimumTrials) {
        if trial % 2 == 0 {
            baselines.append(nanosecondsPerOperation(operations: operations, repetitions: 1, baseline))
            candidates.append(nanosecondsPerOperation(operations: operations, repetitions: 1, candidate))
        } else {
            candidates.append(nanosecondsPerOperation(operations: operations, repetitions: 1, candidate))
            baselines.append(nanosecondsPerOperation(operations: operations, repetitions: 1, baseline))
        }
    }
    return PairedRatio(candidate: candidates, baseline: baselines)
}

/// The async version of ``pairedRatio(trials:operations:candidate:baseline:)``.
func pairedRatio(trials: Int = minimumTrials, operations: Int,
                 candidate: () async -> Void, baseline: () async -> Void) async -> PairedRatio {
    var candidates: [Double] = []
    var baselines: [Double] = []
    for trial in 0..<max(trials, minimumTrials) {
        if trial % 2 == 0 {
            baselines.append(await nanosecondsPerOperation(operations: operations, repetitions: 1, baseline))
            candidates.append(await nanosecondsPerOperation(operations: operations, repetitions: 1, candidate))
        } else {
            candidates.append(await nanosecondsPerOperation(operations: operations, repetitions: 1, candidate))
            baselines.append(await nanosecondsPerOperation(operations: operations, repetitions: 1, baseline))
        }
    }
    return PairedRatio(candidate: candidates, baseline: baselines)
}

extension BenchmarkResult {
    /// A result whose ratio is the median of paired trials.
    init(group: String, name: String, paired: PairedRatio, target: Target, detail: String) {
        let (targetText, met) = target.check(paired.median)
        self.init(group: group, name: name, ratio: paired.median, target: targetText, met: met,
                  detail: "\(detail); \(paired.rangeText)", range: paired.range, trials: paired.trials)
    }
}

enum Target {
    case atMost(Double)
    case atLeast(Double)
    /// Reported only, no target.
    case report

    func check(_ value: Double) -> (String, Bool) {
        switch self {
        case .atMost(let limit): ("<= \(format(limit))", value <= limit)
        case .atLeast(let limit): (">= \(format(limit))", value >= limit)
        case .report: ("(report)", true)
        }
    }
}

func format(_ value: Double) -> String {
    if value >= 100 { return String(format: "%.0f", value) }
    if value >= 10 { return String(format: "%.1f", value) }
    return String(format: "%.2f", value)
}

/// Measures nanoseconds per operation of `body`, which performs `operations` operations.
/// Takes the best of `repetitions` runs, so a busy machine can only make it look slower.
@inline(never)
func nanosecondsPerOperation(operations: Int, repetitions: Int = 5, _ body: () -> Void) -> Double {
    var best = Double.infinity
    for _ in 0..<repetitions {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start)
        best = min(best, elapsed / Double(operations))
    }
    return best
}

/// The async version of ``nanosecondsPerOperation(operations:repetitions:_:)``.
func nanosecondsPerOperation(operations: Int, repetitions: Int = 5, _ body: () async -> Void) async -> Double {
    var best = Double.infinity
    for _ in 0..<repetitions {
        let start = DispatchTime.now().uptimeNanoseconds
        await body()
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start)
        best = min(best, elapsed / Double(operations))
    }
    return best
}

/// Heap bytes in use now, from the C allocator (the pressure monitor's default source).
func heapBytesInUse() -> Int {
    (try? SystemMemoryReader.heapInUse.read().usedBytes) ?? 0
}

/// Prevents the optimizer from discarding a computed value.
@inline(never)
func blackHole<T>(_ value: T) { withExtendedLifetime(value) {} }
