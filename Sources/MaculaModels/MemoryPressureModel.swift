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
    /// limit) or a failed reading; then the two are compared.
    package mutating func randomOperation(_ random: inout ModelRandom) throws(Divergence) {
        step += 1
        if Int.random(in: 0..<8, using: &random) == 0 {
            let warns = core.readingFailed()
            try check(warns == model.readingFailed(), "step \(step): readingFailed warns \(warns), model \(!warns)")
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
