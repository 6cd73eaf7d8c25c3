import MaculaMemory

/// SplitMix64: a small, fast, seeded generator, so that two runs with one seed make the same
/// workload choices (the worlds differ in their mechanisms, not in their workload).
package typealias DemoRandom = SplitMix64

extension SplitMix64 {
    /// True with probability `probability`.
    package mutating func chance(_ probability: Double) -> Bool {
        Double.random(in: 0..<1, using: &self) < probability
    }

    /// A uniform value in `range`.
    package mutating func uniform(_ range: ClosedRange<Double>) -> Double {
        Double.random(in: range, using: &self)
    }
}
