import Foundation
public import LiaisonCore

/// A payload as kept at rest: plain bytes, or ciphertext with its wrapped data key.
public struct StoredPayload: Sendable, Equatable {
    /// The payload (or its ciphertext) when kept in one piece; empty when it is kept in chunks.
    public let bytes: [UInt8]
    public let wrappedKey: [UInt8]?
    public let keyVersion: UInt32?
    /// How many chunks a streamed payload is kept in (`PayloadChunkStore`); nil for a payload in one piece.
    public let chunks: Int?

    public init(bytes: [UInt8], wrappedKey: [UInt8]?, keyVersion: UInt32?, chunks: Int? = nil) {
        self.bytes = bytes
        self.wrappedKey = wrappedKey
        self.keyVersion = keyVersion
        self.chunks = chunks
    }
}

extension StoredPayload {
    /// A key version as both stores keep it (a 64-bit integer column): one outside UInt32 is a damaged row, refused,
    /// never truncated to another version or trapped on.
    public static func keyVersion(stored value: Int64) throws -> UInt32 {
        guard let version = UInt32(exactly: value) else { throw StoreError.corrupt("a row holds key version \(value), which no key ring has") }
        return version
    }
}

/// One stored chunk of a streamed payload: AES-256-GCM ciphertext (tag nil), or plaintext with its `KeyRing.chunkTag`.
public struct StoredChunk: Sendable, Equatable {
    public let bytes: [UInt8]
    public let tag: [UInt8]?

    public init(bytes: [UInt8], tag: [UInt8]?) {
        self.bytes = bytes
        self.tag = tag
    }
}

/// An item's data key as stored: wrapped under one key-ring version.
public struct StoredDataKey: Sendable, Equatable {
    public let itemID: String
    public let version: UInt32
    public let wrappedKey: [UInt8]

    public init(itemID: String, version: UInt32, wrappedKey: [UInt8]) {
        self.itemID = itemID
        self.version = version
        self.wrappedKey = wrappedKey
    }
}

/// A data key wrapped again under `version`, replacing the one wrapped under `previousVersion`.
public struct DataKeyRewrap: Sendable, Equatable {
    public let itemID: String
    public let previousVersion: UInt32
    public let version: UInt32
    public let wrappedKey: [UInt8]

    public init(itemID: String, previousVersion: UInt32, version: UInt32, wrappedKey: [UInt8]) {
        self.itemID = itemID
        self.previousVersion = previousVersion
        self.version = version
        self.wrappedKey = wrappedKey
    }
}

/// An idempotency key claimed by a push: the same principal and key with the same fingerprint is a retry.
public struct IdempotencyClaim: Sendable, Equatable {
    public let principal: String
    public let key: String
    /// SHA-256 over the request's meaningful fields; a different body under the same key is a conflict.
    public let fingerprint: String

    public init(principal: String, key: String, fingerprint: String) {
        self.principal = principal
        self.key = key
        self.fingerprint = fingerprint
    }
}

public enum InsertOutcome: Sendable, Equatable {
    case created(Item)
    /// The claim's key was used before with the same body: the first item.
    case replayed(Item)
    /// The claim's key was used before with a different body.
    case conflict(existingID: String)
}

/// What a review did to its request, decided inside the store's transaction from the request and its reviews so far.
public struct ReviewResolution: Sendable, Equatable {
    /// The request's decision after this review: still pending, approved or denied.
    public let decision: AccessRequest.Status
    /// The grant an approval created.
    public let grant: Grant?
    /// Trail entries and feed events written in the same transaction.
    public let audit: [AuditRecord]
    public let events: [FeedEvent]

    public init(decision: AccessRequest.Status, grant: Grant?, audit: [AuditRecord], events: [FeedEvent]) {
        self.decision = decision
        self.grant = grant
        self.audit = audit
        self.events = events
    }
}

/// A principal's page of the feed as read (`FeedStore.feedSlice`).
public struct FeedSlice: Sendable, Equatable {
    /// The highest cursor given out when the events were read: every event up to it had committed.
    public let latest: Int64
    public let own: [StoredFeedEvent]
    public let shared: [StoredFeedEvent]

    public init(latest: Int64, own: [StoredFeedEvent], shared: [StoredFeedEvent]) {
        self.latest = latest
        self.own = own
        self.shared = shared
    }
}

/// How a store prunes its feed: from the oldest cursor, a window of events at a time. Events are appended in time
/// order (give or take hubs' clocks), so the old ones come first: finding them reads a window, not the whole feed,
/// and a writer is held for one window at a time. A window wholly old means more may follow.
public enum FeedPruning {
    public static let window = 10_000
}

/// Which notice a grant's holders get as its expiry nears.
public enum GrantNotice: Sendable, Equatable {
    /// Within 24 hours of expiry.
    case expiring
    case expired
}

extension String {
    /// The text as a lookup in a store: no stored text holds NUL (the hub refuses it in what it stores, and the
    /// trail records U+FFFD in its place), so a NUL asks for U+FFFD instead. SQLite would cut the text at the NUL
    /// and find the shorter id; PostgreSQL refuses NUL in text altogether.
    public var storable: String { utf8.contains(0) ? replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : self }
}
