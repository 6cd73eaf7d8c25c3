/// The quantities the demo tracks in each world, one per bounded map of the five mechanisms.
package enum DemoComponent: String, Sendable, Hashable, CaseIterable {
    /// Pooled connections to other nodes (`ConnectionPool`).
    case connections
    /// Connected clients (`ClientManager`).
    case clients
    /// Open streams, across all clients (`ClientManager`).
    case streams
    /// This node's own advertisements (`ServiceRegistry`, local map).
    case localServices = "local_services"
    /// Services with cached remote providers (`ServiceRegistry`, remote cache).
    case cachedServices = "cached_services"
    /// Advertisements kept alive (`AdvertisementManager`).
    case advertisements
    /// Pending RPC calls and discoveries (`RPCHandler`).
    case pendingCalls = "pending_calls"

    /// A label for people.
    package var title: String {
        switch self {
        case .connections: "connections"
        case .clients: "clients"
        case .streams: "streams"
        case .localServices: "local services"
        case .cachedServices: "cached services"
        case .advertisements: "advertisements"
        case .pendingCalls: "pending calls"
        }
    }
}

/// One component's size and limits at one instant.
package struct ComponentReading: Sendable, Hashable {
    /// Entries held.
    package var size: Int
    /// The limit enforced now (the base scaled by memory pressure); nil when there is none.
    package var effectiveLimit: Int?
    /// The operator's limit; nil when there is none (the unbounded world).
    package var baseLimit: Int?
    /// The largest size the component ever held, by its own count (every step, not only the
    /// sampled ones); nil when it keeps none. Not written to the CSV.
    package var highWaterMark: Int?

    /// Creates a reading.
    package init(size: Int, effectiveLimit: Int? = nil, baseLimit: Int? = nil, highWaterMark: Int? = nil) {
        self.size = size
        self.effectiveLimit = effectiveLimit
        self.baseLimit = baseLimit
        self.highWaterMark = highWaterMark
    }
}

/// One sample of a run: the process's memory and every component's reading.
package struct Sample: Sendable, Hashable {
    /// Seconds since the workload started.
    package var time: Double
    /// Resident set size, in bytes.
    package var residentBytes: Int
    /// Heap bytes in use (the C allocator's view), in bytes; 0 when it cannot be read.
    package var heapBytes: Int
    /// The pressure level the monitor was at (`normal`, `medium`, `high`).
    package var pressure: String
    /// Whether the simulated memory spike was held at this instant.
    package var spikeHeld: Bool
    /// The readings; a component missing from the map was not measured.
    package var components: [DemoComponent: ComponentReading]

    /// Creates a sample.
    package init(
        time: Double,
        residentBytes: Int,
        heapBytes: Int,
        pressure: String,
        spikeHeld: Bool = false,
        components: [DemoComponent: ComponentReading]
    ) {
        self.time = time
        self.residentBytes = residentBytes
        self.heapBytes = heapBytes
        self.pressure = pressure
        self.spikeHeld = spikeHeld
        self.components = components
    }
}
