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

/// A memory source that could not be read (a missing `/proc` file, an allocator that does not
/// report). The monitor keeps its level when a reading fails.
public struct MemoryReadError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What failed, in words.
    public let reason: String
    /// Creates an error.
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "memory reading failed: \(reason)" }
}

/// The built-in memory sources.
///
/// - ``heapInUse``, the default: bytes the C allocator has handed out and not taken back (glibc
///   `mallinfo2`; on Apple platforms the malloc zones' `size_in_use`). It falls when memory is
///   freed, so the monitor can go back to `normal` after relief. Under ThreadSanitizer or
///   AddressSanitizer (which replace the allocator) it throws: glibc then reports zeros.
/// - ``resident``: the resident set (`/proc/self/statm`, Apple `task_info`). Measured on Linux:
///   after freeing most of a large heap, resident memory stays high even after `malloc_trim`, so a
///   monitor on resident memory may never see `normal` again. Use it with care.
/// - ``cgroup``: the cgroup v2 `memory.current` against `memory.max` (what the OOM killer
///   enforces in a container); throws where there is no cgroup v2 or no limit.
///
/// Every source reports `limitBytes` as the cgroup's `memory.max` when one is set, else the
/// machine's physical memory, so thresholds given as a fraction work with each of them.
public struct SystemMemoryReader: MemoryReader {
    private enum Source: Sendable { case heap, resident, cgroup }
    private let source: Source

    /// Heap bytes in use (the default).
    public static let heapInUse = SystemMemoryReader(source: .heap)
    /// The resident set size.
    public static let resident = SystemMemoryReader(source: .resident)
    /// The cgroup v2 memory usage against its limit.
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
        // A running process always has heap in use: a zero is a failed reading (an allocator
        // that glibc does not see), never an empty heap, and must not restore `normal`.
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
