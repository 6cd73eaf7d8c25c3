@testable import MaculaMesh
import MaculaTesting
import Testing

// How the randomized test puts the core's actions and state in comparable form, compares them
// with the model's, and reports a difference.

extension AdvertisementModelRun {
    func instant(_ milliseconds: Int) -> Duration { .milliseconds(milliseconds) }

    func milliseconds(_ instant: Duration) -> Int {
        let (seconds, attoseconds) = instant.components
        return Int(seconds) * 1_000 + Int(attoseconds / 1_000_000_000_000_000)
    }

    /// `12.345s`, and the nanoseconds beyond the millisecond when there are any.
    func show(_ instant: Duration?) -> String {
        guard let instant else { return "none" }
        let (seconds, attoseconds) = instant.components
        let milliseconds = attoseconds / 1_000_000_000_000_000
        let rest = (attoseconds % 1_000_000_000_000_000) / 1_000_000_000
        let fraction = String(milliseconds + 1_000).dropFirst()
        return "\(seconds).\(fraction)s" + (rest == 0 ? "" : "+\(rest)ns")
    }

    func show(_ milliseconds: Int) -> String { show(instant(milliseconds)) }

    func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16, uppercase: true) }

    /// An attempt to abort, by the attempt's ID ("foreign" when the core never issued it).
    func name(_ abort: UInt64?) -> String {
        guard let abort else { return "none" }
        return issued.contains(abort) ? "#\(abort)" : "foreign"
    }

    /// A wake-up of the loop; only a running loop may be woken.
    mutating func wake(_ wakeLoop: Bool) -> AdModelAction.Wake {
        guard wakeLoop else { return .no }
        guard core.lifecycle == .running else { return .foreign }
        wakePending = true
        return .yes
    }

    func describe(_ action: Core.AdmitAction) -> AdModelAction {
        switch action {
        case .admitted: AdModelAction(text: "admitted")
        case .invalidTTL: AdModelAction(text: "invalidTTL")
        case .rejectedAtLimit(let limit): AdModelAction(text: "rejectedAtLimit(\(limit))")
        }
    }

    mutating func describe(_ action: Core.AdvertisedAction) -> AdModelAction {
        switch action {
        case .unchanged: AdModelAction(text: "unchanged")
        case .scheduled(let wakeUp, let abort): AdModelAction(text: "scheduled(abort: \(name(abort)))", wake: wake(wakeUp))
        }
    }

    func describe(_ action: Core.WithdrawnAction) -> AdModelAction {
        switch action {
        case .unknown: AdModelAction(text: "unknown")
        case .removed(let advertisement, let abort): AdModelAction(text: "removed(\(AdModelAction.name(advertisement)), abort: \(name(abort)))")
        }
    }

    mutating func describe(_ action: Core.PublishFinishedAction) -> AdModelAction {
        switch action {
        case .stale:
            AdModelAction(text: "stale")
        case .published(let advertisement):
            AdModelAction(text: "published(\(AdModelAction.name(advertisement)))")
        case .failed(let advertisement, let error, let failures, let retryIn, let wakeUp):
            AdModelAction(
                text: "failed(\(AdModelAction.name(advertisement)), error: \(error), failures: \(failures), retryIn: \(retryIn))",
                wake: wake(wakeUp)
            )
        case .timedOutRetry(let retryIn, let wakeUp):
            AdModelAction(text: "timedOutRetry(retryIn: \(retryIn))", wake: wake(wakeUp))
        case .republish(let wakeUp):
            AdModelAction(text: "republish", wake: wake(wakeUp))
        }
    }

    mutating func fail(_ message: String) {
        guard !failed else { return }
        failed = true
        Issue.record("seed \(hex(seed)), step \(step), after \(operation): \(message)")
    }

    mutating func compare(_ real: [AdModelAction], _ expected: [AdModelAction]) {
        guard real.count != expected.count || zip(expected, real).contains(where: { !$0.allows($1) }) else { return }
        fail("actions differ\n  core:  \(real)\n  model: \(expected)")
    }

    /// The tick's actions must be the model's, in deadline order; deadlines due at the same
    /// instant may come in any order.
    mutating func compareTick(_ real: [AdModelAction], _ expected: [(at: Int, action: AdModelAction)]) {
        var matches = real.count == expected.count
        var start = 0
        while matches, start < expected.count {
            let end = expected[start...].firstIndex { $0.at != expected[start].at } ?? expected.count
            matches = real[start..<end].map(\.text).sorted() == expected[start..<end].map(\.action.text).sorted()
            start = end
        }
        guard !matches else { return }
        let shown = expected.map { "\($0.action) (due \(show($0.at)))" }
        fail("tick actions differ\n  core:  \(real)\n  model: \(shown)")
    }

    /// Everything both sides hold, compared after every step.
    mutating func compareState() {
        guard !failed else { return }
        let realRecords = core.records.keys.sorted().map { describeRecord(core: $0) }
        let modelRecords = model.records.keys.sorted().map { describeRecord(model: $0) }
        if realRecords != modelRecords {
            let removed = realRecords.filter { !modelRecords.contains($0) }.map { "\n  - core:  \($0)" }
            let added = modelRecords.filter { !realRecords.contains($0) }.map { "\n  + model: \($0)" }
            return fail("records differ:" + (removed + added).joined())
        }
        // The services come from a fixed list, so every deadline the core could hold is known.
        for service in services where model.records[service] == nil {
            for id in [Core.DeadlineID.reAdvertise(service), .publishTimeout(service)] {
                if let stray = core.deadlines.deadline(of: id) {
                    return fail("the core holds \(id) at \(show(stray)) for a service it does not keep")
                }
            }
        }
        let realCleanup = core.deadlines.deadline(of: .cleanup)
        if realCleanup != model.cleanupAt.map(instant) {
            return fail("cleanup at \(show(realCleanup)), model \(show(model.cleanupAt.map(instant)))")
        }
        if core.deadlines.count != model.deadlines.count {
            return fail("the core holds \(core.deadlines.count) deadlines, model \(model.deadlines.count)")
        }
        if core.deadlines.first?.deadline != model.earliest.map(instant) {
            return fail("next deadline \(show(core.deadlines.first?.deadline)), model \(show(model.earliest.map(instant)))")
        }
        let running = core.lifecycle == .running
        if running != model.running { return fail("running \(running), model \(model.running)") }
        if core.usage() != model.usage { return fail("usage \(core.usage()), model \(model.usage)") }
        // Never a missed wake-up: the loop sleeps towards `loopTarget` unless woken, so no
        // deadline may be earlier than that without a pending signal.
        if running, !wakePending, let first = core.deadlines.first?.deadline, loopTarget.map({ first < instant($0) }) ?? true {
            fail("the loop sleeps until \(loopTarget.map(show) ?? "signalled") but a deadline at \(show(first)) was added without waking it")
        }
    }

    func describeRecord(core service: String) -> String {
        let record = core.records[service]!
        var attempt = "idle"
        if case .publishing(let current) = record.publication { attempt = "publishing #\(current.id)" }
        return describe(
            record.advertisement,
            attempt: attempt,
            failures: record.failures,
            reAdvertise: core.deadlines.deadline(of: .reAdvertise(service)),
            timeout: core.deadlines.deadline(of: .publishTimeout(service))
        )
    }

    func describeRecord(model service: String) -> String {
        let record = model.records[service]!
        return describe(
            record.advertisement,
            attempt: record.attempt.map { "publishing #\($0.id ?? 0)" } ?? "idle",
            failures: record.failures,
            reAdvertise: instant(record.reAdvertiseAt),
            timeout: record.attempt?.timeoutAt.map(instant)
        )
    }

    func describe(_ advertisement: ServiceAdvertisement, attempt: String, failures: Int, reAdvertise: Duration?, timeout: Duration?) -> String {
        "\(AdModelAction.name(advertisement)) (\(advertisement.provider.address)) \(attempt), \(failures) failures, re-advertise at \(show(reAdvertise)), timeout at \(show(timeout))"
    }
}
