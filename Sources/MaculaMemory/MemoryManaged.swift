/// The contract every bounded Macula component conforms to. Its **effective limit** is
/// `max(1, ⌊base × scale⌋)`: the **base limit** is the operator's (``setLimit(_:)``), the
/// **pressure scale** the ``MemoryPressureMonitor``'s (``setPressureScale(_:)``), so restoring
/// `normal` restores the operator's limit exactly. Below the size, a component drops what can be
/// dropped safely (reason ``RemovalReason/pressure``, or ``RemovalReason/evicted`` for the
/// operator's change) and keeps entries that belong to live callers, refusing new ones.
public protocol MemoryManaged: Actor {
    /// The name this instance uses in metrics and logs, configurable so two components of one
    /// kind do not collide.
    nonisolated var componentName: String { get }

    /// The size, limits, pressure scale and high-water mark, read in one step so they agree.
    func memoryUsage() async -> MemoryUsage

    /// Sets the operator's base limit. The effective limit becomes `max(1, ⌊limit × scale⌋)`.
    /// - Throws: ``ConfigurationError`` naming the configuration field when `limit` breaks the
    ///   component's rule (at least 1); nothing changes then.
    func setLimit(_ limit: Int) async throws(ConfigurationError)

    /// Sets the pressure scale, clamped into (0, 1]. Only the ``MemoryPressureMonitor`` calls this.
    func setPressureScale(_ scale: Double) async

    /// Removes whatever is expired or dead.
    /// - Returns: how many entries were removed.
    func prune() async -> Int
}
