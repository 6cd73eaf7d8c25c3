/// The limit arithmetic every bounded component shares: base limit, pressure scale, the effective
/// limit `max(1, ⌊base × scale⌋)` and the high-water mark. The scale is kept in millionths, so the
/// product is exact: a base of 1,000 at scale 0.9 is 900, never 899.
public struct MemoryBudget: Sendable, Hashable {
    /// The limit the operator configured.
    public private(set) var baseLimit: Int
    /// The scale the pressure monitor set, in (0, 1]; 1 when there is no pressure.
    public var pressureScale: Double { Double(scalePPM) / Self.ppm }
    /// `max(1, ⌊baseLimit × pressureScale⌋)`.
    public private(set) var effectiveLimit: Int
    /// The largest size recorded with ``recordSize(_:)`` since the component was created.
    public private(set) var highWaterMark: Int = 0

    private var scalePPM: Int = 1_000_000
    private static let ppm = 1_000_000.0

    /// Creates a budget with `baseLimit` and scale 1.
    /// - Parameters:
    ///   - baseLimit: the operator's limit; at least 1.
    ///   - field: the configuration field named in the error when `baseLimit` is invalid.
    /// - Throws: ``ConfigurationError`` when `baseLimit < 1`.
    public init(baseLimit: Int, field: String = "limit") throws(ConfigurationError) {
        try ConfigurationError.require(baseLimit, atLeast: 1, field: field)
        self.baseLimit = baseLimit
        self.effectiveLimit = baseLimit
    }

    /// - Throws: ``ConfigurationError`` naming `field` when `limit < 1`; the budget is unchanged.
    /// - Complexity: O(1).
    public mutating func setBaseLimit(_ limit: Int, field: String = "limit") throws(ConfigurationError) {
        try ConfigurationError.require(limit, atLeast: 1, field: field)
        baseLimit = limit
        recompute()
    }

    /// Sets the pressure scale, clamped into (0, 1]: 0 or less becomes one millionth, above 1 or
    /// NaN becomes 1.
    /// - Complexity: O(1).
    public mutating func setPressureScale(_ scale: Double) {
        if scale.isNaN || scale >= 1 {
            scalePPM = 1_000_000
        } else if scale <= 0 {
            scalePPM = 1
        } else {
            scalePPM = max(1, Int((scale * Self.ppm).rounded()))
        }
        recompute()
    }

    /// Raises the high-water mark when `size` exceeds it.
    /// - Complexity: O(1).
    @inline(__always)
    public mutating func recordSize(_ size: Int) {
        if size > highWaterMark { highWaterMark = size }
    }

    /// The usage report for a component of this budget currently holding `size` entries.
    public func usage(size: Int) -> MemoryUsage {
        MemoryUsage(
            size: size,
            effectiveLimit: effectiveLimit,
            baseLimit: baseLimit,
            pressureScale: pressureScale,
            highWaterMark: max(highWaterMark, size)
        )
    }

    /// Exact up to `Int.max`: the product is taken in 128 bits, and `scalePPM` ≤ 1,000,000.
    private mutating func recompute() {
        let product = baseLimit.multipliedFullWidth(by: scalePPM)
        let (scaled, _) = 1_000_000.dividingFullWidth(product)
        effectiveLimit = max(1, scaled)
    }
}

/// What a bounded component reports about its size and limits.
public struct MemoryUsage: Sendable, Hashable, Codable {
    /// Entries held now.
    public var size: Int
    /// The limit enforced now: `max(1, ⌊baseLimit × pressureScale⌋)`.
    public var effectiveLimit: Int
    /// The limit the operator configured.
    public var baseLimit: Int
    /// The scale the pressure monitor set, in (0, 1].
    public var pressureScale: Double
    /// The largest size the component has held.
    public var highWaterMark: Int

    /// Creates a usage report.
    public init(size: Int, effectiveLimit: Int, baseLimit: Int, pressureScale: Double, highWaterMark: Int) {
        self.size = size
        self.effectiveLimit = effectiveLimit
        self.baseLimit = baseLimit
        self.pressureScale = pressureScale
        self.highWaterMark = highWaterMark
    }
}
