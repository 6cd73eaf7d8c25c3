import Foundation

/// A value guarded by a lock that ThreadSanitizer can see: the drop-in replacement for
/// `Synchronization.Mutex` in code that tests exercise under `--sanitize=thread`.
///
/// Why not `Mutex`: on Linux its contended path (the futex wait and wake) runs inside the
/// uninstrumented Synchronization library, so ThreadSanitizer misses the release that orders one
/// critical section before the next and reports a race on the guarded value whenever two threads
/// contend (reproduced with four tasks appending to a `Mutex<[Int]>`). `NSLock` is a
/// `pthread_mutex_t`, whose calls ThreadSanitizer intercepts.
package final class LockedState<State>: @unchecked Sendable {
    // @unchecked Sendable is safe: `state` is only read or written inside `withLock`, which holds
    // `lock` for the whole access, and the class has no other mutable storage.
    private let lock = NSLock()
    private var state: State

    /// Creates the lock around `state`.
    package init(_ state: State) {
        self.state = state
    }

    /// Runs `body` with exclusive access to the state. `body` must not block or call back into
    /// the same lock. - Complexity: O(1) plus `body`.
    @inline(__always)
    package func withLock<R, E: Error>(_ body: (inout State) throws(E) -> R) throws(E) -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&state)
    }

    /// A copy of the state, read under the lock. - Complexity: O(1) plus the copy.
    package var value: State { withLock { $0 } }
}
