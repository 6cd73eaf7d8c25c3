/// Everything a `macula-demo` run is told on its command line.
package struct DemoOptions: Sendable, Hashable {
    /// What the run does.
    package enum Mode: String, Sendable, Hashable {
        /// One world for the duration, with a live status line and a final report.
        case run
        /// Both worlds, one after the other, each for the duration; then the chart, the CSV and
        /// the acceptance verdict.
        case soak
    }

    /// Which implementation of the five mechanisms a run uses.
    package enum World: String, Sendable, Hashable, CaseIterable {
        /// The Macula actors, through their public API.
        case bounded
        /// The demo's naive stand-ins with the original's behavior: unbounded maps, no TTL
        /// cleanup, no caller cleanup.
        case unbounded
    }

    /// Run one world, or soak both.
    package var mode: Mode = .run
    /// The world of a `.run`; ignored by `.soak`, which runs both.
    package var world: World = .bounded
    /// How long the workload runs, in seconds (per world in a soak).
    package var durationSeconds: Double = 30
    /// The workload multiplier: every rate is multiplied by it; limits are not.
    package var scale: Double = 1
    /// The limits of the bounded world.
    package var limits = DemoLimits()
    /// Where the run writes its files; nil for a fresh temporary directory.
    package var outputDirectory: String?
    /// The seed of the workload's random choices, so that two runs make the same choices.
    package var seed: UInt64 = 0x6D61_6375_6C61
    /// The size of the simulated memory spike that drives the pressure monitor, in MiB; 0 for
    /// none (the monitor then runs with the library's default thresholds).
    package var pressureSpikeMiB: Int = 96

    /// The defaults: a 30 s bounded run at scale 1 with the demo's limits.
    package init() {}
}

/// The bounded world's limits. The defaults are the seed's where the seed gives one (1,000
/// connections) and otherwise sized so that the default workload presses against each limit.
package struct DemoLimits: Sendable, Hashable {
    /// The connection pool's `maximumConnections` (the seed's 1,000).
    package var connections = 1_000
    /// The client manager's client limit.
    package var clients = 1_000
    /// The registry's `maximumLocalServices` (and the advertisement manager's maximum).
    package var localServices = 500
    /// The registry's `maximumCachedServices`.
    package var cachedServices = 500
    /// The RPC handler's pending-call limit.
    package var pendingCalls = 2_000

    /// The defaults.
    package init() {}
}

/// What the command line asks for.
package enum DemoCommand: Sendable, Hashable {
    /// Print the usage and exit successfully.
    case help
    /// Run with these options.
    case run(DemoOptions)
}
