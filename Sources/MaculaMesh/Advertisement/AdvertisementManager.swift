/// Keeps this node's service advertisements alive and its registry clean: ``run()`` refreshes and
/// republishes each advertisement through the ``ServicePublisher`` every `reAdvertiseInterval`
/// until it is withdrawn, and prunes the ``ServiceRegistry`` every `cleanupInterval`. Behavior:
/// `architecture/memory_management_service_cleanup.md`.
public actor AdvertisementManager: MemoryManaged {
    /// The name in metrics and logs: ``AdvertisementManagerConfiguration/componentName``.
    public nonisolated let componentName: String
    /// The registry that holds the advertisements; its clock drives the manager.
    public nonisolated let registry: ServiceRegistry
    /// The configuration the manager was created with.
    public nonisolated let configuration: AdvertisementManagerConfiguration

    private let publisher: any ServicePublisher
    private let logHandler: any ComponentLogHandler
    private let report: Reporter
    private var core: AdvertisementManagerCore
    private let wakeUp = DeadlineSignal()
    private var publishAborts = Aborts<UInt64>()

    /// The registry's executor, so the manager's state and the registry's change in one step.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { registry.unownedExecutor }

    private var clock: ComponentClock { registry.clock }

    /// Creates a manager for `registry`'s local advertisements. It uses the registry's clock.
    /// - Parameters:
    ///   - configuration: intervals, TTL, timeouts, the limit and the component name.
    ///   - metrics: receives rejections and publish events.
    ///   - log: receives cleanup results and publish failures; drops them by default.
    ///   - registry: where the advertisements live.
    ///   - publisher: publishes each advertisement to the mesh.
    /// - Throws: ``ConfigurationError`` naming the first invalid field of `configuration`.
    public init(
        configuration: AdvertisementManagerConfiguration = .init(),
        metrics: any MemoryMetrics = NoMemoryMetrics(),
        log: any ComponentLogHandler = NoComponentLog(),
        registry: ServiceRegistry,
        publisher: any ServicePublisher
    ) throws(ConfigurationError) {
        self.core = try AdvertisementManagerCore(configuration: configuration)
        self.registry = registry
        self.configuration = configuration
        self.publisher = publisher
        self.logHandler = log
        self.report = Reporter(component: configuration.componentName, metrics: metrics, log: log)
        self.componentName = configuration.componentName
    }

    /// Advertises `service` as provided by this node and keeps it alive until it is withdrawn. The
    /// local advertisement is in the registry when this returns; `run()` publishes it. Advertising
    /// again with another provider or TTL cancels a publish in flight and publishes again at once.
    /// - Parameters:
    ///   - service: the service name.
    ///   - provider: this node, as it should be reached for `service`.
    ///   - ttl: the advertisement's TTL; `configuration.advertisementTTL` (300 s) by default.
    /// - Throws: ``AdvertisementError/invalidTTL``, ``AdvertisementError/limitReached`` (when
    ///   `service` is new); nothing changes then.
    /// - Complexity: O(log n).
    public func advertise(_ service: String, provider: ServiceProvider, ttl: Duration? = nil) throws(AdvertisementError) {
        let now = clock.now
        let ttl = ttl ?? configuration.advertisementTTL
        switch core.admit(service, ttl: ttl) {
        case .admitted:
            break
        case .invalidTTL:
            throw .invalidTTL(
                service: service,
                detail: "\(ttl) must be longer than reAdvertiseInterval (\(configuration.reAdvertiseInterval)) and at most \(ConfigurationError.maximumDuration)"
            )
        case .rejectedAtLimit(let limit):
            report(.rejected(.limitReached))
            throw .limitReached(service: service, detail: "the manager keeps at most \(limit) advertisements")
        }
        let advertisement = ServiceAdvertisement(service: service, provider: provider, ttl: ttl)
        if let refusal = refreshLocally(advertisement, now: now) {
            throw .limitReached(service: service, detail: refusal.description)
        }
        switch core.advertised(advertisement, now: now) {
        case .unchanged:
            break
        case .scheduled(let wakeLoop, let abort):
            if let abort { publishAborts.abort(abort) }
            if wakeLoop { wakeUp.signal() }
        }
    }

    /// Stops keeping `service` alive at once (a publish in flight is cancelled) and withdraws its
    /// local advertisement; the remote copy expires after its TTL. A no-op for an unknown service.
    /// - Returns: whether the manager kept `service`.
    /// - Complexity: O(log n).
    @discardableResult
    public func withdraw(_ service: String) -> Bool {
        let now = clock.now
        switch core.withdrawn(service) {
        case .unknown:
            return false
        case .removed(_, let abort):
            if let abort { publishAborts.abort(abort) }
            _ = registry.assumeIsolated { registry in registry.withdraw(service, at: now) }
            report(.removed(1, .removed))
            return true
        }
    }

    /// The advertisement the manager keeps for `service`, if any. - Complexity: O(1).
    public func advertisement(for service: String) -> ServiceAdvertisement? {
        core.records[service]?.advertisement
    }

    /// Every advertisement the manager keeps, in no particular order. - Complexity: O(n).
    public func advertisements() -> [ServiceAdvertisement] {
        core.records.values.map(\.advertisement)
    }

    /// Drives the cleanup tick, the re-advertisements and the publish timeouts until its task is
    /// cancelled, then cancels and awaits every publish in flight and returns.
    /// - Throws: ``AdvertisementError/alreadyRunning`` when another `run()` of this manager is
    ///   running. Cancellation is not an error.
    public func run() async throws(AdvertisementError) {
        switch core.runStarted(now: clock.now) {
        case .alreadyRunning:
            throw .alreadyRunning
        case .started:
            break
        }
        await withDiscardingTaskGroup { group in
            defer { publishAborts.abortAll() }
            await runDeadlineLoop(clock: clock, signal: wakeUp) { now in
                deadlinesPassed(now: now, group: &group)
            }
            group.cancelAll()
        }
        core.runEnded(now: clock.now)
    }

    private func deadlinesPassed(now: Duration, group: inout DiscardingTaskGroup) -> Duration? {
        let (actions, next) = core.deadlinesPassed(now: now)
        for action in actions {
            switch action {
            case .cleanup:
                cleanup(now: now)
            case .refresh(let advertisement):
                refreshOnSchedule(advertisement, now: now)
            case .refreshAndPublish(let advertisement, let attempt):
                refreshOnSchedule(advertisement, now: now)
                let publisher = self.publisher
                let abort = publishAborts.start(attempt)
                group.addTask {
                    let outcome: AdvertisementManagerCore.PublishOutcome
                    switch await raceAgainstAbort(abort, { try await publisher.publish(advertisement) }) {
                    case .finished: outcome = .published
                    case .failed(let error): outcome = .failed(error)
                    case .interrupted: outcome = .interrupted
                    }
                    await self.publishFinished(advertisement.service, attempt: attempt, outcome: outcome)
                }
            case .abortTimedOut(let advertisement, let attempt):
                publishAborts.abort(attempt)
                report(.event(.advertisementPublishTimedOut, 1))
                log(.warning, .publishTimedOut, "publishing '\(advertisement.service)' took longer than \(configuration.publishTimeout); cancelled, will retry", [
                    "service": advertisement.service,
                    "timeout": "\(configuration.publishTimeout)",
                ])
            }
        }
        return next
    }

    private func publishFinished(
        _ service: String,
        attempt: UInt64,
        outcome: AdvertisementManagerCore.PublishOutcome
    ) {
        publishAborts.finished(attempt)
        switch core.publishFinished(service, attempt: attempt, outcome: outcome, now: clock.now) {
        case .stale:
            break
        case .published(let advertisement):
            report(.event(.advertisementPublished, 1))
            log(.debug, .published, "published '\(advertisement.service)'", ["service": advertisement.service])
        case .failed(let advertisement, let error, let failures, let retryIn, let wakeLoop):
            report(.event(.advertisementPublishFailed, 1))
            log(.warning, .publishFailed, "publishing '\(advertisement.service)' failed: \(error); retrying in \(retryIn)", [
                "service": advertisement.service,
                "error": "\(error)",
                "failures": "\(failures)",
                "retry_in": "\(retryIn)",
            ])
            if wakeLoop { wakeUp.signal() }
        case .timedOutRetry(_, let wakeLoop), .republish(let wakeLoop):
            if wakeLoop { wakeUp.signal() }
        }
    }

    /// The number of advertisements kept, against `maximumAdvertisements`. - Complexity: O(1).
    public func memoryUsage() -> MemoryUsage { core.usage() }

    /// Sets the most advertisements the manager keeps; over it new ones are refused, none evicted.
    /// - Throws: ``ConfigurationError`` when `limit < 1`; nothing changes then.
    /// - Complexity: O(1).
    public func setLimit(_ limit: Int) throws(ConfigurationError) {
        try core.setLimit(limit)
    }

    /// Sets the pressure scale: over the scaled limit, new advertisements are refused.
    /// - Complexity: O(1).
    public func setPressureScale(_ scale: Double) {
        core.setPressureScale(scale)
    }

    /// Removes nothing and returns 0: a kept advertisement never expires. The registry prunes
    /// itself (``ServiceRegistry/prune()``, which `run()` calls every cleanup interval).
    /// - Complexity: O(1).
    public func prune() -> Int { 0 }

    /// - Returns: the registry's refusal, if any.
    private func refreshLocally(_ advertisement: ServiceAdvertisement, now: Duration) -> ServiceRegistryError? {
        registry.assumeIsolated { registry -> ServiceRegistryError? in
            do throws(ServiceRegistryError) {
                try registry.advertise(advertisement.service, provider: advertisement.provider, ttl: advertisement.ttl, at: now)
                return nil
            } catch {
                return error
            }
        }
    }

    private func refreshOnSchedule(_ advertisement: ServiceAdvertisement, now: Duration) {
        guard let refusal = refreshLocally(advertisement, now: now) else { return }
        log(.warning, .refreshRefused, "could not refresh the local advertisement of '\(advertisement.service)': \(refusal)", [
            "service": advertisement.service,
            "error": refusal.description,
        ])
    }

    @discardableResult
    private func cleanup(now: Duration) -> Int {
        let removed = registry.assumeIsolated { registry in registry.prune(at: now) }
        report(.event(.cleanupPass, 1))
        if removed > 0 {
            log(.info, .cleanupFinished, "removed \(removed) expired service entries", ["removed": "\(removed)"])
        } else {
            log(.debug, .cleanupFinished, "no expired service entries", ["removed": "0"])
        }
        return removed
    }

    private func log(
        _ level: ComponentLogEvent.Level,
        _ kind: ComponentLogEvent.Kind,
        _ message: String,
        _ metadata: [String: String]
    ) {
        logHandler.log(ComponentLogEvent(level: level, kind: kind, component: componentName, message: message, metadata: metadata))
    }
}
