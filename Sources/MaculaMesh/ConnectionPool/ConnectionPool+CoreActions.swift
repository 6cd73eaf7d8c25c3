// What the connection pool's core asks the actor to do, and what it answers.

extension ConnectionPoolCore {
    /// An effect the actor carries out after the state change.
    @usableFromInline
    package enum Action: Sendable {
        /// Resume the waiting caller with the outcome.
        case resume(Waiter, Outcome)
        /// Close the connection; count a removal for the reason, unless it is `discarded` (the
        /// connection never was an entry: a connect that completed after its node was removed).
        case close(Connection, CloseReason)
        /// Run the factory for `NodeID` and report the result with ``connectFinished(_:result:)``.
        case startConnect(ConnectID, NodeID)
        /// The connect's result is no longer wanted: cancel its task.
        case cancelConnect(ConnectID)
        /// Count a rejection.
        case reject(Rejection)
        /// Count an event.
        case record(Event)
        /// Log the one-time warning that callers queued before `run()` started are past their
        /// deadline by `overdueBy`.
        case warnRunNotStarted(overdueBy: Duration)
    }

    /// Why a connection is closed: the metrics' ``RemovalReason``, or none for a connection that
    /// never was an entry. (Small trivial enums keep actions cheap to copy and destroy.)
    @usableFromInline
    package enum CloseReason: Sendable {
        case evicted, dead, pressure, shutdown, removed
        /// A connect completed but its connection never entered the pool.
        case discarded

        @inlinable
        package var removalReason: RemovalReason? {
            switch self {
            case .evicted: .evicted
            case .dead: .dead
            case .pressure: .pressure
            case .shutdown: .shutdown
            case .removed: .removed
            case .discarded: nil
            }
        }
    }

    /// A refused request, for metrics.
    @usableFromInline
    package enum Rejection: Sendable {
        case limitReached, waitersLimitReached, waitTimedOut, notRunning

        @inlinable
        package var reason: RejectionReason {
            switch self {
            case .limitReached: .limitReached
            case .waitersLimitReached: .waitersLimitReached
            case .waitTimedOut: .waitTimedOut
            case .notRunning: .notRunning
            }
        }
    }

    /// An event, for metrics.
    @usableFromInline
    package enum Event: Sendable {
        case connectFailed, connectDiscarded, connectShared, callerQueued, waitingForRun

        @inlinable
        package var event: MemoryEvent {
            switch self {
            case .connectFailed: .connectFailed
            case .connectDiscarded: .connectDiscarded
            case .connectShared: .connectShared
            case .callerQueued: .callerQueued
            case .waitingForRun: .waitingForRun
            }
        }
    }

    /// What happens to a request, beyond its actions.
    @usableFromInline
    package enum RequestAction: Sendable {
        /// The node's entry was there and alive: here is its connection (and lease).
        case hit(Connection, Lease?)
        /// The caller's waiter is the first of a new connect: start it with this ID.
        case startConnect(ConnectID)
        /// The caller's waiter joined the connect already in flight for the node.
        case joinedConnect
        /// The caller's waiter is queued for a slot; its deadline is set. Signal the deadline loop
        /// when the flag says this deadline is now the earliest.
        case queued(signalDeadlineLoop: Bool)
        /// The request failed at once.
        case rejected(ConnectionPoolError)
    }

    /// The state of one node, for ``ConnectionPool/info(for:)``.
    enum NodeState: Sendable {
        case established(Connection, leases: Int)
        case connecting(waitingCallers: Int)
    }
}
