// How the connection pool actor carries out its core's actions: metrics, connect tasks, closes,
// resumes.

extension ConnectionPool {
    // MARK: Effects

    /// Carries out the core's actions: metrics, connect cancellations and connect starts first,
    /// then the closes (awaited), then the resumes. Resuming last means a caller whose connect
    /// evicted an entry returns only once that entry's connection is closed.
    @inlinable
    func perform(_ actions: [Core.Action]) async {
        let closes = performImmediateEffects(actions)
        await performDeferredEffects(actions, closes: closes)
    }

    /// The second half of ``perform(_:)``: the closes (awaited), then the resumes.
    /// - Parameter closes: how many closes ``performImmediateEffects(_:)`` counted.
    @inlinable
    func performDeferredEffects(_ actions: [Core.Action], closes: Int) async {
        if closes > 0 { await closeConnections(in: actions, count: closes) }
        let undo = resumeWaiters(in: actions)
        if !undo.isEmpty { await perform(undo) }
    }

    /// Records metrics, cancels and starts connects. - Returns: how many connections to close.
    @inlinable
    func performImmediateEffects(_ actions: [Core.Action]) -> Int {
        var closes = 0
        // Removals are counted in runs of one reason (bulk removals come in one run).
        var runReason: RemovalReason?
        var runCount = 0
        for action in actions {
            switch action {
            case .resume:
                break
            case .close(_, let close):
                closes += 1
                if let reason = close.removalReason {
                    if reason != runReason {
                        if let runReason { metrics.entriesRemoved(runCount, reason: runReason, component: componentName) }
                        runReason = reason
                        runCount = 0
                    }
                    runCount += 1
                }
            case .startConnect(let id, let node):
                pendingStarts.append((id, node))
            case .cancelConnect(let id):
                connectTaskHandles[id]?.cancel()
            case .reject(let rejection):
                metrics.requestRejected(reason: rejection.reason, component: componentName)
            case .record(let event):
                metrics.eventRecorded(event.event, count: 1, component: componentName)
            case .warnRunNotStarted(let overdue):
                logHandler.warnRunNotStarted(component: componentName, overdueBy: overdue)
            }
        }
        if let runReason { metrics.entriesRemoved(runCount, reason: runReason, component: componentName) }
        startPendingConnects()
        return closes
    }

    /// Closes the connections of the `.close` actions: one directly, several concurrently.
    @inlinable
    func closeConnections(in actions: [Core.Action], count: Int) async {
        guard count > 1 else {
            for case .close(let connection, _) in actions {
                await connection.close()
            }
            return
        }
        await closeConcurrently(actions.compactMap {
            if case .close(let connection, _) = $0 { return connection }
            return nil
        })
    }

    /// Closes many connections at once, at most 64 at a time (shutdown, lowering the limit).
    @usableFromInline
    func closeConcurrently(_ connections: [Connection]) async {
        await withTaskGroup(of: Void.self) { group in
            for (index, connection) in connections.enumerated() {
                if index >= 64 { await group.next() }
                group.addTask { await connection.close() }
            }
        }
    }

    /// Resumes the callers of the `.resume` actions.
    /// - Returns: the actions of ending the leases that could not be delivered (their caller was
    ///   cancelled first and will not end them).
    @inlinable
    func resumeWaiters(in actions: [Core.Action]) -> [Core.Action] {
        var undo: [Core.Action] = []
        for case .resume(let caller, let outcome) in actions {
            switch caller {
            case .waiter(let waiter):
                deliver(outcome, to: waiter, undo: &undo)
            case .starter(let id):
                if !suspendedStarters.isEmpty, let waiter = suspendedStarters.removeValue(forKey: id) {
                    deliver(outcome, to: waiter, undo: &undo)
                } else if starterWindows.contains(id) {
                    // The starter is on this actor, inside its start; it takes this when the
                    // start returns.
                    if starterOutcome == nil {
                        starterOutcome = (id, outcome)
                    } else {
                        outcomes[id] = outcome
                    }
                } else if case .connected(_, let lease?) = outcome {
                    // The starter was cancelled while it waited and is gone.
                    undo.append(contentsOf: core.leaseReleased(lease))
                }
            }
        }
        return undo
    }

    /// Hands `outcome` to a waiting caller, or undoes its lease when the caller's cancellation
    /// won the race.
    @inlinable
    func deliver(_ outcome: Core.Outcome, to waiter: ConnectionPoolWaiter, undo: inout [Core.Action]) {
        // The caller runs on this actor, so it cannot take the outcome before this job ends.
        if waiter.finish() {
            outcomes[waiter.id] = outcome
        } else if case .connected(_, let lease?) = outcome {
            undo.append(contentsOf: core.leaseReleased(lease))
        }
    }

    @inlinable
    func startPendingConnects() {
        guard !isStartingConnects, !pendingStarts.isEmpty else { return }
        isStartingConnects = true
        var index = 0
        while index < pendingStarts.count {
            let (id, node) = pendingStarts[index]
            index += 1
            spawnConnect(id, to: node)
        }
        pendingStarts.removeAll(keepingCapacity: true)
        isStartingConnects = false
    }

    /// Starts the task of connect `id`. With `Task.immediate` the task runs synchronously until it
    /// first suspends; when the factory does not suspend it has ended before this returns, and
    /// there is no handle to keep.
    @inlinable
    func spawnConnect(_ id: Core.ConnectID, to node: NodeID) {
        startingConnect = id
        connectEndedWhileStarting = false
        let task: Task<Void, Never>
        if #available(macOS 26.0, iOS 26.0, watchOS 26.0, tvOS 26.0, visionOS 26.0, *) {
            task = Task.immediate { await self.connect(id, to: node) }
        } else {
            task = Task { await self.connect(id, to: node) }
        }
        startingConnect = nil
        if !connectEndedWhileStarting {
            connectTaskHandles[id] = task
        }
    }

    /// The body of a connect task: call the factory, report, close what must be closed.
    @inlinable
    func connect(_ id: Core.ConnectID, to node: NodeID) async {
        let result: Result<Connection, any Error>
        do {
            result = .success(try await factory(node))
        } catch {
            result = .failure(error)
        }
        var actions = core.connectFinished(id, result: result)
        await perform(actions)
        core.recycle(&actions)
        if startingConnect == id {
            connectEndedWhileStarting = true
        } else {
            connectTaskHandles.removeValue(forKey: id)
        }
    }
}
