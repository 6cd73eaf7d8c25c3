/// One kind of operation of the heap run: one call of a component's public API by the driver, or
/// a caller the driver starts or cancels.
enum HeapOperation: Int, CaseIterable {
    case poolConnection, poolLease, poolMarkDead, poolRemove, poolPrune
    case clientConnect, clientWithClient, clientOpenStream, clientCloseStream, clientDisconnect, clientPrune
    case registryCache, registryLookup, registryAdvertise, registryWithdraw, registryInvalidate
    case advertise, advertisementWithdraw
    case rpcPromptCall, rpcLocalCall, rpcReply
    /// Started in a task of its own: a call to a slow service, or a client that waits for a slot.
    case rpcWaitingCall, clientWaitingConnect
    /// Started in a task of its own that the driver cancels a little later.
    case cancellableCall, cancellableConnect
    case cancelCaller

    /// The name in the report.
    var name: String {
        switch self {
        case .poolConnection: "pool connection(to:)"
        case .poolLease: "pool withConnection(to:)"
        case .poolMarkDead: "pool connection marked dead"
        case .poolRemove: "pool remove(_:)"
        case .poolPrune: "pool prune()"
        case .clientConnect: "clients clientConnected(_:info:)"
        case .clientWithClient: "clients withClient (2 streams)"
        case .clientOpenStream: "clients openStream(_:for:)"
        case .clientCloseStream: "clients closeStream(_:)"
        case .clientDisconnect: "clients clientDisconnected(_:)"
        case .clientPrune: "clients prune()"
        case .registryCache: "registry cacheProviders(_:for:)"
        case .registryLookup: "registry providers(for:)"
        case .registryAdvertise: "registry advertise (TTL 1-4 s)"
        case .registryWithdraw: "registry withdraw(_:)"
        case .registryInvalidate: "registry invalidate(_:)"
        case .advertise: "advertisements advertise"
        case .advertisementWithdraw: "advertisements withdraw(_:)"
        case .rpcPromptCall: "rpc call, ends without the clock"
        case .rpcLocalCall: "rpc call, local handler"
        case .rpcReply: "rpc handleReply(_:) of a held request"
        case .rpcWaitingCall: "rpc call in a task (timeouts, held replies)"
        case .clientWaitingConnect: "clients connect in a task, admission .wait"
        case .cancellableCall: "rpc call in a task, to be cancelled"
        case .cancellableConnect: "clients .wait connect in a task, to be cancelled"
        case .cancelCaller: "caller cancelled"
        }
    }

    /// Whether the operation starts a task the driver does not await.
    var startsCaller: Bool {
        switch self {
        case .rpcWaitingCall, .clientWaitingConnect, .cancellableCall, .cancellableConnect: true
        default: false
        }
    }

    /// How often the driver picks each operation, per 100 picks. Held replies are not picked:
    /// the driver delivers them on every tick.
    static let weights: [(HeapOperation, Int)] = [
        (.poolConnection, 11), (.poolLease, 6), (.poolMarkDead, 3), (.poolRemove, 3), (.poolPrune, 1),
        (.clientConnect, 7), (.clientWithClient, 2), (.clientOpenStream, 6), (.clientCloseStream, 3),
        (.clientDisconnect, 5), (.clientPrune, 1), (.clientWaitingConnect, 1),
        (.registryCache, 4), (.registryLookup, 5), (.registryAdvertise, 3), (.registryWithdraw, 2),
        (.registryInvalidate, 1),
        (.advertise, 4), (.advertisementWithdraw, 2),
        (.rpcPromptCall, 17), (.rpcLocalCall, 3), (.rpcWaitingCall, 6),
        (.cancellableCall, 1), (.cancellableConnect, 1), (.cancelCaller, 2),
    ]

    /// `weights` spread over 100 slots: a pick is `table[random % 100]`.
    static let table: [HeapOperation] = weights.flatMap { Array(repeating: $0.0, count: $0.1) }
}
