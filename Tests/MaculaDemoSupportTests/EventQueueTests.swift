import MaculaMemory
import MaculaDemoSupport
import Testing

@Suite struct EventQueueTests {
    @Test func eventsComeOutInTimeOrderAndTiesInInsertionOrder() {
        var queue = EventQueue<String>()
        queue.schedule("c", at: 3)
        queue.schedule("a1", at: 1)
        queue.schedule("b", at: 2)
        queue.schedule("a2", at: 1)
        #expect(queue.count == 4)
        #expect(queue.nextTime == 1)
        #expect(queue.popDue(at: 0.5).isEmpty)
        #expect(queue.popDue(at: 2) == ["a1", "a2", "b"])
        #expect(queue.popDue(at: 10) == ["c"])
        #expect(queue.count == 0)
        #expect(queue.nextTime == nil)
    }

    @Test func aRandomScheduleMatchesASortedList() {
        var random = SplitMix64(seed: 42)
        var queue = EventQueue<Int>()
        var model: [(time: Double, sequence: Int)] = []
        var popped: [Int] = []
        var expected: [Int] = []
        var now = 0.0
        for step in 0..<5_000 {
            if random.chance(0.6) {
                let time = now + Double(Int.random(in: 0..<20, using: &random))
                queue.schedule(step, at: time)
                model.append((time, step))
            } else {
                now += Double(Int.random(in: 0..<5, using: &random))
                popped += queue.popDue(at: now)
                let due = model.filter { $0.time <= now }.sorted { ($0.time, $0.sequence) < ($1.time, $1.sequence) }
                expected += due.map(\.sequence)
                model.removeAll { $0.time <= now }
                #expect(queue.count == model.count)
            }
        }
        #expect(popped == expected)
    }

    @Test func aRateGivesWholeOperationsAndCarriesTheFraction() {
        var rate = RateAccumulator()
        var total = 0
        for _ in 0..<100 { total += rate.due(rate: 30, elapsed: 0.01) }
        #expect(total == 30)
        #expect(rate.due(rate: 1_000, elapsed: 0.5) == 500)
        #expect(rate.due(rate: -5, elapsed: 1) == 0)
    }
}

@Suite struct DemoRandomTests {
    @Test func oneSeedGivesOneSequence() {
        var first = SplitMix64(seed: 9)
        var second = SplitMix64(seed: 9)
        var other = SplitMix64(seed: 10)
        let a = (0..<100).map { _ in first.next() }
        #expect(a == (0..<100).map { _ in second.next() })
        #expect(a != (0..<100).map { _ in other.next() })
    }

    @Test func chancesAndRangesStayInBounds() {
        var random = SplitMix64(seed: 1)
        var hits = 0
        for _ in 0..<10_000 {
            if random.chance(0.25) { hits += 1 }
            let value = random.uniform(2...3)
            #expect(value >= 2 && value <= 3)
        }
        #expect(hits > 2_200 && hits < 2_800)
        let never = random.chance(0)
        #expect(!never)
    }
}
