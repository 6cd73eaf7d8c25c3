import Foundation
import MaculaMemory
import Testing

@Suite("MemorySnapshot Codable")
struct MemorySnapshotCodableTests {
    @Test("labels encode as their names, counts as objects keyed by them, and decode back")
    func roundTrip() throws {
        var stats = ComponentStats(
            name: "pool", usage: MemoryUsage(size: 2, effectiveLimit: 5, baseLimit: 10, pressureScale: 0.5, highWaterMark: 7)
        )
        stats.removals = [.evicted: 5, .dead: 1]
        stats.rejections = [.limitReached: 2]
        stats.events = [MemoryEvent("failover"): 3]
        let snapshot = MemorySnapshot(
            components: [stats, ComponentStats(name: "gone")], pressureLevel: .medium,
            pressureReading: MemoryReading(usedBytes: 900, limitBytes: 1_000), pressureLevelChanges: [.medium: 1]
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(snapshot), as: UTF8.self)
        #expect(json.contains(#""removals":{"dead":1,"evicted":5}"#))
        #expect(json.contains(#""rejections":{"limit_reached":2}"#))
        #expect(json.contains(#""events":{"failover":3}"#))
        #expect(json.contains(#""pressureLevel":"medium""#))
        #expect(json.contains(#""pressureLevelChanges":{"medium":1}"#))

        let decoded = try JSONDecoder().decode(MemorySnapshot.self, from: Data(json.utf8))
        #expect(decoded.components.map(\.name) == ["pool", "gone"])
        #expect(decoded.components[0].usage == stats.usage)
        #expect(decoded.components[0].removals == stats.removals)
        #expect(decoded.components[0].rejections == stats.rejections)
        #expect(decoded.components[0].events == stats.events)
        #expect(decoded.components[1].usage == nil)
        #expect(decoded.pressureLevel == .medium)
        #expect(decoded.pressureReading == snapshot.pressureReading)
        #expect(decoded.pressureLevelChanges == [.medium: 1])
    }

    @Test("each label type is Codable on its own")
    func labels() throws {
        let encoded = try JSONEncoder().encode([RemovalReason.evicted: 1])
        #expect(String(decoding: encoded, as: UTF8.self) == #"{"evicted":1}"#)
        #expect(try JSONDecoder().decode([RejectionReason].self, from: Data(#"["limit_reached"]"#.utf8)) == [.limitReached])
        #expect(try JSONDecoder().decode(MemoryEvent.self, from: Data(#""failover""#.utf8)) == MemoryEvent("failover"))
    }

    @Test("an unknown pressure level does not decode")
    func unknownLevel() {
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([MemoryPressureLevel].self, from: Data(#"["severe"]"#.utf8))
        }
    }
}
