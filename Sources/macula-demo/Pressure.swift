import MaculaMemory
import Synchronization

/// Follows the pressure monitor's level changes (a metrics sink beside the registry), so that the
/// status line and the report can show the level and every change with its time.
final class PressureWatch: MemoryMetrics {
    struct Change: Sendable {
        var time: Double
        var from: MemoryPressureLevel
        var to: MemoryPressureLevel
        var usedBytes: Int
    }

    private struct State {
        var level = MemoryPressureLevel.normal
        var changes: [Change] = []
    }

    private let state = LockedState(State())
    private let start: ContinuousClock.Instant

    init(start: ContinuousClock.Instant) { self.start = start }

    func pressureLevelChanged(from: MemoryPressureLevel, to: MemoryPressureLevel, reading: MemoryReading) {
        let time = Workload.seconds(start.duration(to: .now))
        state.withLock { state in
            state.level = to
            state.changes.append(Change(time: time, from: from, to: to, usedBytes: reading.usedBytes))
        }
    }

    /// The level now.
    var level: MemoryPressureLevel { state.withLock { $0.level } }
    /// Every change, in order.
    var changes: [Change] { state.withLock { $0.changes } }
}

/// The simulated memory spike: another part of the server holds a large block for a while (a
/// big request body, a cache rebuild). It is one allocation above glibc's mmap threshold, touched
/// page by page, so it is resident while held and returned to the system when freed.
final class MemorySpike: Sendable {
    /// When it is held, in seconds since the start.
    let window: Range<Double>
    /// Its size in bytes.
    let bytes: Int
    private let held = Atomic<Bool>(false)

    init(window: Range<Double>, bytes: Int) {
        self.window = window
        self.bytes = bytes
    }

    /// Whether the block is held now.
    var isHeld: Bool { held.load(ordering: .relaxed) }

    /// Waits for the window, holds the block through it, then frees it; frees it at once and
    /// returns when the task is cancelled.
    func hold(start: ContinuousClock.Instant, clock: ContinuousClock) async {
        guard bytes > 0 else { return }
        do {
            try await clock.sleep(until: start.advanced(by: Workload.duration(window.lowerBound)))
        } catch {
            return
        }
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes, alignment: 4_096)
        block.initializeMemory(as: UInt8.self, repeating: 0x5A)
        held.store(true, ordering: .relaxed)
        try? await clock.sleep(until: start.advanced(by: Workload.duration(window.upperBound)))
        held.store(false, ordering: .relaxed)
        block.deallocate()
    }
}

/// How the demo's pressure monitor is set up.
struct PressurePlan: Sendable {
    /// When the monitor starts, in seconds: after the warm-up, so that its thresholds can be
    /// set from the heap of the warmed-up node.
    var startTime: Double
    /// The spike the thresholds are sized for; 0 for the library's default thresholds.
    var spikeBytes: Int
    var checkInterval: Duration

    /// The monitor's configuration for a node whose heap in use is `heapBytes` after warm-up:
    /// medium at half the spike above it, high at three quarters (a held spike reaches high; the
    /// node's own working set, once warm, stays far below medium). Without a spike or a heap
    /// reading, the library's defaults (80 % and 90 % of the memory available).
    func configuration(heapBytes: Int?) -> MemoryPressureMonitorConfiguration {
        var configuration = MemoryPressureMonitorConfiguration()
        configuration.checkInterval = checkInterval
        if spikeBytes > 0, let heapBytes {
            configuration.thresholds = .bytes(medium: heapBytes + spikeBytes / 2, high: heapBytes + spikeBytes * 3 / 4)
        }
        return configuration
    }
}
