/// Bounds on what one request may carry.
public struct HubLimits: Sendable {
    /// The largest payload accepted, in bytes (default 16 MiB).
    public var payloadBytes: Int
    public var titleCharacters = 1_000
    public var listEntries = 200
    public var pageSize = 1_000

    public init(payloadBytes: Int = 16 * 1024 * 1024) { self.payloadBytes = payloadBytes }
}
