import MaculaMemory
import MaculaMesh

/// An in-memory ``ServicePublisher`` for tests: it records every publish and succeeds, fails, or
/// holds each one until the test completes it.
///
/// ```swift
/// let publisher = RecordingServicePublisher(behavior: .hold)
/// let manager = try AdvertisementManager(registry: registry, publisher: publisher)
/// try await manager.advertise("echo", provider: me)
/// let loop = Task { try await manager.run() }
/// let attempt = await publisher.nextAttempt()        // returns once run() is publishing
/// publisher.completeHeld(with: .failure(Outage()))  // the test decides the outcome
/// ```
public final class RecordingServicePublisher: ServicePublisher {
    /// What a publish does.
    public enum Behavior: Sendable {
        /// Record it and return at once.
        case succeed
        /// Record it and throw `error` at once.
        case fail(any Error)
        /// Record it and suspend until ``completeHeld(_:with:)`` resumes it, or its task is
        /// cancelled (it then throws `CancellationError`).
        case hold
        /// Record it and suspend until ``completeHeld(_:with:)`` resumes it, whatever happens to
        /// its task: a publisher that ignores cancellation.
        case holdIgnoringCancellation
    }

    private struct Held {
        var id: UInt64
        var advertisement: ServiceAdvertisement
        var continuation: CheckedContinuation<Void, any Error>
        var ignoresCancellation: Bool
    }

    private struct State {
        var behavior: Behavior
        var attempts: [ServiceAdvertisement] = []
        var published: [ServiceAdvertisement] = []
        var cancelled: [ServiceAdvertisement] = []
        var unobserved: [ServiceAdvertisement] = []
        var observers: [CheckedContinuation<ServiceAdvertisement, Never>] = []
        var held: [Held] = []
        var nextID: UInt64 = 0
    }

    private let state: LockedState<State>

    /// Creates a publisher with `behavior` (default: succeed).
    public init(behavior: Behavior = .succeed) {
        state = LockedState(State(behavior: behavior))
    }

    /// Changes what later publishes do; held publishes stay held.
    public func setBehavior(_ behavior: Behavior) {
        state.withLock { $0.behavior = behavior }
    }

    /// Every publish that began, in order.
    public var attempts: [ServiceAdvertisement] { state.withLock { $0.attempts } }

    /// Every publish that succeeded, in the order it succeeded.
    public var published: [ServiceAdvertisement] { state.withLock { $0.published } }

    /// Every held publish whose task was cancelled, in order.
    public var cancelled: [ServiceAdvertisement] { state.withLock { $0.cancelled } }

    /// How many publishes of `service` succeeded.
    public func publishCount(of service: String) -> Int {
        state.withLock { $0.published.lazy.filter { $0.service == service }.count }
    }

    /// How many publishes are held now.
    public var heldCount: Int { state.withLock { $0.held.count } }

    /// Waits until a publish begins and returns its advertisement. Each publish is reported once,
    /// in the order they began, including those that began before the call. A held publish is
    /// already held when this returns.
    public func nextAttempt() async -> ServiceAdvertisement {
        await withCheckedContinuation { (continuation: CheckedContinuation<ServiceAdvertisement, Never>) in
            let ready = state.withLock { state -> ServiceAdvertisement? in
                if state.unobserved.isEmpty {
                    state.observers.append(continuation)
                    return nil
                }
                return state.unobserved.removeFirst()
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Resumes the oldest held publish (of `service`, when given) with `result`.
    /// - Returns: whether a held publish was resumed.
    @discardableResult
    public func completeHeld(_ service: String? = nil, with result: Result<Void, any Error> = .success(())) -> Bool {
        let held = state.withLock { state -> Held? in
            guard let index = state.held.firstIndex(where: { service == nil || $0.advertisement.service == service }) else {
                return nil
            }
            let held = state.held.remove(at: index)
            if case .success = result { state.published.append(held.advertisement) }
            return held
        }
        guard let held else { return false }
        held.continuation.resume(with: result)
        return true
    }

    /// Records `advertisement` and does what the behavior says.
    public func publish(_ advertisement: ServiceAdvertisement) async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Outcome { case succeed, fail(any Error), cancelled, held }
                var observer: CheckedContinuation<ServiceAdvertisement, Never>?
                let outcome = state.withLock { state -> Outcome in
                    state.attempts.append(advertisement)
                    if state.observers.isEmpty {
                        state.unobserved.append(advertisement)
                    } else {
                        observer = state.observers.removeFirst()
                    }
                    switch state.behavior {
                    case .succeed:
                        state.published.append(advertisement)
                        return .succeed
                    case .fail(let error):
                        return .fail(error)
                    case .hold:
                        if Task.isCancelled {
                            state.cancelled.append(advertisement)
                            return .cancelled
                        }
                        state.held.append(Held(
                            id: id, advertisement: advertisement, continuation: continuation, ignoresCancellation: false))
                        return .held
                    case .holdIgnoringCancellation:
                        state.held.append(Held(
                            id: id, advertisement: advertisement, continuation: continuation, ignoresCancellation: true))
                        return .held
                    }
                }
                observer?.resume(returning: advertisement)
                switch outcome {
                case .succeed: continuation.resume()
                case .fail(let error): continuation.resume(throwing: error)
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .held: break
                }
            }
        } onCancel: {
            let held = state.withLock { state -> Held? in
                guard let index = state.held.firstIndex(where: { $0.id == id && !$0.ignoresCancellation }) else { return nil }
                let held = state.held.remove(at: index)
                state.cancelled.append(held.advertisement)
                return held
            }
            held?.continuation.resume(throwing: CancellationError())
        }
    }
}
