extension MemoryEvent {
    /// A discovery result longer than `maximumProvidersPerService` was cut; the count is the
    /// number of providers dropped.
    public static let providersTruncated = MemoryEvent("providers_truncated")
}
