@testable import MaculaMesh
import MaculaTesting
import Testing

/// Many tasks hammer one manager at once; at the end no client, stream or waiter is left.
@Suite("ClientManager stress", .timeLimit(.minutes(3)))
struct ClientManagerStressTests {
    @Test("scoped clients, waiters, cancellations and disconnects in parallel leave nothing behind")
    func scopedClientsInParallel() async throws {
        let (manager, _) = try makeClientManager(maximumClients: 8, maximumStreamsPerClient: 4, maximumWaiters: 1_000)
        let run = startRunning(manager)
        let tasks = 400

        let seen = await withTaskGroup(of: String.self) { group in
            var random = SplitMix64(seed: 0xC1E4_7500)
            var handles: [Task<String, Never>] = []
            for index in 0..<tasks {
                // 40 client IDs shared by 400 tasks: registrations take over from one another.
                let client = "c\(index % 40)"
                let waits = index % 3 != 0
                let task = Task {
                    do {
                        try await manager.withClient(client, info: "t\(index)", admission: waits ? .wait(upTo: .seconds(3600)) : .reject) {
                            for k in 0..<3 {
                                // Errors are expected here: another scope may have taken the client
                                // over and ended, or a disconnect may have removed it.
                                try? await manager.openStream(index * 10 + k, for: client)
                            }
                            if index % 5 == 0 { await manager.closeStream(index * 10) }
                            if index % 7 == 0 { await manager.clientDisconnected("c\((index * 13) % 40)") }
                        }
                        return "ok"
                    } catch let error as ClientManagerError {
                        return error == .cancelled ? "cancelled" : error == .maxClientsReached ? "refused" : "other"
                    } catch {
                        return "other"
                    }
                }
                handles.append(task)
                if Int.random(in: 0..<6, using: &random) == 0 {
                    // Cancel some task, at whatever point of its life it is.
                    handles.randomElement(using: &random)!.cancel()
                }
            }
            for handle in handles {
                group.addTask { await handle.value }
            }
            var seen: [String: Int] = [:]
            for await outcome in group { seen[outcome, default: 0] += 1 }
            return seen
        }

        #expect(await manager.clientCount == 0)
        #expect(await manager.streamCount == 0)
        #expect(await manager.waiterCount == 0)
        #expect(await manager.memoryUsage().highWaterMark <= 8)
        #expect(seen.values.reduce(0, +) == tasks)
        #expect(seen["other"] == nil, "\(seen)")
        #expect((seen["ok"] ?? 0) > 0)
        run.cancel()
        try await run.value
    }

    @Test("plain connects, streams and disconnects from many tasks leave nothing behind")
    func plainCallsInParallel() async throws {
        let metrics = RecordingMemoryMetrics()
        let (manager, _) = try makeClientManager(maximumClients: 50, maximumStreamsPerClient: 5, metrics: metrics)
        let opened = ClientsCounter()
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<16 {
                group.addTask {
                    for round in 0..<200 {
                        let client = "w\(worker)-\(round % 4)"
                        guard (try? await manager.clientConnected(client, info: "r\(round)")) != nil else { continue }
                        for k in 0..<3 {
                            if (try? await manager.openStream(worker * 100_000 + round * 10 + k, for: client)) != nil {
                                opened.increment()
                            }
                        }
                        if round % 2 == 1 { await manager.clientDisconnected(client) }
                    }
                    for slot in 0..<4 { await manager.clientDisconnected("w\(worker)-\(slot)") }
                }
            }
        }
        #expect(await manager.clientCount == 0)
        #expect(await manager.streamCount == 0)
        // Every stream opened was removed with its client: none leaked, none counted twice.
        #expect(metrics.count(.streamsRemoved) == opened.value)
        #expect(await manager.memoryUsage().highWaterMark <= 50)
    }
}
