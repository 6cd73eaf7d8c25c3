import CMaculaSystem
import Foundation

#if canImport(Darwin)
import Darwin
#endif

/// A source of memory readings for the ``MemoryPressureMonitor``. Tests inject their own.
public protocol MemoryReader: Sendable {
    /// Takes one reading.
    /// - Throws: ``MemoryReadError`` when the source cannot be read.
    func read() throws(MemoryReadError) -> MemoryReading
}

/// A memory source that could not be read; the monitor keeps its level.
public struct MemoryReadError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What failed, in words.
    public let reason: String
    /// Creates an error.
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "memory reading failed: \(reason)" }
}

/// The built-in memory sources; each reports `limitBytes` as the cgroup's `memory.max` when set,
/// else physical memory.
public struct SystemMemoryReader: MemoryReader {
    private enum Source: Sendable { case heap, resident, cgroup }
    private let source: Source

    /// Heap bytes the C allocator has handed out and not taken back (the default; it falls when
    /// memory is freed). Throws under ThreadSanitizer and AddressSanitizer, which replace the allocator.
    public static let heapInUse = SystemMemoryReader(source: .heap)
    /// The resident set size; it often stays high after frees, so the monitor may never see
    /// `normal` again.
    public static let resident = SystemMemoryReader(source: .resident)
    /// The cgroup v2 `memory.current` against `memory.max`; throws without cgroup v2 or a limit.
    public static let cgroup = SystemMemoryReader(source: .cgroup)

    public func read() throws(MemoryReadError) -> MemoryReading {
        switch source {
        case .heap: return MemoryReading(usedBytes: try Self.heapBytes(), limitBytes: Self.availableBytes())
        case .resident: return MemoryReading(usedBytes: try Self.residentBytes(), limitBytes: Self.availableBytes())
        case .cgroup:
            guard let limit = Self.cgroupLimit() else { throw MemoryReadError("no cgroup v2 memory.max limit") }
            guard let current = Self.readInteger("/sys/fs/cgroup/memory.current") else {
                throw MemoryReadError("cannot read /sys/fs/cgroup/memory.current")
            }
            return MemoryReading(usedBytes: current, limitBytes: limit)
        }
    }

    static func heapBytes() throws(MemoryReadError) -> Int {
        #if canImport(Darwin)
        var stats = malloc_statistics_t()
        malloc_zone_statistics(nil, &stats)
        return Int(stats.size_in_use)
        #else
        guard macula_allocator_is_replaced() == 0 else {
            throw MemoryReadError("a sanitizer replaced the C allocator; glibc's statistics report nothing")
        }
        let bytes = macula_heap_bytes_in_use()
        guard bytes >= 0 else { throw MemoryReadError("the C allocator does not report heap usage") }
        // A zero is a failed reading (an allocator glibc does not see), never an empty heap.
        guard bytes > 0 else { throw MemoryReadError("the C allocator reported 0 bytes in use") }
        return Int(bytes)
        #endif
    }

    static func residentBytes() throws(MemoryReadError) -> Int {
        #if canImport(Darwin)
        var info = mach_task_basic_info()
        var count = mach_msg_type_number_t(MemoryLayout<mach_task_basic_info>.size / MemoryLayout<natural_t>.size)
        let result = withUnsafeMutablePointer(to: &info) { pointer in
            pointer.withMemoryRebound(to: integer_t.self, capacity: Int(count)) {
                task_info(mach_task_self_, task_flavor_t(MACH_TASK_BASIC_INFO), $0, &count)
            }
        }
        guard result == KERN_SUCCESS else { throw MemoryReadError("task_info failed (\(result))") }
        return Int(info.resident_size)
        #else
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else {
            throw MemoryReadError("cannot read /proc/self/statm")
        }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else {
            throw MemoryReadError("unexpected /proc/self/statm: \(text)")
        }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
        #endif
    }

    /// The cgroup v2 limit, or nil when there is none (`max`) or no cgroup v2.
    static func cgroupLimit() -> Int? {
        readInteger("/sys/fs/cgroup/memory.max")
    }

    /// The cgroup limit when set, else physical memory.
    static func availableBytes() -> Int {
        cgroupLimit() ?? Int(clamping: ProcessInfo.processInfo.physicalMemory)
    }

    private static func readInteger(_ path: String) -> Int? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
