/// Why a ``ClientManager`` refused a request; compare with the static members.
public struct ClientManagerError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case maxClientsReached
        case waitersLimitReached
        case timedOut
        case cancelled
        case notRunning
        case alreadyRunning
        case shutdown
        case unknownClient
        case maxStreamsReached
        case streamOwnedByAnotherClient
    }

    private let code: Code

    private init(_ code: Code) { self.code = code }

    /// The manager holds its effective limit of clients, or callers are already waiting for a
    /// slot and a newcomer may not pass them.
    public static let maxClientsReached = ClientManagerError(.maxClientsReached)

    /// Every slot was taken and the queue of waiting callers was full.
    public static let waitersLimitReached = ClientManagerError(.waitersLimitReached)

    /// The caller waited for a slot until its deadline without getting one.
    public static let timedOut = ClientManagerError(.timedOut)

    /// The caller's task was cancelled before it was registered; nothing of it was kept.
    public static let cancelled = ClientManagerError(.cancelled)

    /// The caller would have had to wait for a slot while no ``ClientManager/run()`` runs after one
    /// returned, or `run()` returned while it waited.
    public static let notRunning = ClientManagerError(.notRunning)

    /// ``ClientManager/run()`` was called while another call to it was still running.
    public static let alreadyRunning = ClientManagerError(.alreadyRunning)

    /// ``ClientManager/shutdown()`` ran before or while the caller waited.
    public static let shutdown = ClientManagerError(.shutdown)

    /// A stream was opened for a client that is not connected.
    public static let unknownClient = ClientManagerError(.unknownClient)

    /// The client already has ``ClientManagerConfiguration/maximumStreamsPerClient`` streams open.
    public static let maxStreamsReached = ClientManagerError(.maxStreamsReached)

    /// The stream ID is already open for another client.
    public static let streamOwnedByAnotherClient = ClientManagerError(.streamOwnedByAnotherClient)

    public var description: String {
        switch code {
        case .maxClientsReached:
            "the client manager is at its client limit; refuse the connection, wait for a slot with ClientAdmission.wait, or raise maximumClients"
        case .waitersLimitReached:
            "the client manager is full and its queue of waiting callers is full too; refuse the connection or raise maximumWaiters"
        case .timedOut:
            "no client slot became free before the wait deadline; refuse the connection or wait longer"
        case .cancelled:
            "the caller's task was cancelled before the client was registered; nothing was kept"
        case .notRunning:
            "waiting for a client slot needs ClientManager.run(), which enforces the deadline, but run() has returned; keep it running (for example in a ServiceGroup) for as long as the manager is in use"
        case .alreadyRunning:
            "ClientManager.run() is already running; call it once per manager"
        case .shutdown:
            "the client manager is shut down; create a new one to track clients again"
        case .unknownClient:
            "the client is not connected; register it with clientConnected(_:info:) or withClient before opening streams for it"
        case .maxStreamsReached:
            "the client has reached maximumStreamsPerClient open streams; close one first or raise the limit"
        case .streamOwnedByAnotherClient:
            "the stream ID is already open for another client; close it there first or use unique stream IDs"
        }
    }

    var rejectionReason: RejectionReason? {
        switch code {
        case .maxClientsReached: .limitReached
        case .waitersLimitReached: .waitersLimitReached
        case .timedOut: .waitTimedOut
        case .notRunning: .notRunning
        case .maxStreamsReached: .streamLimitReached
        case .cancelled, .alreadyRunning, .shutdown, .unknownClient, .streamOwnedByAnotherClient: nil
        }
    }
}
