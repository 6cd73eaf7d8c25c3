import Testing

@testable import MaculaMemory


@Suite("DeadlineHeap (slot table)", .timeLimit(.minutes(3)))
struct DeadlineHeapSlotTests {
    /// The reference: a list of (id, deadline, sequence), scanned for the minimum.
    private struct Model {
        var entries: [(id: String, deadline: Duration, sequence: Int)] = []
        var sequence = 0
        mutating func set(_ id: String, _ deadline: Duration) {
            sequence += 1
            entries.removeAll { $0.id == id }
            entries.append((id, deadline, sequence))
        }
        mutating func remove(_ id: String) -> Duration? {
            guard let index = entries.firstIndex(where: { $0.id == id }) else { return nil }
            return entries.remove(at: index).deadline
        }
        var first: (id: String, deadline: Duration)? {
            entries.min { ($0.deadline, $0.sequence) < ($1.deadline, $1.sequence) }.map { ($0.id, $0.deadline) }
        }
        mutating func popFirst() -> (id: String, deadline: Duration)? {
            guard let first else { return nil }
            _ = remove(first.id)
            return first
        }
    }

    @Test("random sets, moves, removals and pops agree with a scanned list, ties in insertion order")
    func matchesModel() {
        var random = SplitMix64(state: 0xDEAD_11EA)
        var heap = DeadlineHeap<String, Duration>()
        var model = Model()
        for step in 0..<20_000 {
            let id = "id\(random.next() % 64)"
            switch random.next() % 10 {
            case 0..<4:
                let deadline = Duration.seconds(Int64(random.next() % 20))
                heap.set(id, deadline: deadline)
                model.set(id, deadline)
            case 4..<6:
                #expect(heap.remove(id) == model.remove(id), "step \(step)")
            case 6..<8:
                let popped = heap.popFirst()
                let expected = model.popFirst()
                #expect(popped?.id == expected?.id && popped?.deadline == expected?.deadline, "step \(step)")
            case 8:
                let now = Duration.seconds(Int64(random.next() % 20))
                let due = heap.popDue(at: now).map(\.id)
                var expected: [String] = []
                while let first = model.first, first.deadline <= now { expected.append(model.popFirst()!.id) }
                #expect(due == expected, "step \(step)")
            default:
                if random.next() % 50 == 0 {
                    #expect(Set(heap.removeAll()) == Set(model.entries.map(\.id)))
                    model.entries.removeAll()
                }
            }
            #expect(heap.count == model.entries.count, "step \(step)")
            #expect(heap.first?.id == model.first?.id, "step \(step)")
            #expect(heap.contains(id) == model.entries.contains { $0.id == id })
            #expect(heap.deadline(of: id) == model.entries.first { $0.id == id }?.deadline)
            // Slot table invariants: every node's slot points back at it; free slots are free.
            for (index, node) in heap.byDeadline.nodes.enumerated() {
                #expect(heap.byDeadline.positions[Int(node.slot)] == index && heap.ids[Int(node.slot)] != nil)
            }
            #expect(heap.ids.count - heap.freeSlots.count == heap.count)
            #expect(heap.slotOf.count == heap.count)
        }
    }

    @Test("an emptied heap drops its slot table")
    func emptiedHeapShrinks() {
        var heap = DeadlineHeap<Int, Int>()
        for index in 0..<5_000 { heap.set(index, deadline: index) }
        #expect(heap.popDue(at: 5_000).count == 5_000)
        #expect(heap.isEmpty && heap.ids.isEmpty && heap.freeSlots.isEmpty && heap.byDeadline.positions.isEmpty)
        heap.set(1, deadline: 1)
        #expect(heap.first?.id == 1 && heap.ids.count == 1)
    }
}

@Suite("DeadlineHeap removeDue", .timeLimit(.minutes(3)))
struct DeadlineHeapRemoveDueTests {
    @Test("removeDue removes exactly the due entries, whether few or most are due, and keeps a valid heap")
    func removeDueMatchesScan() {
        var random = SplitMix64(state: 0x0DD_BA11)
        for round in 0..<60 {
            var heap = DeadlineHeap<String, Int>()
            var deadlines: [String: Int] = [:]
            let count = Int(random.next() % 3_000)
            for index in 0..<count {
                let deadline = Int(random.next() % 1_000)
                heap.set("e\(index)", deadline: deadline)
                deadlines["e\(index)"] = deadline
            }
            // From nothing due to everything due, across the one-pass threshold.
            let now = [-1, 0, 5, 50, 200, 500, 999, 1_000][round % 8]
            let removed = heap.removeDue(at: now)
            let expected = Set(deadlines.filter { $0.value <= now }.keys)
            #expect(Set(removed) == expected && removed.count == expected.count, "round \(round)")
            #expect(heap.count == count - expected.count)
            for (index, node) in heap.byDeadline.nodes.enumerated() {
                #expect(heap.byDeadline.positions[Int(node.slot)] == index)
                if index > 0 { #expect(!node.precedes(heap.byDeadline.nodes[(index - 1) / 2])) }
            }
            // What remains pops in deadline order, ties in insertion order.
            var last: (deadline: Int, id: Int)?
            while let next = heap.popFirst() {
                let id = Int(next.id.dropFirst())!
                if let last { #expect(last.deadline < next.deadline || (last.deadline == next.deadline && last.id < id)) }
                #expect(next.deadline > now && deadlines[next.id] == next.deadline)
                last = (next.deadline, id)
            }
            #expect(heap.ids.isEmpty && heap.slotOf.isEmpty && heap.byDeadline.positions.isEmpty)
        }
    }
}
