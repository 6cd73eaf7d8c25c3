import MaculaMemory
import MaculaTesting
import Testing

/// A minimal actor on the timer model: deadlines in a heap, one loop, fired IDs recorded.
private actor Alarms {
    let clock: ComponentClock
    private var heap = DeadlineHeap<Int, Duration>()
    private let signal = DeadlineSignal()
    private(set) var fired: [Int] = []
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var firedCount = 0

    init(clock: ManualClock) { self.clock = ComponentClock(clock) }

    func schedule(_ id: Int, after delay: Duration) {
        let deadline = clock.now + delay
        let wasFirst = heap.first.map { deadline < $0.deadline } ?? true
        heap.set(id, deadline: deadline)
        if wasFirst { signal.signal() }
    }

    func run() async {
        await runDeadlineLoop(clock: clock, signal: signal) { now in
            for entry in heap.popDue(at: now) { fired.append(entry.id) }
            return heap.first?.deadline
        }
    }
}

@Suite("runDeadlineLoop", .timeLimit(.minutes(3)))
struct DeadlineLoopTests {
    @Test("fires deadlines in order with one sleeper, and wakes early for an earlier deadline")
    func firesInOrder() async throws {
        let clock = ManualClock()
        let alarms = Alarms(clock: clock)
        let loop = Task { await alarms.run() }

        await alarms.schedule(1, after: .seconds(10))
        #expect(await clock.nextSleep().offset == .seconds(10))
        // An earlier deadline interrupts the sleep: the loop sleeps again towards it.
        await alarms.schedule(2, after: .seconds(5))
        #expect(await clock.nextSleep().offset == .seconds(5))
        #expect(clock.sleeperCount == 1)

        clock.advance(by: .seconds(5))
        #expect(await clock.nextSleep().offset == .seconds(10))
        #expect(await alarms.fired == [2])

        clock.advance(by: .seconds(5))
        // Nothing left: the loop waits for a signal, not on the clock.
        await alarms.schedule(3, after: .seconds(1))
        #expect(await clock.nextSleep().offset == .seconds(11))
        #expect(await alarms.fired == [2, 1])

        loop.cancel()
        await loop.value
        #expect(clock.sleeperCount == 0)
        #expect(await alarms.fired == [2, 1])
    }

    @Test("cancellation ends a loop that waits for its first deadline")
    func cancelWhileIdle() async {
        let clock = ManualClock()
        let alarms = Alarms(clock: clock)
        let loop = Task { await alarms.run() }
        loop.cancel()
        await loop.value
        #expect(clock.totalSleeps == 0)
    }
}
