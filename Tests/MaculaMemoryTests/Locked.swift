import MaculaMemory

/// A value several tasks share in a test, behind a lock ThreadSanitizer sees (`LockedState`).
final class Locked<Value: Sendable>: Sendable {
    private let state: LockedState<Value>
    init(_ value: Value) { state = LockedState(value) }
    func withLock<R>(_ body: (inout Value) -> R) -> R { state.withLock(body) }
    var value: Value { state.withLock { $0 } }
}
