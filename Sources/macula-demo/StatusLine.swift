import Foundation
import MaculaDemoSupport
import MaculaMemory
import Synchronization

/// Writes to the standard streams without stdio's buffer, so that the status line, the report
/// and a soak's child processes interleave in order.
enum Console {
    /// Whether standard output is a terminal (then the status line updates in place).
    static let isTerminal = isatty(1) != 0

    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    static func line(_ text: String = "") { out(text + "\n") }

    /// The terminal's width in columns (80 when it cannot be read), so that the status line never
    /// wraps: a wrapped line cannot be rewritten in place with a carriage return.
    static func terminalColumns() -> Int {
        var size = winsize()
        #if os(Linux)
        let request = UInt(0x5413)  // TIOCGWINSZ
        #else
        let request = UInt(0x4008_7468)  // TIOCGWINSZ
        #endif
        guard ioctl(1, request, &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

/// Takes a sample of the process's memory and every component every 250 ms, keeps them for the
/// report and the CSV, and shows the live status: one line updated in place on a terminal,
/// a plain line every two seconds otherwise.
final class Sampler: Sendable {
    let world: any DemoWorld
    let label: String
    let duration: Double
    let start: ContinuousClock.Instant
    let spike: MemorySpike
    let watch: PressureWatch
    private let samples = LockedState<[Sample]>([])

    init(world: any DemoWorld, label: String, duration: Double, start: ContinuousClock.Instant, spike: MemorySpike, watch: PressureWatch) {
        self.world = world
        self.label = label
        self.duration = duration
        self.start = start
        self.spike = spike
        self.watch = watch
    }

    /// Every sample so far, in time order.
    var all: [Sample] { samples.withLock { $0 } }

    /// Takes one sample now and keeps it.
    @discardableResult
    func take() async -> Sample {
        let readings = await world.readings()
        let sample = Sample(
            time: Workload.seconds(start.duration(to: .now)),
            residentBytes: Self.residentBytes(),
            heapBytes: Self.heapBytes(),
            pressure: watch.level.description,
            spikeHeld: spike.isHeld,
            components: readings
        )
        samples.withLock { $0.append(sample) }
        return sample
    }

    /// Samples every `interval` and shows the status until the task is cancelled.
    func run(interval: Duration) async {
        let clock = ContinuousClock()
        var nextPlainLine = 0.0
        var tick = start
        while !Task.isCancelled {
            let sample = await take()
            if Console.isTerminal {
                Console.out("\r" + String(statusLine(sample).prefix(Console.terminalColumns() - 1)) + "\u{1B}[K")
            } else if sample.time >= nextPlainLine {
                Console.line(statusLine(sample))
                nextPlainLine += 2
            }
            tick = tick.advanced(by: interval)
            do {
                try await clock.sleep(until: tick)
            } catch {
                break
            }
        }
    }

    /// Ends the status line on a terminal, so that what follows starts on a line of its own.
    func finish(with sample: Sample) {
        if Console.isTerminal {
            Console.out("\r" + String(statusLine(sample).prefix(Console.terminalColumns() - 1)) + "\u{1B}[K\n")
        } else {
            Console.line(statusLine(sample))
        }
    }

    func statusLine(_ sample: Sample) -> String {
        func part(_ name: String, _ component: DemoComponent) -> String {
            guard let reading = sample.components[component] else { return "\(name) -" }
            let size = compact(reading.size)
            guard let limit = reading.effectiveLimit else { return "\(name) \(size)" }
            return "\(name) \(size)/\(compact(limit))"
        }
        let time = String(format: "%5.1f/%.0fs", sample.time, duration)
        let memory = String(format: "rss %.0fM", Double(sample.residentBytes) / 1_048_576)
        // Most telling first: a narrow terminal cuts the end.
        return [
            "\(label) \(time)",
            memory,
            sample.pressure + (sample.spikeHeld ? " (spike)" : ""),
            part("conn", .connections),
            part("clients", .clients),
            part("pending", .pendingCalls),
            part("cache", .cachedServices),
            part("local", .localServices),
            part("streams", .streams),
        ].joined(separator: "  ")
    }

    /// `value` exactly below 10,000, else with a `k` or `M` suffix.
    func compact(_ value: Int) -> String {
        value < 10_000 ? String(value) : ChartFormat.count(Double(value))
    }

    static func residentBytes() -> Int {
        (try? SystemMemoryReader.resident.read().usedBytes) ?? 0
    }

    static func heapBytes() -> Int {
        (try? SystemMemoryReader.heapInUse.read().usedBytes) ?? 0
    }
}
