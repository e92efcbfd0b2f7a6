import Foundation

/// The hub's state as an operator watches it, read at one moment (each scrape of the metrics).
public struct HubGauges: Sendable, Equatable {
    /// Entries in the audit chain (its last sequence number).
    public var chainLength: Int64
    /// Seconds since the hub last signed the chain's head; nil before the first signature.
    public var secondsSinceSignedHead: Double?
    /// The sequence number the last signed head covers (0 before the first).
    public var signedThrough: Int64
    public var waitingFeedReaders: Int
    public var pendingRequests: Int
    public var activeGrants: Int
    /// Key-ring versions held, and how many stored data keys each wraps.
    public var keyVersions: [UInt32: Int]
    /// Bytes of the answer budget that large answers being sent hold now, and the budget.
    public var answerBytesHeld = 0
    public var answerBudget = 0
}
