import Foundation

/// A value shared between tasks, behind an `NSLock`.
///
/// Not `Synchronization.Mutex`: its contended path is invisible to ThreadSanitizer on Linux, so
/// a contended `Mutex` shows up as false races there (see the library's `LockedState`); a
/// pthread mutex is intercepted. The demo keeps to public API, so it has its own.
final class Locked<Value: Sendable>: @unchecked Sendable {
    // @unchecked: `value` is read and written only inside `withLock`, under `lock`.
    private var value: Value
    private let lock = NSLock()

    init(_ value: Value) { self.value = value }

    /// Runs `body` with exclusive access to the value.
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
