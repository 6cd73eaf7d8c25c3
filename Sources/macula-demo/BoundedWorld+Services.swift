import MaculaDemoSupport
import MaculaMemory
import MaculaMesh

/// The service facade over ``ServiceRegistry`` and ``AdvertisementManager``.
struct BoundedServices: ServiceFacade {
    let registry: ServiceRegistry
    let manager: AdvertisementManager
    let me = ServiceProvider(nodeID: "demo-node", address: "quic://127.0.0.1:4433")

    func advertise(_ service: String) async -> Outcome {
        do {
            try await manager.advertise(service, provider: me)
            return .ok
        } catch {
            return error == .limitReached ? .refused("limit_reached") : .failed("\(error)")
        }
    }

    func stopAdvertising(_ service: String) async { await manager.withdraw(service) }

    func advertiseOnce(_ service: String, ttl: Duration) async -> Outcome {
        do {
            try await registry.advertise(service, provider: me, ttl: ttl)
            return .ok
        } catch {
            return error == .localLimitReached ? .refused("local_limit_reached") : .failed("\(error)")
        }
    }

    func readings() async -> (local: ComponentReading, cached: ComponentReading, advertisements: ComponentReading) {
        (
            ComponentReading(await registry.localMemoryUsage()),
            ComponentReading(await registry.cacheMemoryUsage()),
            ComponentReading(await manager.memoryUsage())
        )
    }
}
