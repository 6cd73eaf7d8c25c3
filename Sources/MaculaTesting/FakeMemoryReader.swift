import MaculaMemory
import Synchronization

/// A ``MemoryReader`` whose readings a test sets, for driving a ``MemoryPressureMonitor``.
///
/// ```swift
/// let reader = FakeMemoryReader(usedBytes: 100, limitBytes: 1_000)
/// let monitor = try MemoryPressureMonitor(clock: ManualClock(), reader: reader)
/// reader.set(usedBytes: 950)          // 95 % of the limit
/// await monitor.check()               // .high
/// ```
public final class FakeMemoryReader: MemoryReader {
    private let state: LockedState<Result<MemoryReading, MemoryReadError>>
    private let reads = Atomic<Int>(0)

    /// Creates a reader that reports `usedBytes` of `limitBytes`.
    public init(usedBytes: Int = 0, limitBytes: Int? = nil) {
        state = LockedState(.success(MemoryReading(usedBytes: usedBytes, limitBytes: limitBytes)))
    }

    /// Sets the next readings' used bytes, keeping the limit.
    public func set(usedBytes: Int) {
        state.withLock { result in
            let limit = (try? result.get())?.limitBytes
            result = .success(MemoryReading(usedBytes: usedBytes, limitBytes: limit))
        }
    }

    /// Sets the next readings.
    public func set(_ reading: MemoryReading) {
        state.withLock { $0 = .success(reading) }
    }

    /// Makes the next readings fail with `error`.
    public func fail(with error: MemoryReadError) {
        state.withLock { $0 = .failure(error) }
    }

    /// How many readings were taken.
    public var readCount: Int { reads.load(ordering: .relaxed) }

    public func read() throws(MemoryReadError) -> MemoryReading {
        reads.add(1, ordering: .relaxed)
        return try state.withLock { $0 }.get()
    }
}
