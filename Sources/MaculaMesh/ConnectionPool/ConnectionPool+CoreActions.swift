/// What a caller of a connection pool ends with.
@usableFromInline
package enum ConnectionPoolOutcome<Connection: Sendable>: Sendable {
    /// The connection, and the lease when the caller asked for one.
    case connected(Connection, ConnectionPoolLease?)
    case failed(ConnectionPoolError)

    /// - Throws: the error of a failed outcome.
    @inlinable
    func get() throws(ConnectionPoolError) -> (Connection, ConnectionPoolLease?) {
        switch self {
        case .connected(let connection, let lease): return (connection, lease)
        case .failed(let error): throw error
        }
    }
}

extension ConnectionPoolCore {
    /// An effect the actor carries out after the state change.
    @usableFromInline
    package enum Action: Sendable {
        /// Wake the caller: its outcome is in its slot.
        case resume(Token)
        /// Close the connection and count its removal.
        case removed(Connection, RemovalReason)
        /// Close a connection that never was an entry (no removal is counted).
        case discarded(Connection)
        /// Run the factory for the node and report with ``connectFinished(_:result:)``.
        case startConnect(ConnectID, NodeID)
        /// Cancel the connect's task: its result is no longer wanted.
        case cancelConnect(ConnectID)
        case rejected(RejectionReason)
        case event(MemoryEvent)
        /// Log the one-time warning that callers queued before `run()` are overdue.
        case warnRunNotStarted(overdueBy: Duration)
        /// Wake `run()`: the earliest deadline changed.
        case signalDeadlineLoop
    }

    @usableFromInline
    package enum Requested: Sendable {
        case connected(Connection, Lease?)
        case failed(ConnectionPoolError)
        /// Wait under this ID; start `connect`, if set, as ``Action/startConnect(_:_:)``.
        case waits(RequestID, connect: ConnectID?)
    }

    /// `run()` runs, with `overdueBy` set when the one-time warning is due, or is rejected.
    package enum RunStart: Sendable, Hashable {
        case started(overdueBy: Duration?)
        case rejected(ConnectionPoolError)
    }

    /// The state of one node, for ``ConnectionPool/info(for:)``.
    package enum NodeState: Sendable {
        case established(Connection, leases: Int)
        case connecting(waitingCallers: Int)
    }
}
