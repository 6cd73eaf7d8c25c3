import MaculaMemory

/// The reference model of `MemoryPressureCore`, written from the documentation: the level after a
/// reading is the highest level whose threshold the reading reaches when that level is above the
/// current one, or whose threshold less the hysteresis margin it reaches when that level is at
/// or below the current one (`normal` always qualifies). A fraction threshold needs a known,
/// positive limit; without one the reading is not judged and the level is kept.
package struct MemoryPressureModel: Sendable {
    package let configuration: MemoryPressureMonitorConfiguration
    package private(set) var level = MemoryPressureLevel.normal
    /// Whether a failure was warned about since the last reading.
    package private(set) var warned = false
    /// The registered components (the run holds them; a dropped one is dead).
    package var registered: Set<ObjectIdentifier> = []

    package init(configuration: MemoryPressureMonitorConfiguration) {
        self.configuration = configuration
    }

    /// The scale of `level`: 1, `mediumScale` or `highScale`.
    package func scale(of level: MemoryPressureLevel) -> Double {
        switch level {
        case .normal: 1
        case .medium: configuration.mediumScale
        case .high: configuration.highScale
        }
    }

    private func thresholds(_ reading: MemoryReading) -> (medium: Double, high: Double)? {
        switch configuration.thresholds {
        case .bytes(let medium, let high):
            return (Double(medium), Double(high))
        case .fractionOfLimit(let medium, let high):
            guard let limit = reading.limitBytes, limit > 0 else { return nil }
            return (Double(limit) * medium, Double(limit) * high)
        }
    }

    /// The level change `reading` makes, as the core's action.
    package mutating func readingTaken(_ reading: MemoryReading) -> MemoryPressureCore.Action {
        warned = false
        guard let (medium, high) = thresholds(reading) else { return .unjudged }
        let used = Double(reading.usedBytes)
        let margin = 1 - configuration.hysteresis
        let qualifying = [MemoryPressureLevel.normal, .medium, .high].filter { candidate in
            let threshold = switch candidate {
            case .normal: -Double.infinity
            case .medium: medium
            case .high: high
            }
            return candidate > level ? used >= threshold : used >= threshold * margin
        }
        let next = qualifying.max()!
        guard next != level else { return .none }
        defer { level = next }
        return .applyLevel(from: level, to: next, scale: scale(of: next))
    }

    /// A reading failed: warn for the first failure since a reading.
    package mutating func readingFailed() -> Bool {
        defer { warned = true }
        return !warned
    }
}

