
extension RPCHandler {
    /// Drives every deadline of the handler and runs the discoveries until its task is cancelled;
    /// then fails whatever is pending with ``RPCError/notRunning``, cancels and awaits the
    /// discoveries, and returns. May be called again after it returns. Calls made before it started
    /// are pending still; deadlines already past fire at once, in deadline order.
    /// - Throws: ``RPCError/alreadyRunning`` when another `run()` of this handler is running;
    ///   ``RPCError/shutdown`` after ``shutdown()``. Cancellation is not an error.
    public func run() async throws(RPCError) {
        switch core.runStarted(now: now()) {
        case .alreadyRunning: throw .alreadyRunning
        case .shutDown: throw .shutdown
        case .started(let overdue):
            if let overdue { report(.runNotStarted(overdueBy: overdue)) }
        }
        await withDiscardingTaskGroup { group in
            defer { discoveryAborts.abortAll() }
            await runDeadlineLoop(clock: clock, signal: wakeUp) { instant in
                deadlinesPassed(at: instant, group: &group)
            }
            // Before the group awaits its discoveries, so they find themselves dropped.
            perform(core.runEnded())
            group.cancelAll()
        }
    }

    func deadlinesPassed(at instant: Duration, group: inout DiscardingTaskGroup) -> Duration? {
        let (effects, next) = core.deadlinesPassed(now: instant, takeStarts: true)
        for start in effects.starts {
            let discovery = self.discovery
            let abort = discoveryAborts.start(start.id)
            group.addTask {
                let outcome: RPCHandlerCore.DiscoveryOutcome
                switch await raceAgainstAbort(abort, { try await discovery.discover(start.service) }) {
                case .finished(let providers): outcome = .found(providers)
                case .failed(let error): outcome = .failed(String(describing: error))
                case .interrupted: outcome = .interrupted
                }
                await self.discoveryFinished(start.id, service: start.service, outcome: outcome)
            }
        }
        perform(effects, fromLoop: true)
        return next
    }

    func discoveryFinished(_ id: UInt32, service: String, outcome: RPCHandlerCore.DiscoveryOutcome) {
        discoveryAborts.finished(id)
        var outcome = outcome
        if case .found(let providers) = outcome, !providers.isEmpty {
            // Cache first: the callers get what the registry kept (it may cut the list).
            let kept = registry.assumeIsolated { registry -> [ServiceProvider]? in
                try? registry.cacheProviders(providers, for: service)
                return registry.cachedProviders(for: service)
            }
            if let kept, !kept.isEmpty { outcome = .found(kept) }
        }
        perform(core.discoveryFinished(id, outcome: outcome, now: now()))
    }

    /// `fromLoop`: `run()`'s loop computes its next wake-up itself, so no signal.
    @inline(never)
    func perform(_ effects: RPCHandlerCore.Effects, fromLoop: Bool = false) {
        for id in effects.aborts { discoveryAborts.abort(id) }
        for attempt in effects.abandoned { transport.abandon(attempt.id, attempt: attempt.attempt) }
        if effects.wakeLoop && !fromLoop { wakeUp.signal() }
        if effects.attemptTimeouts > 0 {
            report(.event(.attemptTimedOut, effects.attemptTimeouts))
        }
        if effects.attemptFailures > 0 {
            report(.event(.attemptFailed, effects.attemptFailures))
        }
        if effects.failovers > 0 {
            report(.event(.failover, effects.failovers))
        }
        guard !effects.resumes.isEmpty else { return }
        var tally = RemovalTally()
        for resume in effects.resumes {
            if resume.waiter?.finish(resume.step) == true {
                if let removal = resume.removal { tally.add(removal) }
            } else if resume.removal != nil {
                // Its cancellation resumed the caller first; the caller finds nothing to remove.
                tally.add(.callerCancelled)
            }
        }
        for removal in RPCHandlerCore.Removal.allCases {
            report(.removed(tally[removal], removal.reason))
        }
    }
}
