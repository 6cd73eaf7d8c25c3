extension RPCHandlerCore {
    /// Past this many services the round-robin counters start over, so the map stays bounded.
    static let roundRobinCapacity = 4_096

    /// - Complexity: O(1).
    mutating func chooseFirst(_ strategy: RPCProviderStrategy, count: Int, service: String) -> Int32 {
        switch strategy {
        case .first:
            return 0
        case .random:
            return Int32(truncatingIfNeeded: Int.random(in: 0..<count, using: &random))
        case .roundRobin:
            if roundRobin[service] == nil, roundRobin.count >= Self.roundRobinCapacity {
                roundRobin.removeAll(keepingCapacity: true)
            }
            let turn = roundRobin[service, default: 0]
            roundRobin[service] = turn &+ 1
            return Int32(truncatingIfNeeded: Int(turn) % count)
        }
    }

    /// `excluded` holds distinct indices, `after` among them.
    /// - Returns: the index of a provider not excluded, or nil when every one is.
    /// - Complexity: O(k²) for k excluded providers (k is at most the attempts a call makes).
    mutating func chooseNext(_ strategy: RPCProviderStrategy, count: Int, excluded: [Int32], after: Int32) -> Int32? {
        let remaining = count - excluded.count
        guard remaining > 0 else { return nil }
        switch strategy {
        case .first:
            return firstIncluded(from: 0, count: count, excluded: excluded)
        case .roundRobin:
            return firstIncluded(from: (Int(after) + 1) % count, count: count, excluded: excluded)
        case .random:
            // The r-th provider that is not excluded.
            var index = Int.random(in: 0..<remaining, using: &random)
            for skipped in excluded.sorted() {
                guard Int(skipped) <= index else { break }
                index += 1
            }
            return Int32(truncatingIfNeeded: index)
        }
    }

    private func firstIncluded(from start: Int, count: Int, excluded: [Int32]) -> Int32? {
        for offset in 0..<count {
            let index = Int32(truncatingIfNeeded: (start + offset) % count)
            if !excluded.contains(index) { return index }
        }
        return nil
    }
}

