// The hash table of the connection pool's entries, and the structural self-check tests use.

extension ConnectionPoolEntries {
    // MARK: Table

    @inlinable
    static func bucketValue(slot: Int32, hash: Int) -> UInt64 {
        UInt64(UInt32(bitPattern: slot) &+ 1) << 32 | UInt64(UInt32(truncatingIfNeeded: hash))
    }

    @inlinable
    static func slot(inBucket value: UInt64) -> Int32 { Int32(bitPattern: UInt32(truncatingIfNeeded: value >> 32) &- 1) }

    @inlinable
    static func tag(inBucket value: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: value) }

    /// Finds `node`. - Complexity: O(1) expected.
    @inlinable
    func lookup(_ node: NodeID) -> Lookup {
        let hash = node.hashValue
        let tag = UInt32(truncatingIfNeeded: hash)
        let mask = buckets.count &- 1
        var index = Int(tag) & mask
        while true {
            let value = buckets[index]
            if value == 0 { return .absent(hash: hash) }
            if Self.tag(inBucket: value) == tag {
                let slot = Self.slot(inBucket: value)
                if slots[Int(slot)].node == node {
                    return slots[Int(slot)].pins == Self.connecting ? .connecting(slot) : .established(slot)
                }
            }
            index = (index &+ 1) & mask
        }
    }

    /// The slot of `node` if it is established. - Complexity: O(1) expected.
    @inlinable
    func slot(of node: NodeID) -> Int32? {
        if case .established(let slot) = lookup(node) { return slot }
        return nil
    }

    @inlinable
    mutating func tableInsert(slot: Int32, hash: Int) {
        if (connectingCount + count + 1) &* 2 > buckets.count { grow() }
        let mask = buckets.count &- 1
        var index = Int(UInt32(truncatingIfNeeded: hash)) & mask
        while buckets[index] != 0 { index = (index &+ 1) & mask }
        buckets[index] = Self.bucketValue(slot: slot, hash: hash)
    }

    /// Removes `slot` from the table, shifting later entries of its probe run back.
    @inlinable
    mutating func tableRemove(slot: Int32) {
        let tag = UInt32(truncatingIfNeeded: slots[Int(slot)].node.hashValue)
        let mask = buckets.count &- 1
        var hole = Int(tag) & mask
        while Self.slot(inBucket: buckets[hole]) != slot { hole = (hole &+ 1) & mask }
        var index = hole
        while true {
            index = (index &+ 1) & mask
            let value = buckets[index]
            if value == 0 { break }
            let home = Int(Self.tag(inBucket: value)) & mask
            // The entry may move into the hole unless its home lies cyclically in (hole, index].
            let stays = hole <= index ? (hole < home && home <= index) : (hole < home || home <= index)
            if !stays {
                buckets[hole] = value
                hole = index
            }
        }
        buckets[hole] = 0
    }

    @usableFromInline
    mutating func grow() {
        let old = buckets
        buckets = ContiguousArray(repeating: 0, count: old.count &* 2)
        let mask = buckets.count &- 1
        for value in old where value != 0 {
            var index = Int(Self.tag(inBucket: value)) & mask
            while buckets[index] != 0 { index = (index &+ 1) & mask }
            buckets[index] = value
        }
    }

    // MARK: Checking

    /// Every structural invariant, for tests: the lists, the table, the counts and the free list
    /// agree. - Returns: the broken invariants, empty when all hold. - Complexity: O(capacity).
    func invariantViolations() -> [String] {
        var problems: [String] = []
        var seen = Set<Int32>()
        var pinnedSeen = 0
        for (list, isPinned) in [(pinned, true), (idle, false)] {
            var cursor = list.head
            var previous = Self.none
            while cursor != Self.none {
                guard seen.insert(cursor).inserted else {
                    problems.append("slot \(cursor) linked twice")
                    return problems
                }
                let entry = slots[Int(cursor)]
                if entry.previous != previous { problems.append("slot \(cursor) has a wrong back link") }
                if entry.connection == nil { problems.append("slot \(cursor) without connection is linked") }
                if (entry.pins > 0) != isPinned { problems.append("slot \(cursor) is on the wrong list") }
                if slot(of: entry.node) != cursor { problems.append("table does not map \(entry.node) to \(cursor)") }
                if isPinned { pinnedSeen += 1 }
                previous = cursor
                cursor = entry.next
            }
            if list.tail != previous { problems.append("\(isPinned ? "pinned" : "idle") tail is wrong") }
        }
        if seen.count != count { problems.append("count \(count) but \(seen.count) linked") }
        if pinnedSeen != pinnedCount { problems.append("pinnedCount \(pinnedCount) but \(pinnedSeen) pinned") }
        // The table: every bucket names a live slot whose node hashes to its tag, reachable from
        // its home bucket without crossing an empty bucket.
        let mask = buckets.count - 1
        var inTable = 0
        for (index, value) in buckets.enumerated() where value != 0 {
            inTable += 1
            let slot = Self.slot(inBucket: value)
            guard slot >= 0, Int(slot) < slots.count else {
                problems.append("bucket \(index) names slot \(slot)")
                continue
            }
            let node = slots[Int(slot)].node
            if Self.tag(inBucket: value) != UInt32(truncatingIfNeeded: node.hashValue) {
                problems.append("bucket \(index) has a wrong tag")
            }
            var probe = Int(Self.tag(inBucket: value)) & mask
            while probe != index {
                if buckets[probe] == 0 { problems.append("bucket \(index) is cut off from its home") ; break }
                probe = (probe + 1) & mask
            }
            if slots[Int(slot)].pins == Self.connecting {
                if case .connecting(let found) = lookup(node), found == slot {} else {
                    problems.append("connecting slot \(slot) not found")
                }
            } else if !seen.contains(slot) {
                problems.append("slot \(slot) in the table but in no list")
            }
        }
        if inTable != count + connectingCount {
            problems.append("table holds \(inTable), expected \(count) + \(connectingCount)")
        }
        if inTable * 2 > buckets.count { problems.append("table more than half full") }
        var free = 0
        var cursor = freeHead
        while cursor != Self.none && free <= slots.count {
            if slots[Int(cursor)].connection != nil { problems.append("occupied slot \(cursor) is free") }
            free += 1
            cursor = slots[Int(cursor)].next
        }
        if free + inTable != slots.count { problems.append("\(free) free + \(inTable) used != \(slots.count) slots") }
        return problems
    }
}
