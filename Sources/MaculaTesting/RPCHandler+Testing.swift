import MaculaMesh

extension RPCHandler {
    /// Returns once the caller of `callID` is suspended in the handler: awaiting its reply (after
    /// its request went out through the transport) or its discovery; at once when it is now.
    ///
    /// A test takes the ID from the request it holds (``InMemoryRPCTransport/nextRequest()``), so
    /// it knows the call is pending; a call that ends without suspending again (a reply delivered
    /// while its request was being sent) is never reported, and the wait then ends only when the
    /// task is cancelled.
    /// - Parameter callID: the call, as its request carries it.
    /// - Throws: `CancellationError` when the waiting task is cancelled first (so that a test under
    ///   a `.timeLimit` fails instead of hanging).
    public nonisolated func waitUntilSuspended(_ callID: RPCCallID) async throws(CancellationError) {
        try await waitUntilParked(callID)
    }
}
