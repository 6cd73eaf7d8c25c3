import MaculaMemory
import MaculaTesting
import Testing

@Suite("ManualClock", .timeLimit(.minutes(3)))
struct ManualClockTests {
    @Test("a sleeper wakes only when the clock reaches its deadline")
    func sleeperWakesAtDeadline() async throws {
        let clock = ManualClock()
        let woke = LockedState(false)
        let sleeper = Task {
            try await clock.sleep(until: clock.now.advanced(by: .seconds(10)))
            woke.withLock { $0 = true }
        }
        let deadline = await clock.nextSleep()
        #expect(deadline.offset == .seconds(10))
        clock.advance(by: .seconds(9))
        #expect(clock.sleeperCount == 1)
        #expect(woke.withLock { $0 } == false)
        clock.advance(by: .seconds(1))
        try await sleeper.value
        #expect(woke.withLock { $0 })
        #expect(clock.now.offset == .seconds(10))
    }

    @Test("a deadline already reached returns at once and is not reported as a sleep")
    func pastDeadlineReturnsAtOnce() async throws {
        let clock = ManualClock()
        clock.advance(by: .seconds(5))
        try await clock.sleep(until: ManualClock.Instant(offset: .seconds(5)))
        #expect(clock.totalSleeps == 0)
        #expect(clock.sleeperCount == 0)
    }

    @Test("advance resumes due sleepers in deadline order, ties in the order they slept")
    func advanceResumesInDeadlineOrder() async throws {
        let clock = ManualClock()
        let order = LockedState<[Int]>([])
        let deadlines = [30, 10, 20, 10, 40]
        var tasks: [Task<Void, any Error>] = []
        for (index, seconds) in deadlines.enumerated() {
            tasks.append(Task { [index, seconds] in
                try await clock.sleep(until: ManualClock.Instant(offset: .seconds(seconds)))
                order.withLock { $0.append(index) }
            })
            // Make the sleep order deterministic: wait until this sleeper is asleep.
            _ = await clock.nextSleep()
        }
        // Resume in deadline order one at a time and observe each wake before the next.
        clock.advance(to: ManualClock.Instant(offset: .seconds(10)))
        try await tasks[1].value
        try await tasks[3].value
        clock.advance(to: ManualClock.Instant(offset: .seconds(35)))
        try await tasks[2].value
        try await tasks[0].value
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .seconds(5))
        try await tasks[4].value
        #expect(Set(order.withLock { $0 }) == [0, 1, 2, 3, 4])
        #expect(clock.sleeperCount == 0)
    }

    @Test("a cancelled sleeper is removed and throws CancellationError")
    func cancelledSleeperThrows() async throws {
        let clock = ManualClock()
        let sleeper = Task { try await clock.sleep(until: clock.now.advanced(by: .seconds(1))) }
        _ = await clock.nextSleep()
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.sleeperCount == 0)
    }

    @Test("a task cancelled before it sleeps throws without registering")
    func cancelledBeforeSleeping() async throws {
        let clock = ManualClock()
        let sleeper = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await clock.sleep(until: clock.now.advanced(by: .seconds(1)))
        }
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.sleeperCount == 0)
    }

    @Test("a sleeper that sleeps again after waking is resumed by a later advance only")
    func sleepingAgainNeedsAnotherAdvance() async throws {
        let clock = ManualClock()
        let wakes = LockedState(0)
        let looper = Task {
            for _ in 0..<3 {
                try await clock.sleep(until: clock.now.advanced(by: .seconds(1)))
                wakes.withLock { $0 += 1 }
            }
        }
        #expect(await clock.nextSleep().offset == .seconds(1))
        clock.advance(by: .seconds(10))
        // The loop woke once and went back to sleep one second after the new now.
        #expect(await clock.nextSleep().offset == .seconds(11))
        #expect(wakes.value == 1)
        clock.advance(by: .seconds(1))
        #expect(await clock.nextSleep().offset == .seconds(12))
        #expect(wakes.value == 2)
        clock.advance(by: .seconds(1))
        try await looper.value
        #expect(wakes.value == 3)
    }

    @Test("many concurrent sleepers, half cancelled, all accounted for")
    func manyConcurrentSleepers() async throws {
        let clock = ManualClock()
        let count = 200
        let woken = LockedState(0)
        let cancelled = LockedState(0)
        var tasks: [Task<Void, Never>] = []
        for index in 0..<count {
            tasks.append(Task { [index] in
                do {
                    try await clock.sleep(until: ManualClock.Instant(offset: .milliseconds(index + 1)))
                    woken.withLock { $0 += 1 }
                } catch {
                    cancelled.withLock { $0 += 1 }
                }
            })
        }
        await clock.waitForSleepers(count)
        for index in stride(from: 0, to: count, by: 2) { tasks[index].cancel() }
        clock.advance(by: .seconds(1))
        for task in tasks { await task.value }
        #expect(woken.withLock { $0 } + cancelled.withLock { $0 } == count)
        #expect(cancelled.withLock { $0 } <= count / 2)
        #expect(clock.sleeperCount == 0)
    }

    @Test("nextSleep reports every sleep once, in the order they began")
    func nextSleepReportsEachSleepOnce() async throws {
        let clock = ManualClock()
        let first = Task { try await clock.sleep(until: ManualClock.Instant(offset: .seconds(7))) }
        #expect(await clock.nextSleep().offset == .seconds(7))
        let second = Task { try await clock.sleep(until: ManualClock.Instant(offset: .seconds(3))) }
        #expect(await clock.nextSleep().offset == .seconds(3))
        #expect(clock.nextDeadline?.offset == .seconds(3))
        clock.advance(by: .seconds(7))
        try await first.value
        try await second.value
        #expect(clock.totalSleeps == 2)
    }
}
