
extension ComponentLogEvent.Kind {
    /// A cleanup pass ran (info when it removed entries, debug otherwise); metadata `removed`.
    public static let cleanupFinished = Self("cleanup_finished")
    /// A publish succeeded (level debug); metadata `service`.
    public static let published = Self("published")
    /// A publish threw; metadata `service`, `error`, `failures` (consecutive), `retry_in`.
    public static let publishFailed = Self("publish_failed")
    /// A publish outlived `publishTimeout` and was cancelled; metadata `service`, `timeout`.
    public static let publishTimedOut = Self("publish_timed_out")
    /// The registry refused a scheduled refresh of the local TTL; metadata `service`, `error`.
    public static let refreshRefused = Self("refresh_refused")
}
