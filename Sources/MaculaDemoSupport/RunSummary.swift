/// What one run reports about itself for a soak to judge, written as `summary.json` beside its
/// `samples.csv`.
package struct RunSummary: Codable, Sendable, Hashable {
    /// `bounded` or `unbounded`.
    package var world: String
    /// The workload's nominal duration, in seconds.
    package var durationSeconds: Double
    /// The workload multiplier.
    package var scale: Double
    /// The workload seed.
    package var seed: UInt64
    /// Resident memory when the workload started, at its peak, and when it stopped, in bytes.
    package var residentStartBytes: Int
    package var residentPeakBytes: Int
    package var residentEndBytes: Int
    /// Each component's own high-water mark, by ``DemoComponent`` raw value (bounded world).
    package var highWaterMarks: [String: Int]
    /// Each component's size when the workload stopped, by ``DemoComponent`` raw value.
    package var finalSizes: [String: Int]
    /// The pressure levels the monitor was at, in order of first appearance.
    package var pressureLevelsSeen: [String]
    /// The memory spike's window, in seconds since the start, and its size; nil and 0 without.
    package var spikeStartSeconds: Double?
    package var spikeEndSeconds: Double?
    package var spikeBytes: Int
    /// How long owners get to drain after a limit is lowered, in seconds.
    package var drainAllowanceSeconds: Double

    /// Creates a summary.
    package init(
        world: String, durationSeconds: Double, scale: Double, seed: UInt64,
        residentStartBytes: Int, residentPeakBytes: Int, residentEndBytes: Int,
        highWaterMarks: [String: Int], finalSizes: [String: Int], pressureLevelsSeen: [String],
        spikeStartSeconds: Double?, spikeEndSeconds: Double?, spikeBytes: Int, drainAllowanceSeconds: Double
    ) {
        self.world = world
        self.durationSeconds = durationSeconds
        self.scale = scale
        self.seed = seed
        self.residentStartBytes = residentStartBytes
        self.residentPeakBytes = residentPeakBytes
        self.residentEndBytes = residentEndBytes
        self.highWaterMarks = highWaterMarks
        self.finalSizes = finalSizes
        self.pressureLevelsSeen = pressureLevelsSeen
        self.spikeStartSeconds = spikeStartSeconds
        self.spikeEndSeconds = spikeEndSeconds
        self.spikeBytes = spikeBytes
        self.drainAllowanceSeconds = drainAllowanceSeconds
    }
}