/// A configuration, the core and the model side by side, driven by random readings and failures.
package struct MemoryPressureModelRun: Sendable {
    package private(set) var core: MemoryPressureCore
    package private(set) var model: MemoryPressureModel
    package private(set) var step = 0
    /// The components alive (held here), by identity; the core holds them weakly.
    var alive: [ObjectIdentifier: ModelComponent] = [:]
    var lastComponent = 0

    /// A valid configuration drawn from `random`: byte or fraction thresholds, any hysteresis in
    /// [0, 1), scales in (0, 1].
    package static func configuration(_ random: inout ModelRandom) -> MemoryPressureMonitorConfiguration {
        var configuration = MemoryPressureMonitorConfiguration()
        if Bool.random(using: &random) {
            let medium = Int.random(in: 1...2_000, using: &random)
            configuration.thresholds = .bytes(medium: medium, high: medium + Int.random(in: 1...2_000, using: &random))
        } else {
            let medium = Double(Int.random(in: 1...98, using: &random)) / 100
            let high = min(1, medium + Double(Int.random(in: 1...99, using: &random)) / 100)
            configuration.thresholds = .fractionOfLimit(medium: medium, high: high)
        }
        configuration.hysteresis = [0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.999][Int.random(in: 0...6, using: &random)]
        configuration.mediumScale = Double(Int.random(in: 1...100, using: &random)) / 100
        configuration.highScale = Double(Int.random(in: 1...100, using: &random)) / 100
        return configuration
    }

    package init(configuration: MemoryPressureMonitorConfiguration) {
        core = MemoryPressureCore(configuration: configuration)
        model = MemoryPressureModel(configuration: configuration)
    }

    /// One random operation: a reading (often near a threshold, sometimes extreme or without a
    /// limit) or a failed reading, taken alone or as the monitor's check; a component registered,
    /// registered again, unregistered (known or not) or dropped; then the two are compared.
    package mutating func randomOperation(_ random: inout ModelRandom) throws(Divergence) {
        step += 1
        let roll = Int.random(in: 0..<16, using: &random)
        if roll == 0 {
            let warns = core.readingFailed()
            try check(warns == model.readingFailed(), "step \(step): readingFailed warns \(warns), model \(!warns)")
        } else if roll < 4 {
            try component(&random)
        } else if roll < 8 {
            try checked(&random)
        } else {
            let reading = Self.reading(&random, configuration: model.configuration)
            let action = core.readingTaken(reading)
            let expected = model.readingTaken(reading)
            try check(action == expected, "step \(step): reading \(reading): core \(action), model \(expected)")
        }
        try check(core.level == model.level, "step \(step): level \(core.level), model \(model.level)")
        try check(core.scale == model.scale(of: model.level), "step \(step): scale \(core.scale), model \(model.scale(of: model.level))")
        try check(core.readingFailing == model.warned, "step \(step): failing \(core.readingFailing), model \(model.warned)")
    }

    /// Registers a new component or one again, unregisters one (or an unknown ID), or drops one
    /// (the core keeps it weakly: it must not come back in a check).
    mutating func component(_ random: inout ModelRandom) throws(Divergence) {
        let known = alive.keys.sorted { "\($0)" < "\($1)" }
        switch Int.random(in: 0..<5, using: &random) {
        case 0, 1:
            let component: ModelComponent
            if let id = known.randomElement(using: &random), Bool.random(using: &random) {
                component = alive[id]!
            } else {
                lastComponent += 1
                component = ModelComponent(name: "component-\(lastComponent)")
                alive[ObjectIdentifier(component)] = component
            }
            let scale = core.register(component)
            model.registered.insert(ObjectIdentifier(component))
            let expected = model.level == .normal ? nil : model.scale(of: model.level)
            try check(scale == expected, "step \(step): register: scale \(String(describing: scale)), model \(String(describing: expected))")
        case 2:
            let id = known.randomElement(using: &random) ?? ObjectIdentifier(ModelComponent.self)
            core.unregister(id)
            model.registered.remove(id)
        default:
            guard let id = known.randomElement(using: &random) else { return }
            alive[id] = nil
            model.registered.remove(id)
        }
        try check(core.registeredCount == model.registered.count,
                  "step \(step): \(core.registeredCount) components registered, model \(model.registered.count)")
    }

    /// The monitor's check: what to report, and on a level change the scale and the live
    /// registered components.
    mutating func checked(_ random: inout ModelRandom) throws(Divergence) {
        let reading: Result<MemoryReading, MemoryReadError> = Int.random(in: 0..<4, using: &random) == 0
            ? .failure(MemoryReadError("unreadable"))
            : .success(Self.reading(&random, configuration: model.configuration))
        let result = core.checked(reading, component: "memory_pressure_monitor")
        var expected: [String] = []
        var scale: Double?
        switch reading {
        case .failure:
            if model.readingFailed() { expected.append("log(\(ComponentLogEvent.Kind.memoryReadingFailed))") }
        case .success(let reading):
            let action = model.readingTaken(reading)
            expected.append("readingTaken(\(model.level))")
            if case .applyLevel(let from, let to, let applied) = action {
                expected += ["levelChanged(\(from), \(to))", "log(\(ComponentLogEvent.Kind.pressureLevelChanged))"]
                scale = applied
            }
        }
        let reports = result.reports.map { report in
            switch report {
            case .readingTaken(_, let level): "readingTaken(\(level))"
            case .levelChanged(let from, let to, _): "levelChanged(\(from), \(to))"
            case .log(let event): "log(\(event.kind))"
            default: "\(report)"
            }
        }
        try check(reports == expected, "step \(step): check of \(reading): reports \(reports), model \(expected)")
        try check(result.scale == scale, "step \(step): check of \(reading): scale \(String(describing: result.scale)), model \(String(describing: scale))")
        let components = Set(result.components.map { ObjectIdentifier($0) })
        let wanted = scale == nil ? [] : model.registered
        try check(components == wanted, "step \(step): check of \(reading): \(components.count) components to scale, model \(wanted.count)")
        try check(result.components.count == components.count, "step \(step): a component to scale twice")
    }

    static func reading(_ random: inout ModelRandom, configuration: MemoryPressureMonitorConfiguration) -> MemoryReading {
        let limit: Int? = switch Int.random(in: 0..<10, using: &random) {
        case 0: nil
        case 1: 0
        case 2: Int.max
        case 3: -1
        default: 1_000 * Int.random(in: 1...4, using: &random)
        }
        let scale = limit.map { max(1, $0 / 1_000) } ?? 1
        let used: Int = switch Int.random(in: 0..<16, using: &random) {
        case 0: 0
        case 1: Int.max
        case 2: -Int.random(in: 1...100, using: &random)
        default: Int.random(in: 0...4_000, using: &random) * (scale > 1_000 ? 1 : scale)
        }
        return MemoryReading(usedBytes: used, limitBytes: limit)
    }
}

/// A registered component for the pressure run: only its identity matters.
actor ModelComponent: MemoryManaged {
    nonisolated let componentName: String

    init(name: String) { componentName = name }

    func memoryUsage() -> MemoryUsage {
        MemoryUsage(size: 0, effectiveLimit: 1, baseLimit: 1, pressureScale: 1, highWaterMark: 0)
    }

    func setLimit(_ limit: Int) throws(ConfigurationError) {}

    func setPressureScale(_ scale: Double) {}

    func prune() -> Int { 0 }
}
