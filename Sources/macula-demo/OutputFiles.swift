import Foundation
import MaculaDemoSupport
import MaculaMemory

/// The files a run writes: the Prometheus exposition, the samples as CSV, and a summary a soak
/// reads back.
enum OutputFiles {
    struct Written {
        var directory: URL
        var exposition: URL
        var samples: URL
        var summary: URL
    }

    /// Creates `path` (and its parents), or a fresh temporary directory when it is nil.
    static func prepare(_ path: String?) throws -> URL {
        let directory: URL
        if let path {
            directory = URL(fileURLWithPath: path, isDirectory: true)
        } else {
            let formatter = DateFormatter()
            formatter.dateFormat = "yyyyMMdd-HHmmss"
            formatter.locale = Locale(identifier: "en_US_POSIX")
            let name = "macula-demo-\(formatter.string(from: Date()))-\(ProcessInfo.processInfo.processIdentifier)"
            directory = FileManager.default.temporaryDirectory.appendingPathComponent(name, isDirectory: true)
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    static func write(_ result: RunResult, to directory: URL) throws -> Written {
        let files = Written(
            directory: directory,
            exposition: directory.appendingPathComponent("exposition.prom"),
            samples: directory.appendingPathComponent("samples.csv"),
            summary: directory.appendingPathComponent("summary.json")
        )
        try Data(result.snapshot.prometheusText().utf8).write(to: files.exposition)
        try Data(SampleCSV.render([(result.options.world.rawValue, result.samples)]).utf8).write(to: files.samples)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(summary(of: result)).write(to: files.summary)
        return files
    }

    static func summary(of result: RunResult) -> RunSummary {
        var levels: [String] = [MemoryPressureLevel.normal.description]
        for change in result.pressureChanges where !levels.contains(change.to.description) {
            levels.append(change.to.description)
        }
        var highWaterMarks: [String: Int] = [:]
        var finalSizes: [String: Int] = [:]
        for (component, reading) in result.finalSample.components {
            finalSizes[component.rawValue] = reading.size
            if let mark = reading.highWaterMark { highWaterMarks[component.rawValue] = mark }
        }
        let samples = result.samples.map(\.residentBytes)
        return RunSummary(
            world: result.options.world.rawValue,
            durationSeconds: result.options.durationSeconds,
            scale: result.options.scale,
            seed: result.options.seed,
            residentStartBytes: result.residentStart,
            residentPeakBytes: max(result.residentStart, samples.max() ?? 0),
            residentEndBytes: result.finalSample.residentBytes,
            highWaterMarks: highWaterMarks,
            finalSizes: finalSizes,
            pressureLevelsSeen: levels,
            spikeStartSeconds: result.spike.bytes > 0 ? result.spike.window.lowerBound : nil,
            spikeEndSeconds: result.spike.bytes > 0 ? result.spike.window.upperBound : nil,
            spikeBytes: result.spike.bytes,
            drainAllowanceSeconds: result.profile.drainAllowance
        )
    }
}
