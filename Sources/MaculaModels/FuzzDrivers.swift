/// What each fuzz harness runs on one input, here so that the model tests can replay the
/// committed corpora and every reproducer a harness found (`Fuzz/corpus/<name>/`) as regular
/// tests. Each throws the first ``Divergence``; a harness traps on it.
package enum FuzzDrivers {
    /// Every harness by name: `pressure`, `clients`, `registry`, `advertisement`, `rpc`, `pool`.
    package static let all: [String: @Sendable (inout ModelRandom) throws(Divergence) -> Void] = [
        "pressure": pressure, "clients": clients, "registry": registry, "advertisement": advertisement, "rpc": rpc,
        "pool": pool,
    ]

    /// A configuration, then readings, failed readings, checks and (un)registrations.
    @Sendable package static func pressure(_ random: inout ModelRandom) throws(Divergence) {
        var run = MemoryPressureModelRun(configuration: MemoryPressureModelRun.configuration(&random))
        while !random.isExhausted, run.step < Fuzzing.maximumSteps {
            try run.randomOperation(&random)
        }
    }

    /// Limits, then client manager operations, then a shutdown.
    @Sendable package static func clients(_ random: inout ModelRandom) throws(Divergence) {
        var run: ClientsModelRun
        do {
            // Limits from the input too: no waiting at all (0 waiters), one client, one stream.
            run = try ClientsModelRun(
                running: Bool.random(using: &random),
                maximumClients: Int.random(in: 1...6, using: &random),
                maximumStreams: Int.random(in: 1...3, using: &random),
                maximumWaiters: Int.random(in: 0...4, using: &random)
            )
        } catch {
            throw Divergence("the configuration is invalid: \(error)")
        }
        while !random.isExhausted, run.step < Fuzzing.maximumSteps {
            try run.randomOperation(&random)
        }
        try run.shutdown()
    }

    /// Registry operations.
    @Sendable package static func registry(_ random: inout ModelRandom) throws(Divergence) {
        var run: ServiceRegistryModelRun
        do {
            run = try ServiceRegistryModelRun()
        } catch {
            throw Divergence("the configuration is invalid: \(error)")
        }
        while !random.isExhausted, run.step < Fuzzing.maximumSteps {
            try run.randomOperation(&random)
        }
    }

    /// Intervals and a limit, then advertisement operations.
    @Sendable package static func advertisement(_ random: inout ModelRandom) throws(Divergence) {
        var run: AdvertisementModelRun
        do {
            run = try AdvertisementModelRun(random: random)
        } catch {
            throw Divergence("the configuration is invalid: \(error)")
        }
        while !run.random.isExhausted, run.step < Fuzzing.maximumSteps {
            run.step += 1
            run.randomOperation()
            run.compareState()
            if let failure = run.failure { throw Divergence(failure) }
        }
    }

    /// RPC handler operations with limit and pressure changes, then a shutdown.
    @Sendable package static func rpc(_ random: inout ModelRandom) throws(Divergence) {
        var run: RPCModelRun
        do {
            run = try RPCModelRun(varyLimits: true)
        } catch {
            throw Divergence("the configuration is invalid: \(error)")
        }
        while !random.isExhausted, run.step < Fuzzing.maximumSteps {
            try run.randomOperation(&random)
        }
        try run.shutdown()
    }

    /// A limit and a waiter bound, then pool operations, then a shutdown after which every
    /// connect reports.
    @Sendable package static func pool(_ random: inout ModelRandom) throws(Divergence) {
        var run: PoolModelRun
        do {
            run = try PoolModelRun(random: random)
        } catch {
            throw Divergence("the configuration is invalid: \(error)")
        }
        var step = 0
        while !run.random.isExhausted, step < Fuzzing.maximumSteps {
            run.step()
            run.compare(step: step)
            if let failure = run.failure { throw Divergence("step \(step): \(failure)") }
            step += 1
        }
        run.finish()
        if let failure = run.failure { throw Divergence(failure) }
    }
}
