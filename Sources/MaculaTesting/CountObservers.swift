/// The callers of a fake's `waitFor…(_ count:)`, each suspended until a counter of the fake
/// reaches its count. It lives inside the fake's locked state; the continuations it hands back are
/// resumed after the lock is released.
struct CountObservers {
    private var waiting: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []

    /// Keeps `continuation` until the counter reaches `count`.
    /// - Returns: true, keeping nothing, when `current` already reaches `count`: the caller resumes
    ///   `continuation` itself.
    /// - Complexity: O(1).
    mutating func add(_ continuation: CheckedContinuation<Void, Never>, count: Int, current: Int) -> Bool {
        if current >= count { return true }
        waiting.append((count, continuation))
        return false
    }

    /// Removes and returns the observers whose count `current` reaches.
    /// - Complexity: O(w) for w observers; O(1) when there are none.
    mutating func reached(_ current: Int) -> [CheckedContinuation<Void, Never>] {
        if waiting.isEmpty { return [] }
        var ready: [CheckedContinuation<Void, Never>] = []
        waiting.removeAll { entry in
            guard entry.count <= current else { return false }
            ready.append(entry.continuation)
            return true
        }
        return ready
    }
}
