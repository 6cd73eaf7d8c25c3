extension MemoryEvent {
    /// A discovery result was cut to `maximumProvidersPerService`; the count is the providers dropped.
    public static let providersTruncated = MemoryEvent("providers_truncated")
}
