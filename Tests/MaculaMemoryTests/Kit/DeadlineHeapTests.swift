import MaculaMemory
import Testing

@Suite("DeadlineHeap", .timeLimit(.minutes(3)))
struct DeadlineHeapTests {
    @Test("pops in deadline order, ties in insertion order")
    func popsInOrder() {
        var heap = DeadlineHeap<String, Int>()
        heap.set("c", deadline: 3)
        heap.set("a", deadline: 1)
        heap.set("b1", deadline: 2)
        heap.set("b2", deadline: 2)
        #expect(heap.first?.id == "a")
        #expect(heap.popDue(at: 2).map(\.id) == ["a", "b1", "b2"])
        #expect(heap.count == 1)
        #expect(heap.popDue(at: 2).isEmpty)
        #expect(heap.popFirst()?.id == "c")
        #expect(heap.isEmpty)
    }

    @Test("moving and removing entries keeps the order")
    func moveAndRemove() {
        var heap = DeadlineHeap<Int, Int>()
        for id in 0..<10 { heap.set(id, deadline: id * 10) }
        heap.set(0, deadline: 95)
        #expect(heap.remove(5) == 50)
        #expect(heap.remove(42) == nil)
        #expect(heap.deadline(of: 0) == 95)
        #expect(heap.popDue(at: 1000).map(\.id) == [1, 2, 3, 4, 6, 7, 8, 9, 0])
    }

    @Test("matches a sorted-array model over 20,000 random operations")
    func modelBased() {
        var rng = SplitMix64(seed: 0xDEAD_BEEF)
        var heap = DeadlineHeap<Int, Int>()
        var model: [Int: (deadline: Int, sequence: Int)] = [:]
        var sequence = 0
        for _ in 0..<20_000 {
            let id = Int.random(in: 0..<200, using: &rng)
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<5:
                let deadline = Int.random(in: 0..<1000, using: &rng)
                sequence += 1
                heap.set(id, deadline: deadline)
                model[id] = (deadline, sequence)
            case 5..<8:
                #expect(heap.remove(id) == model.removeValue(forKey: id)?.deadline)
            default:
                let now = Int.random(in: 0..<300, using: &rng)
                let expected = model.filter { $0.value.deadline <= now }
                    .sorted { ($0.value.deadline, $0.value.sequence) < ($1.value.deadline, $1.value.sequence) }
                    .map(\.key)
                for id in expected { model[id] = nil }
                #expect(heap.popDue(at: now).map(\.id) == expected)
            }
            #expect(heap.count == model.count)
            let expectedFirst = model.min { ($0.value.deadline, $0.value.sequence) < ($1.value.deadline, $1.value.sequence) }
            #expect(heap.first?.id == expectedFirst?.key)
        }
    }
}

@Suite("FIFOQueue", .timeLimit(.minutes(3)))
struct FIFOQueueTests {
    @Test("removal from the middle is skipped at the front")
    func removalFromMiddle() {
        var queue = FIFOQueue<Int, String>()
        for id in 0..<5 { queue.append("\(id)", id: id) }
        #expect(queue.remove(2) == "2")
        #expect(queue.remove(2) == nil)
        #expect(queue.popFirst()?.id == 0)
        #expect(queue.remove(1) == "1")
        #expect(queue.first()?.id == 3)
        #expect(queue.removeAll().map(\.id) == [3, 4])
        #expect(queue.isEmpty)
    }

    @Test("matches an array model over 20,000 random operations")
    func modelBased() {
        var rng = SplitMix64(seed: 42)
        var queue = FIFOQueue<Int, Int>()
        var model: [Int] = []
        var nextID = 0
        for _ in 0..<20_000 {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<4:
                queue.append(nextID * 7, id: nextID)
                model.append(nextID)
                nextID += 1
            case 4..<7:
                let id = Int.random(in: max(0, nextID - 50)..<max(1, nextID), using: &rng)
                let removed = queue.remove(id)
                if let index = model.firstIndex(of: id) {
                    model.remove(at: index)
                    #expect(removed == id * 7)
                } else {
                    #expect(removed == nil)
                }
            default:
                #expect(queue.popFirst()?.id == (model.isEmpty ? nil : model.removeFirst()))
            }
            #expect(queue.count == model.count)
            #expect(queue.first()?.id == model.first)
        }
    }
}
