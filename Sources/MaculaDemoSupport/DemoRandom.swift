import MaculaMemory

/// The workload's draws from the seeded `SplitMix64`, so that two runs with one seed make the same
/// choices (the worlds differ in their mechanisms, not in their workload).
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
