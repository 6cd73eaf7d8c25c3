/// The contract every bounded Macula component conforms to (the seed's `macula_memory_manager`).
///
/// Every map a component keeps is bounded by an **effective limit**, `max(1, ⌊base × scale⌋)`:
/// the **base limit** belongs to the operator (``setLimit(_:)``) and the **pressure scale** to the
/// ``MemoryPressureMonitor`` (``setPressureScale(_:)``). The two are separate so that pressure
/// relief never overwrites what the operator configured, and restoring `normal` restores it exactly.
///
/// When the effective limit falls below the current size, the component brings itself under it
/// by its own documented policy:
/// - entries that can be dropped safely (idle pooled connections, cached remote providers) are
///   removed at once and reported with reason ``RemovalReason/pressure`` (or
///   ``RemovalReason/evicted`` when the operator lowered the base limit);
/// - entries that belong to live callers (clients, pending calls, this node's advertisements)
///   are kept, and new entries are refused until the size is under the limit.
///
/// Requirements are `async` so that an actor can satisfy them with isolated methods, and so that
/// a component may await its own effects (closing connections) before it returns.
public protocol MemoryManaged: Actor {
    /// The name this instance uses in metrics and logs. Configurable per instance so that two
    /// components of one kind do not collide; defaults are the seed's module names
    /// (`gateway_mesh`, `client_manager`, `service_registry`, `advertisement_manager`, `rpc_handler`).
    nonisolated var componentName: String { get }

    /// The component's size, effective and base limit, pressure scale and high-water mark,
    /// read in one isolated step so the numbers agree with each other.
    func memoryUsage() async -> MemoryUsage

    /// Sets the operator's base limit. The effective limit becomes `max(1, ⌊limit × scale⌋)`.
    /// - Throws: ``ConfigurationError`` naming the configuration field when `limit` breaks the
    ///   component's rule (below 1 everywhere; each component documents any further bound);
    ///   nothing changes then.
    func setLimit(_ limit: Int) async throws(ConfigurationError)

    /// Sets the pressure scale, in (0, 1]. Only the ``MemoryPressureMonitor`` calls this.
    /// Values outside (0, 1] are clamped (see ``MemoryBudget/setPressureScale(_:)``).
    func setPressureScale(_ scale: Double) async

    /// Removes whatever is expired or dead.
    /// - Returns: how many entries were removed.
    func prune() async -> Int
}
