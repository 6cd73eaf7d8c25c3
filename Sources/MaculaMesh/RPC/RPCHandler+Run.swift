// run(): the one deadline loop (one sleeper on the clock) and the task group the shared
// discoveries run in; and carrying out the core's effects.

extension RPCHandler {
    /// Drives every deadline of the handler with one sleeper on the registry's clock, and runs the
    /// discoveries, until the calling task is cancelled; then fails whatever is pending with
    /// ``RPCError/notRunning``, cancels and awaits the discoveries in flight, and returns. The
    /// shape of swift-service-lifecycle's `Service.run()`. May be called again after it returns.
    ///
    /// Start order does not matter: calls made before it started are pending still; their
    /// discoveries start now, and deadlines already past fire at once, in deadline order (and the
    /// one-time ``ComponentLogEvent/Kind/runNotStarted`` warning is logged). After ``shutdown()``
    /// a running `run()` has nothing left to do and idles (no sleeper) until its task is cancelled.
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
            // Before the group awaits its discoveries: they find themselves dropped.
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
            // Cache first, then hand the callers what the registry kept (it may cut the list).
            let kept = registry.assumeIsolated { registry -> [ServiceProvider]? in
                try? registry.cacheProviders(providers, for: service)
                return registry.cachedProviders(for: service)
            }
            if let kept, !kept.isEmpty { outcome = .found(kept) }
        }
        perform(core.discoveryFinished(id, outcome: outcome, now: now()))
    }

    /// Carries out `effects`. `fromLoop`: called by `run()`'s loop, which computes its next
    /// wake-up itself (a signal would only make it turn once more for nothing).
    @inline(never)
    func perform(_ effects: RPCHandlerCore.Effects, fromLoop: Bool = false) {
        for id in effects.aborts { discoveryAborts.abort(id) }
        if effects.wakeLoop && !fromLoop { wakeUp.signal() }
        if effects.attemptTimeouts > 0 {
            report(.event(.attemptTimedOut, effects.attemptTimeouts))
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
                // Its caller was resumed by its cancellation first: the step is dropped, and the
                // caller finds nothing left to remove.
                tally.add(.callerCancelled)
            }
        }
        for removal in RPCHandlerCore.Removal.allCases {
            report(.removed(tally[removal], removal.reason))
        }
    }
}
