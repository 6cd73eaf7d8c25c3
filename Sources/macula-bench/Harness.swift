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
