/// A small parser of the Prometheus text format, to read the exposition back in tests.
struct PrometheusSamples {
    struct Family { var help: String?; var type: String? }

    private(set) var samples: [String: [[String: String]: Double]] = [:]
    private(set) var families: [String: Family] = [:]
    /// Lines that did not parse, or samples that came before their family's HELP and TYPE.
    private(set) var problems: [String] = []

    init(parsing text: String) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty { continue }
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ", maxSplits: 1)
                let name = String(parts[0])
                let value = parts.count > 1 ? String(parts[1]) : ""
                if line.hasPrefix("# HELP ") { families[name, default: Family()].help = value } else { families[name, default: Family()].type = value }
                continue
            }
            guard let (name, labels, value) = Self.parseSample(Substring(line)) else {
                problems.append("unparsable: \(line)")
                continue
            }
            if families[name]?.help == nil || families[name]?.type == nil {
                problems.append("sample before HELP/TYPE: \(line)")
            }
            samples[name, default: [:]][labels] = value
        }
    }

    subscript(name: String, labels: [String: String]) -> Double? { samples[name]?[labels] }

    private static func parseSample(_ line: Substring) -> (String, [String: String], Double)? {
        var index = line.startIndex
        while index < line.endIndex, line[index] != "{", line[index] != " " { index = line.index(after: index) }
        let name = String(line[line.startIndex..<index])
        var labels: [String: String] = [:]
        if index < line.endIndex, line[index] == "{" {
            index = line.index(after: index)
            while index < line.endIndex, line[index] != "}" {
                let nameStart = index
                while index < line.endIndex, line[index] != "=" { index = line.index(after: index) }
                let labelName = String(line[nameStart..<index])
                index = line.index(index, offsetBy: 2) // ="
                var value = ""
                while index < line.endIndex, line[index] != "\"" {
                    if line[index] == "\\" {
                        index = line.index(after: index)
                        switch line[index] {
                        case "n": value.append("\n")
                        default: value.append(line[index])
                        }
                    } else {
                        value.append(line[index])
                    }
                    index = line.index(after: index)
                }
                labels[labelName] = value
                index = line.index(after: index) // closing quote
                if index < line.endIndex, line[index] == "," { index = line.index(after: index) }
            }
            index = line.index(after: index) // }
        }
        guard index < line.endIndex, line[index] == " " else { return nil }
        guard let value = Double(line[line.index(after: index)...]) else { return nil }
        return (name, labels, value)
    }
}
