extension MemoryEvent {
    /// A publish of an advertisement succeeded.
    public static let advertisementPublished = MemoryEvent("advertisement_published")
    /// A publish of an advertisement threw; it is retried with back-off.
    public static let advertisementPublishFailed = MemoryEvent("advertisement_publish_failed")
    /// A publish of an advertisement outlived `publishTimeout` and was cancelled.
    public static let advertisementPublishTimedOut = MemoryEvent("advertisement_publish_timed_out")
    /// A cleanup pass of the advertisement manager ran.
    public static let cleanupPass = MemoryEvent("cleanup_pass")
}
