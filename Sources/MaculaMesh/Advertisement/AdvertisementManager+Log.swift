// The log event kinds the advertisement manager adds to MaculaMemory's open set.

extension ComponentLogEvent.Kind {
    /// A cleanup pass ran; metadata `removed` is the number of expired entries it removed
    /// (level info when it is above zero, debug otherwise).
    public static let cleanupFinished = Self("cleanup_finished")
    /// A publish succeeded (level debug); metadata `service`.
    public static let published = Self("published")
    /// A publish threw; metadata `service`, `error`, `failures` (consecutive), `retry_in`.
    public static let publishFailed = Self("publish_failed")
    /// A publish outlived `publishTimeout` and was cancelled; metadata `service`, `timeout`.
    public static let publishTimedOut = Self("publish_timed_out")
    /// A scheduled refresh of the local TTL was refused by the registry (its local limit is
    /// reached because the entry was withdrawn behind the manager's back); metadata `service`,
    /// `error`.
    public static let refreshRefused = Self("refresh_refused")
}
