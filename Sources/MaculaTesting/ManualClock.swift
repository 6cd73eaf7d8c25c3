import MaculaMemory

/// A `Clock` that moves only when a test moves it.
///
/// Code under test sleeps on it as on any clock. The test waits until that code is asleep with
/// ``nextSleep()`` (or ``waitForSleepers(_:)``) and then moves time with ``advance(by:)`` or
/// ``advance(to:)``, which resume every sleeper whose deadline has come, in deadline order (equal
/// deadlines in the order they went to sleep). A sleeper whose task is cancelled is removed and
/// throws `CancellationError`. No test ever has to guess with real sleeps or `Task.yield()`.
///
/// ```swift
/// let clock = ManualClock()
/// let loop = Task { try await service.run() }      // sleeps on `clock`
/// let deadline = await clock.nextSleep()           // returns once `run()` is asleep
/// clock.advance(to: deadline)                      // wakes it, deterministically
/// ```
public final class ManualClock: Clock, Sendable {
    /// A point on the manual clock's timeline: the time since the clock's start.
    public struct Instant: InstantProtocol, Sendable, Hashable, CustomStringConvertible {
        /// The time since the clock's start.
        public var offset: Duration

        /// Creates an instant `offset` after the clock's start.
        public init(offset: Duration) { self.offset = offset }

        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
        public var description: String { "ManualClock.Instant(\(offset))" }
    }

    private struct Sleeper {
        var deadline: Instant
        var sequence: UInt64
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var nextSequence: UInt64 = 0
        /// Sleepers keyed by their sequence number.
        var sleepers: [UInt64: Sleeper] = [:]
        /// Sleeps that began and that no ``nextSleep()`` has returned yet, oldest first.
        var unobservedSleeps: [Instant] = []
        /// Tests waiting in ``nextSleep()``.
        var sleepObservers: [CheckedContinuation<Instant, Never>] = []
        /// Tests waiting in ``waitForSleepers(_:)``: the count each waits for.
        var countObservers = CountObservers()
        /// How many sleeps began since the clock was created.
        var totalSleeps = 0
    }

    private let state = LockedState(State())

    /// Creates a clock at offset zero.
    public init() {}

    /// The current instant. Changes only through ``advance(by:)`` and ``advance(to:)``.
    public var now: Instant { state.withLock { $0.now } }

    /// Zero: the manual clock has no resolution of its own.
    public var minimumResolution: Duration { .zero }

    /// How many tasks are asleep on the clock now.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// How many sleeps began since the clock was created (those whose deadline had already come
    /// are not counted: they return at once).
    public var totalSleeps: Int { state.withLock { $0.totalSleeps } }

    /// The earliest deadline among the sleepers, if any.
    public var nextDeadline: Instant? {
        state.withLock { $0.sleepers.values.map(\.deadline).min() }
    }

    /// Suspends until the clock reaches `deadline`; returns at once when it already has.
    /// - Throws: `CancellationError` when the task is cancelled before the deadline.
    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let sequence = state.withLock { state -> UInt64 in
            state.nextSequence += 1
            return state.nextSequence
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Outcome { case resume, cancelled, asleep }
                var observers: [CheckedContinuation<Instant, Never>] = []
                var counted: [CheckedContinuation<Void, Never>] = []
                let outcome = state.withLock { state -> Outcome in
                    if Task.isCancelled { return .cancelled }
                    if deadline <= state.now { return .resume }
                    state.sleepers[sequence] = Sleeper(deadline: deadline, sequence: sequence, continuation: continuation)
                    state.totalSleeps += 1
                    if state.sleepObservers.isEmpty {
                        state.unobservedSleeps.append(deadline)
                    } else {
                        observers = [state.sleepObservers.removeFirst()]
                    }
                    counted = state.countObservers.reached(state.sleepers.count)
                    return .asleep
                }
                switch outcome {
                case .resume: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .asleep:
                    for observer in observers { observer.resume(returning: deadline) }
                    for observer in counted { observer.resume() }
                }
            }
        } onCancel: {
            let sleeper = state.withLock { $0.sleepers.removeValue(forKey: sequence) }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Waits until a task goes to sleep on the clock and returns its deadline.
    ///
    /// Each sleep is reported once: successive calls return successive sleeps, in the order they
    /// began, including sleeps that began before the call.
    public func nextSleep() async -> Instant {
        await withCheckedContinuation { (continuation: CheckedContinuation<Instant, Never>) in
            let ready = state.withLock { state -> Instant? in
                if state.unobservedSleeps.isEmpty {
                    state.sleepObservers.append(continuation)
                    return nil
                }
                return state.unobservedSleeps.removeFirst()
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Waits until at least `count` tasks are asleep on the clock at once.
    public func waitForSleepers(_ count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { $0.countObservers.add(continuation, count: count, current: $0.sleepers.count) }
            if ready { continuation.resume() }
        }
    }

    /// Moves the clock forward by `duration` and resumes the sleepers that are due.
    public func advance(by duration: Duration) {
        let target = state.withLock { $0.now.advanced(by: duration) }
        advance(to: target)
    }

    /// Moves the clock to `instant` (never backwards) and resumes every sleeper whose deadline is
    /// at or before it, earliest deadline first. A sleeper that sleeps again after waking is
    /// resumed by a later advance, never by this one.
    public func advance(to instant: Instant) {
        let due = state.withLock { state -> [Sleeper] in
            if instant > state.now { state.now = instant }
            let due = state.sleepers.values
                .filter { $0.deadline <= state.now }
                .sorted { ($0.deadline, $0.sequence) < ($1.deadline, $1.sequence) }
            for sleeper in due { state.sleepers.removeValue(forKey: sleeper.sequence) }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }
}
