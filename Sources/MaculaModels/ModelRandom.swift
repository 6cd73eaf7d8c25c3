import MaculaMemory

/// Where a model run takes its choices from: a seeded generator (the model tests, which replay
/// exactly from their seed) or a fuzzer's input bytes (the harnesses).
///
/// From input bytes, every call of `next()` takes one byte and repeats it across the 64 bits, so
/// that each choice (`Int.random(in:using:)`, `Bool.random(using:)`, `randomElement(using:)`)
/// depends on one byte and a mutation of that byte changes that choice alone. Past the end of the
/// input ``isExhausted`` is true (a run stops there) and `next()` goes on with a fixed SplitMix64
/// sequence, so that a choice that rejects a value (as `Int.random(in:using:)` may) still ends.
package struct ModelRandom: RandomNumberGenerator, Sendable {
    private var generator: SplitMix64?
    private var afterEnd = SplitMix64(seed: 0)
    private let bytes: [UInt8]
    private var position = 0

    /// Choices from SplitMix64 with `seed`; never exhausted.
    package init(seed: UInt64) {
        generator = SplitMix64(seed: seed)
        bytes = []
    }

    /// Choices from `bytes`, one byte each.
    package init(bytes: [UInt8]) {
        generator = nil
        self.bytes = bytes
    }

    /// Whether every input byte has been used (never, for a seeded generator).
    package var isExhausted: Bool { generator == nil && position >= bytes.count }

    package mutating func next() -> UInt64 {
        if generator != nil { return generator!.next() }
        guard position < bytes.count else { return afterEnd.next() }
        defer { position += 1 }
        return UInt64(bytes[position]) &* 0x0101_0101_0101_0101
    }
}

/// A model run found the core and its model disagreeing, or the core breaking an invariant.
package struct Divergence: Error, CustomStringConvertible, Sendable {
    package var description: String

    package init(_ description: String) { self.description = description }
}

/// Throws a ``Divergence`` with `message` unless `condition` holds.
package func check(_ condition: Bool, _ message: @autoclosure () -> String) throws(Divergence) {
    if !condition { throw Divergence(message()) }
}

/// The value, or a ``Divergence`` with `message` when it is nil.
package func unwrap<T>(_ value: T?, _ message: @autoclosure () -> String) throws(Divergence) -> T {
    guard let value else { throw Divergence(message()) }
    return value
}
