import LiaisonCrypto

/// Bounds on what one request may carry.
public struct HubLimits: Sendable {
    /// The largest payload accepted, in bytes (default 16 MiB).
    public var payloadBytes: Int
    public var titleCharacters = 1_000
    public var listEntries = 200
    public var pageSize = 1_000
    /// The most items a client may name in one access request. A dossier's request, which the hub
    /// assembles itself from the unit's withheld items, names all of them (one per dossier: docs/sharing.md).
    public var requestItems = 1_000
    /// How long feed events are kept; a cursor older than that gets 410.
    public var feedRetentionSeconds: Int64 = 30 * 86_400
    /// The longest a feed request may wait for an event.
    public var feedWaitSeconds = 60

    /// The largest payload accepted streamed (`application/octet-stream`), in bytes (default 8 GiB). A streamed payload
    /// is kept in chunks as it arrives, so this bounds disk, not memory.
    public var streamedPayloadBytes: Int

    /// Bytes of large answers (payloads over `DeliveredBody.wholeLimit`, dossier bundles, the compact trail, manifests and
    /// access requests of thousands of items) held at once across all readers while they are sent (default 256 MiB);
    /// past it, 503 busy. A reader who takes a 16 MiB payload slowly, or not at all, holds it until the connection
    /// closes: without a bound, a thousand such connections would hold 16 GB. The hub keeps at least room for one
    /// largest answer (`answerBudget`), and one principal may hold a quarter of it (`answerShare`).
    public var answerBudgetBytes: Int

    /// The most `payloadBytes` may be set to: 1 GiB, so that the body limit derived from it cannot overflow.
    public static let largestPayload = 1 << 30
    /// The most `streamedPayloadBytes` may be set to: 1 TiB.
    public static let largestStreamedPayload = 1 << 40

    public init(payloadBytes: Int = 16 * 1024 * 1024, streamedPayloadBytes: Int = 8 << 30, answerBudgetBytes: Int = 256 << 20) {
        self.payloadBytes = min(max(payloadBytes, 1), Self.largestPayload)
        self.streamedPayloadBytes = min(max(streamedPayloadBytes, 1), Self.largestStreamedPayload)
        self.answerBudgetBytes = min(max(answerBudgetBytes, 0), Self.largestStreamedPayload)
    }

    /// The budget of large answers: at least one largest payload sealed for its reader, and a few streamed pieces, or
    /// some answer could never be sent.
    public var answerBudget: Int { max(answerBudgetBytes, Self.largestAnswer(payloadBytes)) }

    /// What one principal may hold of it: a quarter (so that one agency reading slowly, or not at all, leaves the others
    /// room), and never less than one largest answer.
    public var answerShare: Int { min(answerBudget, max(answerBudget / 4, Self.largestAnswer(payloadBytes))) }

    /// The most one answer takes from the budget: a payload held whole and sealed, or a few streamed pieces.
    static func largestAnswer(_ payloadBytes: Int) -> Int { max(payloadBytes + 64 * 1024, 4 * PayloadChunk.size) }
}
