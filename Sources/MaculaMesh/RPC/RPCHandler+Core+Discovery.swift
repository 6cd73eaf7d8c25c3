extension RPCHandlerCore {
    /// One discovery in flight, shared by every caller waiting for `service`. It has no deadline of
    /// its own and lives exactly as long as somebody waits for it.
    package struct Discovery: Sendable {
        package var service: String
        /// In arrival order, which is the order they are resumed in.
        package var waiters = FIFOQueue<RPCCallID, Bool>()
    }

    package enum DiscoveryOutcome: Sendable {
        case found([ServiceProvider])
        case failed(String)
        /// Cancelled: whoever cancelled it deals with its waiters.
        case interrupted
    }

    /// - Complexity: O(1) amortised.
    mutating func createDiscovery(_ service: String) -> UInt32 {
        repeat { nextDiscoveryID &+= 1 } while discoveries[nextDiscoveryID] != nil
        discoveries[nextDiscoveryID] = Discovery(service: service)
        discoveryByService[service] = nextDiscoveryID
        discoveriesToStart.append(nextDiscoveryID)
        return nextDiscoveryID
    }

    /// - Returns: the discovery, to abort, when `id` was its last waiter (it is then dropped).
    /// - Complexity: O(1) amortised.
    mutating func leaveDiscovery(_ discovery: UInt32, _ id: RPCCallID) -> UInt32? {
        guard discoveries[discovery] != nil else { return nil }
        discoveries[discovery]!.waiters.remove(id)
        guard discoveries[discovery]!.waiters.isEmpty else { return nil }
        return dropDiscovery(discovery) == nil ? nil : discovery
    }

    private mutating func dropDiscovery(_ id: UInt32) -> Discovery? {
        guard let discovery = discoveries.removeValue(forKey: id) else { return nil }
        if discoveryByService[discovery.service] == id { discoveryByService.removeValue(forKey: discovery.service) }
        return discovery
    }

    /// The discoveries created since the last call that still have waiters.
    /// - Complexity: O(k) for k discoveries created since.
    mutating func takeDiscoveriesToStart() -> [DiscoveryStart] {
        guard !discoveriesToStart.isEmpty else { return [] }
        var starts: [DiscoveryStart] = []
        for id in discoveriesToStart {
            if let discovery = discoveries[id] {
                starts.append(DiscoveryStart(id: id, service: discovery.service))
            }
        }
        discoveriesToStart.removeAll(keepingCapacity: discoveriesToStart.capacity < 64)
        return starts
    }

    /// With providers each waiter moves on to its first attempt; otherwise each fails. A result for
    /// a dropped discovery is ignored. - Complexity: O(w log n) for w waiters.
    package mutating func discoveryFinished(_ id: UInt32, outcome: DiscoveryOutcome, now: Duration) -> Effects {
        var effects = Effects()
        guard discoveries[id] != nil else { return effects }
        if case .interrupted = outcome { return effects }
        guard var discovery = dropDiscovery(id) else { return effects }
        effects.removed += 1
        while let (callID, _) = discovery.waiters.popFirst() {
            guard let slot = liveSlot(callID) else { continue }
            switch outcome {
            case .found(let providers) where !providers.isEmpty:
                let strategy = calls[slot].strategy
                let first = chooseFirst(strategy, count: providers.count, service: discovery.service)
                calls[slot].providers = providers
                calls[slot].maximumAttempts = UInt16(clamping: min(Int(calls[slot].maximumAttempts), providers.count))
                calls[slot].attempts = 1
                calls[slot].current = first
                calls[slot].phase = .sending(nil)
                let deadline = min(now + calls[slot].timeout, calls[slot].overallDeadline)
                if schedule(callID, at: deadline) { effects.wakeLoop = true }
                effects.resumes.append(Resume(id: callID, waiter: takeWaiter(slot), step: .send, removal: nil))
            case .found:
                let waiter = takeWaiter(slot)
                remove(slot, callID)
                effects.resumes.append(Resume(id: callID, waiter: waiter, step: .finished(.failure(.noProviders)), removal: .callFailed))
                effects.removed += 1
            case .failed(let message):
                let waiter = takeWaiter(slot)
                remove(slot, callID)
                let error = RPCError.discoveryFailed("", message: message)
                effects.resumes.append(Resume(id: callID, waiter: waiter, step: .finished(.failure(error)), removal: .callFailed))
                effects.removed += 1
            case .interrupted:
                continue
            }
        }
        return effects
    }
}
