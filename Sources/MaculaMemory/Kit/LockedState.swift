import Foundation

/// A value guarded by an `NSLock`, which ThreadSanitizer intercepts: use it instead of
/// `Synchronization.Mutex`, whose contended path on Linux TSan cannot see (it reports false races).
package final class LockedState<State>: @unchecked Sendable {
    // @unchecked Sendable is safe: `state` is only read or written inside `withLock`, which holds
    // `lock` for the whole access, and the class has no other mutable storage.
    private let lock = NSLock()
    private var state: State

    /// Creates the lock around `state`.
    package init(_ state: State) {
        self.state = state
    }

    /// Runs `body` with exclusive access to the state; `body` must not block or take the lock
    /// again. - Complexity: O(1) plus `body`.
    @inline(__always)
    package func withLock<R, E: Error>(_ body: (inout State) throws(E) -> R) throws(E) -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&state)
    }

    /// A copy of the state, read under the lock. - Complexity: O(1) plus the copy.
    package var value: State { withLock { $0 } }
}
