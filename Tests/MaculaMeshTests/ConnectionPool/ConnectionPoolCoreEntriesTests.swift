@testable import MaculaMesh
import Testing

/// The recency structure on its own: the map, slots, idle and pinned lists, free list.
@Suite("ConnectionPool entries", .timeLimit(.minutes(3)))
struct ConnectionPoolEntriesTests {
    typealias Entries = ConnectionPoolEntries<String, Int>

    private func nodes(_ entries: Entries) -> [String] { entries.inRecencyOrder().map(\.node) }

    @Test("inserts go to the front, touches move to the front, the idle tail is the victim")
    func recency() {
        var entries = Entries()
        for (value, node) in ["a", "b", "c"].enumerated() { entries.insert(node, connection: value, pins: 0) }
        #expect(nodes(entries) == ["c", "b", "a"])
        #expect(entries.leastRecentlyUsedIdle.map(entries.node(at:)) == "a")
        entries.touch(entries.slot(of: "a")!)
        #expect(nodes(entries) == ["a", "c", "b"])
        entries.touch(entries.slot(of: "a")!) // already at the front
        #expect(nodes(entries) == ["a", "c", "b"])
        #expect(entries.leastRecentlyUsedIdle.map(entries.node(at:)) == "b")
        #expect(entries.invariantViolations().isEmpty)
    }

    @Test("pinned entries leave the idle list and return to its front when the last lease ends")
    func pinnedList() {
        var entries = Entries()
        for (value, node) in ["a", "b", "c"].enumerated() { entries.insert(node, connection: value, pins: 0) }
        let first = entries.pin(entries.slot(of: "a")!)
        let second = entries.pin(entries.slot(of: "a")!)
        _ = entries.pin(entries.slot(of: "b")!)
        #expect(entries.pinnedCount == 2)
        #expect(nodes(entries) == ["b", "a", "c"])
        #expect(entries.leastRecentlyUsedIdle.map(entries.node(at:)) == "c")
        #expect(entries.unpin(first) == false)
        #expect(entries.unpin(second) == true)
        #expect(entries.unpin(second) == nil) // no lease left: stale
        #expect(nodes(entries) == ["b", "a", "c"])
        entries.touch(entries.slot(of: "c")!)
        #expect(nodes(entries) == ["b", "c", "a"])
        #expect(entries.invariantViolations().isEmpty)
    }

    @Test("removed slots are reused, and leases on the old occupant become stale")
    func slotReuse() {
        var entries = Entries()
        entries.insert("a", connection: 1, pins: 0)
        let lease = entries.pin(entries.slot(of: "a")!)
        let removed = entries.remove(entries.slot(of: "a")!)
        #expect(removed.node == "a" && removed.connection == 1 && removed.wasPinned)
        #expect(entries.pinnedCount == 0)
        let newLease = entries.insert("b", connection: 2, pins: 1)
        #expect(newLease.slot == lease.slot)
        #expect(newLease.generation != lease.generation)
        #expect(!entries.isCurrent(lease))
        #expect(entries.unpin(lease) == nil)
        #expect(entries.pins(at: newLease.slot) == 1)
        #expect(entries.invariantViolations().isEmpty)
    }

    @Test("removeAll returns every connection, leased first, and empties the structure")
    func removeAll() {
        var entries = Entries()
        for (value, node) in ["a", "b", "c"].enumerated() { entries.insert(node, connection: value, pins: 0) }
        _ = entries.pin(entries.slot(of: "a")!)
        #expect(entries.removeAll() == [0, 2, 1])
        #expect(entries.count == 0)
        #expect(entries.slot(of: "a") == nil)
        #expect(entries.invariantViolations().isEmpty)
    }

    @Test("lookupOrReserve finds a present node with one look-up, and reserves a connecting slot for an absent one")
    func lookupOrReserve() {
        var entries = Entries()
        entries.insert("a", connection: 1, pins: 0)
        guard case .established(let a) = entries.lookupOrReserve("a", tag: 7) else {
            Issue.record("expected a's entry")
            return
        }
        #expect(entries.node(at: a) == "a")
        guard case .reserved(let b) = entries.lookupOrReserve("b", tag: 7) else {
            Issue.record("expected a reservation")
            return
        }
        #expect(entries.connectingTag(at: b) == 7)
        if case .connecting(let found) = entries.lookupOrReserve("b", tag: 8) { #expect(found == b) } else {
            Issue.record("expected b connecting")
        }
        entries.remove(a)
        // The freed slot is reused by the next reservation.
        if case .reserved(let c) = entries.lookupOrReserve("c", tag: 9) { #expect(c == a) } else {
            Issue.record("expected a reservation")
        }
        #expect(entries.connectingCount == 2)
        #expect(entries.invariantViolations().isEmpty)
    }

    /// A node whose hashes collide often.
    struct CollidingNode: Hashable, Sendable {
        var value: Int
        func hash(into hasher: inout Hasher) { hasher.combine(value % 7) }
    }

    @Test("the map and the slots stay consistent through collisions, growth, connecting slots and removals")
    func tableUnderCollisions() {
        var entries = ConnectionPoolEntries<CollidingNode, Int>()
        var expected: [Int: (slot: Int32, established: Bool)] = [:]
        var state: UInt64 = 42
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        for step in 0..<20_000 {
            let value = next(200)
            let node = CollidingNode(value: value)
            switch entries.lookup(node) {
            case .absent:
                #expect(expected[value] == nil, "step \(step): \(value) lost")
                if next(2) == 0 {
                    expected[value] = (entries.insertConnecting(node, tag: Int32(value)), false)
                } else {
                    expected[value] = (entries.insert(node, connection: value, pins: 0).slot, true)
                }
            case .connecting(let slot):
                #expect(expected[value]?.slot == slot && expected[value]?.established == false)
                #expect(entries.connectingTag(at: slot) == Int32(value))
                if next(2) == 0 {
                    entries.removeConnecting(slot)
                    expected[value] = nil
                } else {
                    _ = entries.establish(slot, connection: value, pins: 0)
                    expected[value] = (slot, true)
                }
            case .established(let slot):
                #expect(expected[value]?.slot == slot && expected[value]?.established == true)
                #expect(entries.connection(at: slot) == value)
                entries.remove(slot)
                expected[value] = nil
            case .reserved:
                Issue.record("lookup never reserves")
            }
            if step % 500 == 0 {
                let problems = entries.invariantViolations()
                #expect(problems.isEmpty, "step \(step): \(problems)")
                if !problems.isEmpty { return }
            }
        }
        #expect(entries.count + entries.connectingCount == expected.count)
        #expect(entries.invariantViolations().isEmpty)
    }
}
