import MaculaMesh
import Synchronization

/// A ``PooledConnection`` for tests: it remembers its node and serial number, can be marked dead,
/// and counts how often it was closed (a pool must close each connection exactly once).
///
/// Two fake connections are equal only when they are the same object.
public final class FakeConnection<NodeID: Hashable & Sendable>: PooledConnection, Hashable, CustomStringConvertible {
    /// The node it connects to.
    public let node: NodeID
    /// Its number among the connections its factory made, from 1.
    public let serial: Int

    private let alive = Atomic<Bool>(true)
    private let closes = Atomic<Int>(0)

    /// Creates a live connection that was never closed.
    public init(node: NodeID, serial: Int) {
        self.node = node
        self.serial = serial
    }

    /// Whether the connection is usable: true until ``markDead()`` or ``close()``.
    public var isAlive: Bool { alive.load(ordering: .acquiring) && closeCount == 0 }

    /// Makes ``isAlive`` false, as a connection whose peer went away.
    public func markDead() { alive.store(false, ordering: .releasing) }

    /// How many times ``close()`` ran.
    public var closeCount: Int { closes.load(ordering: .acquiring) }

    /// Counts the close. Never suspends.
    public nonisolated(nonsending) func close() async {
        closes.add(1, ordering: .acquiringAndReleasing)
    }

    public var description: String { "FakeConnection(\(node) #\(serial))" }

    /// Identity: the same object.
    public static func == (lhs: FakeConnection, rhs: FakeConnection) -> Bool { lhs === rhs }

    /// Hashes the object's identity.
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
