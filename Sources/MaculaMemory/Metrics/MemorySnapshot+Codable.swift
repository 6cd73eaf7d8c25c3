// `MemorySnapshot` (with `ComponentStats`, `MemoryUsage`, `MemoryReading`) encodes as plain JSON,
// for a `/debug/memory` endpoint say: every label (reason, event, pressure level) as its
// snake_case name, and every count keyed by it, as an object.
//
//     {"components":[{"name":"pool","usage":{"size":2,…},"removals":{"evicted":5},
//      "rejections":{},"events":{"failover":1}}],"pressureLevel":"normal",
//      "pressureReading":{"usedBytes":…},"pressureLevelChanges":{"medium":1}}

/// A dictionary key made from a label's name.
private struct LabelKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// The label types, each a snake_case name.
protocol NamedLabel: Codable, CodingKeyRepresentable {
    var name: String { get }
    init(_ name: String)
}

extension NamedLabel {
    public init(from decoder: any Decoder) throws { self.init(try String(from: decoder)) }
    public func encode(to encoder: any Encoder) throws { try name.encode(to: encoder) }
    public var codingKey: any CodingKey { LabelKey(stringValue: name) }
    public init?<Key: CodingKey>(codingKey: Key) { self.init(codingKey.stringValue) }
}

extension RemovalReason: NamedLabel {}
extension RejectionReason: NamedLabel {}
extension MemoryEvent: NamedLabel {}

/// Encodes as its ``description``; decoding any other string throws `DecodingError.dataCorrupted`.
extension MemoryPressureLevel: Codable, CodingKeyRepresentable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let level = Self(named: name) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "no pressure level '\(name)'")
        }
        self = level
    }

    public func encode(to encoder: any Encoder) throws { try description.encode(to: encoder) }
    public var codingKey: any CodingKey { LabelKey(stringValue: description) }
    public init?<Key: CodingKey>(codingKey: Key) { self.init(named: codingKey.stringValue) }

    private init?(named name: String) {
        guard let level = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = level
    }
}
