import Foundation

/// Writes and reads the samples of a run as CSV (RFC 4180: comma-separated, a header line, fields
/// with a comma, a quote or a line break quoted, quotes doubled).
///
/// Columns: `world, time_s, resident_bytes, heap_bytes, pressure, spike`, then for each
/// ``DemoComponent`` in declaration order `<name>, <name>_limit, <name>_base`. A limit that does
/// not exist (the unbounded world) and a component that was not measured are empty fields.
package enum SampleCSV {
    /// Why a CSV could not be read back.
    package struct ReadError: Error, Hashable, Sendable, CustomStringConvertible {
        /// The 1-based line of the problem.
        package var line: Int
        /// What is wrong.
        package var reason: String
        package var description: String { "CSV line \(line): \(reason)" }
    }

    /// The header line's fields.
    package static let header: [String] = {
        var fields = ["world", "time_s", "resident_bytes", "heap_bytes", "pressure", "spike"]
        for component in DemoComponent.allCases {
            fields += [component.rawValue, "\(component.rawValue)_limit", "\(component.rawValue)_base"]
        }
        return fields
    }()

    /// The CSV text of `samples`, each labeled with its world, header first.
    /// - Complexity: O(samples × components).
    package static func render(_ runs: [(world: String, samples: [Sample])]) -> String {
        var lines = [line(header)]
        for run in runs {
            for sample in run.samples {
                lines.append(line(fields(of: sample, world: run.world)))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One sample's fields, in ``header`` order.
    package static func fields(of sample: Sample, world: String) -> [String] {
        var fields = [
            world,
            String(format: "%.3f", sample.time),
            String(sample.residentBytes),
            String(sample.heapBytes),
            sample.pressure,
            sample.spikeHeld ? "1" : "0",
        ]
        for component in DemoComponent.allCases {
            let reading = sample.components[component]
            fields.append(reading.map { String($0.size) } ?? "")
            fields.append(reading?.effectiveLimit.map(String.init) ?? "")
            fields.append(reading?.baseLimit.map(String.init) ?? "")
        }
        return fields
    }

    /// Parses text produced by ``render(_:)``.
    /// - Returns: the samples of each world, in the order the worlds first appear.
    /// - Throws: ``ReadError`` for a missing or different header, a short row or a bad number.
    package static func parse(_ text: String) throws(ReadError) -> [(world: String, samples: [Sample])] {
        let rows = records(text)
        guard let first = rows.first, first == header else {
            throw ReadError(line: 1, reason: "the header is not the samples header")
        }
        var order: [String] = []
        var byWorld: [String: [Sample]] = [:]
        for (offset, row) in rows.dropFirst().enumerated() {
            let lineNumber = offset + 2
            guard row.count == header.count else {
                throw ReadError(line: lineNumber, reason: "\(row.count) fields, expected \(header.count)")
            }
            func number<T: LosslessStringConvertible>(_ index: Int, as: T.Type) throws(ReadError) -> T {
                guard let value = T(row[index]) else {
                    throw ReadError(line: lineNumber, reason: "'\(row[index])' in column \(header[index]) is not a number")
                }
                return value
            }
            func optional(_ index: Int) throws(ReadError) -> Int? {
                row[index].isEmpty ? nil : try number(index, as: Int.self)
            }
            var components: [DemoComponent: ComponentReading] = [:]
            for (position, component) in DemoComponent.allCases.enumerated() {
                let base = 6 + position * 3
                guard let size = try optional(base) else { continue }
                components[component] = ComponentReading(size: size, effectiveLimit: try optional(base + 1), baseLimit: try optional(base + 2))
            }
            let sample = Sample(
                time: try number(1, as: Double.self),
                residentBytes: try number(2, as: Int.self),
                heapBytes: try number(3, as: Int.self),
                pressure: row[4],
                spikeHeld: row[5] == "1",
                components: components
            )
            let world = row[0]
            if byWorld[world] == nil { order.append(world) }
            byWorld[world, default: []].append(sample)
        }
        return order.map { ($0, byWorld[$0] ?? []) }
    }

    /// One CSV line from `fields`, quoting where needed.
    package static func line(_ fields: [String]) -> String {
        fields.map(quote).joined(separator: ",")
    }

    /// `field`, quoted when it holds a comma, a quote or a line break.
    package static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Splits CSV text into records of fields, honoring quotes. Empty lines are skipped.
    /// - Complexity: O(characters).
    package static func records(_ text: String) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var quoted = false
        var characters = text.makeIterator()
        var pending: Character? = nil
        func next() -> Character? {
            if let character = pending { pending = nil; return character }
            return characters.next()
        }
        func endRecord() {
            record.append(field)
            field = ""
            if !(record.count == 1 && record[0].isEmpty) { records.append(record) }
            record = []
        }
        while let character = next() {
            if quoted {
                if character == "\"" {
                    if let following = next() {
                        if following == "\"" { field.append("\"") } else { quoted = false; pending = following }
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(character)
                }
                continue
            }
            switch character {
            case "\"" where field.isEmpty: quoted = true
            case ",": record.append(field); field = ""
            case "\n", "\r\n", "\r": endRecord()
            default: field.append(character)
            }
        }
        if !field.isEmpty || !record.isEmpty { endRecord() }
        return records
    }
}
