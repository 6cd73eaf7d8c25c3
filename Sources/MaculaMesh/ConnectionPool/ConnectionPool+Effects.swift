extension ConnectionPool {
    /// Carries out `actions`: metrics, logs, signals, connect cancellations and starts first, then
    /// the closes (awaited), then the resumes.
    @inlinable
    func perform(_ actions: [Core.Action]) async {
        guard !actions.isEmpty else { return }
        var closes = 0
        var removalReason: RemovalReason?
        var removals = 0
        for action in actions {
            switch action {
            case .resume:
                break
            case .removed(_, let reason):
                closes += 1
                if reason != removalReason {
                    if let removalReason { metrics.entriesRemoved(removals, reason: removalReason, component: componentName) }
                    removalReason = reason
                    removals = 0
                }
                removals += 1
            case .discarded:
                closes += 1
            case .startConnect(let id, let node):
                startConnect(id, to: node)
            case .cancelConnect(let id):
                connectTasks[id]?.cancel()
            case .rejected(let reason):
                metrics.requestRejected(reason: reason, component: componentName)
            case .event(let event):
                metrics.eventRecorded(event, count: 1, component: componentName)
            case .warnRunNotStarted(let overdue):
                logHandler.warnRunNotStarted(component: componentName, overdueBy: overdue)
            case .signalDeadlineLoop:
                wakeDeadlineLoop()
            }
        }
        if let removalReason { metrics.entriesRemoved(removals, reason: removalReason, component: componentName) }
        if closes == 1 {
            for action in actions {
                switch action {
                case .removed(let connection, _), .discarded(let connection): await connection.close()
                default: continue
                }
            }
        } else if closes > 1 {
            await closeConcurrently(actions.compactMap {
                switch $0 {
                case .removed(let connection, _), .discarded(let connection): connection
                default: nil
                }
            })
        }
        for case .resume(let waiter) in actions { waiter.finish(()) }
    }

    /// Closes many connections at once, at most 64 at a time.
    @usableFromInline
    func closeConcurrently(_ connections: [Connection]) async {
        await withTaskGroup(of: Void.self) { group in
            for (index, connection) in connections.enumerated() {
                if index >= 64 { await group.next() }
                group.addTask { await connection.close() }
            }
        }
    }

    /// Starts connect `id`'s task, at once on this executor unless another start is on the stack.
    @inlinable
    func startConnect(_ id: Core.ConnectID, to node: NodeID) {
        startDepth += 1
        defer { startDepth -= 1 }
        let task: Task<Void, Never>
        if startDepth > 1 {
            task = Task { await self.connect(id, to: node) }
        } else if #available(macOS 26.0, iOS 26.0, watchOS 26.0, tvOS 26.0, visionOS 26.0, *) {
            task = Task.immediate { await self.connect(id, to: node) }
        } else {
            task = Task { await self.connect(id, to: node) }
        }
        if endedEarly == id {
            endedEarly = nil
        } else {
            connectTasks[id] = task
        }
    }

    @inlinable
    func connect(_ id: Core.ConnectID, to node: NodeID) async {
        let result: Result<Connection, any Error>
        do {
            result = .success(try await factory(node))
        } catch {
            result = .failure(error)
        }
        await perform(core.connectFinished(id, result: result))
        if connectTasks.removeValue(forKey: id) == nil { endedEarly = id }
    }

}
