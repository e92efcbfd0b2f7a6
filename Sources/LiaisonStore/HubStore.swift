public import Foundation
public import LiaisonCore

/// A payload as kept at rest: plain bytes, or ciphertext with its wrapped data key.
public struct StoredPayload: Sendable, Equatable {
    public let bytes: [UInt8]
    public let wrappedKey: [UInt8]?
    public let keyVersion: UInt32?

    public init(bytes: [UInt8], wrappedKey: [UInt8]?, keyVersion: UInt32?) {
        self.bytes = bytes
        self.wrappedKey = wrappedKey
        self.keyVersion = keyVersion
    }
}

/// An item's data key as stored: wrapped under one key-ring version.
public struct StoredDataKey: Sendable, Equatable {
    public let itemID: String
    public let version: UInt32
    public let wrappedKey: [UInt8]
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

/// Filters for listing; `before` is the id after which (newest first) the page starts.
public struct ItemQuery: Sendable, Equatable {
    public var unit: String?
    public var kind: String?
    public var classification: Classification?
    public var owner: String?
    public var before: String?
    public var limit: Int

    public init(unit: String? = nil, kind: String? = nil, classification: Classification? = nil, owner: String? = nil, before: String? = nil, limit: Int = 100) {
        self.unit = unit
        self.kind = kind
        self.classification = classification
        self.owner = owner
        self.before = before
        self.limit = limit
    }
}

/// Filters for reading the audit trail, in sequence order from `after` (exclusive).
public struct AuditQuery: Sendable, Equatable {
    public var after: Int64
    public var limit: Int
    public var actor: String?
    public var item: String?
    public var unit: String?
    public var action: String?
    public var since: Date?
    public var until: Date?

    public init(after: Int64 = 0, limit: Int = 1000, actor: String? = nil, item: String? = nil, unit: String? = nil, action: String? = nil,
                since: Date? = nil, until: Date? = nil) {
        self.after = after
        self.limit = limit
        self.actor = actor
        self.item = item
        self.unit = unit
        self.action = action
        self.since = since
        self.until = until
    }
}

/// Filters for access requests, newest first.
public struct RequestQuery: Sendable, Equatable {
    /// Requests made by this agency.
    public var agency: String?
    /// Only requests still pending and not expired at this time.
    public var openAt: Date?
    public var before: String?
    public var limit: Int

    public init(agency: String? = nil, openAt: Date? = nil, before: String? = nil, limit: Int = 100) {
        self.agency = agency
        self.openAt = openAt
        self.before = before
        self.limit = limit
    }
}

/// Filters for grants, newest first.
public struct GrantQuery: Sendable, Equatable {
    /// Grants held by this agency.
    public var agency: String?
    /// Only grants neither revoked nor expired at this time.
    public var liveAt: Date?
    public var limit: Int

    public init(agency: String? = nil, liveAt: Date? = nil, limit: Int = 500) {
        self.agency = agency
        self.liveAt = liveAt
        self.limit = limit
    }
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

/// Which notice a grant's holders get as its expiry nears.
public enum GrantNotice: Sendable, Equatable {
    /// Within 24 hours of expiry.
    case expiring
    case expired
}

/// Where the hub keeps items. SQLite is the embedded default; a PostgreSQL store can implement the same.
public protocol HubStore: Sendable {
    /// Stores an item and its payload durably before returning (or finds the earlier push under the same claim),
    /// appending `audit` to the trail in the same transaction (its outcome and target adjusted for a replay or conflict).
    /// `events` are appended only if the item is created (not for a replay or a conflict).
    func insert(_ item: Item, payload: StoredPayload, claim: IdempotencyClaim?, audit: AuditRecord, events: [FeedEvent]) async throws -> InsertOutcome
    /// Appends one entry to the trail durably; an action that must be traced waits for this before it happens.
    func record(_ audit: AuditRecord) async throws
    func auditEntries(matching query: AuditQuery) async throws -> [AuditEntry]
    /// The last entry's sequence number and hash (0 and the genesis hash when the trail is empty).
    func auditHead() async throws -> (seq: Int64, hash: String)
    func saveSignedHead(_ head: SignedHead) async throws
    func signedHeads(after seq: Int64, limit: Int) async throws -> [SignedHead]
    func latestSignedHead() async throws -> SignedHead?
    func item(id: String) async throws -> Item?
    func payload(id: String) async throws -> StoredPayload?
    /// Newest first.
    func items(matching query: ItemQuery) async throws -> [Item]
    /// How many stored data keys each key-ring version wraps.
    func dataKeyCounts() async throws -> [UInt32: Int]
    /// Up to `limit` stored data keys wrapped under a version other than `version`.
    func dataKeys(notUnder version: UInt32, limit: Int) async throws -> [StoredDataKey]
    /// Replaces wrapped data keys (the payload's and the sealed metadata's together, in one transaction);
    /// a key no longer under its `previousVersion` is left alone. Returns how many were replaced.
    func replaceDataKeys(_ rewraps: [DataKeyRewrap]) async throws -> Int

    /// Items by id, in the order given, skipping ids that do not exist.
    func items(ids: [String]) async throws -> [Item]
    /// Stores a new request durably, with its trail entry in the same transaction.
    func insertRequest(_ request: AccessRequest, audit: AuditRecord, events: [FeedEvent]) async throws
    func request(id: String) async throws -> AccessRequest?
    func requests(matching query: RequestQuery) async throws -> [AccessRequest]
    func reviews(requestID: String) async throws -> [Review]
    /// Records a review. `resolve` sees the request and its earlier reviews as of the transaction and decides
    /// (or throws to refuse, and nothing is written); the review, the request's new decision, any grant and the
    /// resolution's trail entries commit together.
    func review(_ review: Review, resolve: @escaping @Sendable (AccessRequest, [Review]) throws -> ReviewResolution) async throws -> ReviewResolution
    func grant(id: String) async throws -> Grant?
    func grants(matching query: GrantQuery) async throws -> [Grant]
    /// Ids of items `agency` holds a live grant for at `now`.
    func grantedItems(agency: String, at now: Date) async throws -> Set<String>
    func hasLiveGrant(agency: String, item: String, at now: Date) async throws -> Bool
    /// Revokes a grant not yet revoked (false if it already was), with its trail entry in the same transaction.
    func revokeGrant(id: String, by revoker: String, at now: Date, audit: AuditRecord, events: [FeedEvent]) async throws -> Bool

    /// A principal's events after `cursor`, oldest first.
    func events(for principal: String, after cursor: Int64, limit: Int) async throws -> [StoredFeedEvent]
    /// Events up to this cursor have been pruned: a client behind it has missed some.
    func feedHorizon() async throws -> Int64
    /// The highest cursor ever given out.
    func latestFeedCursor() async throws -> Int64
    /// Deletes events older than `time`, moving the horizon; returns how many went.
    func pruneEvents(before time: Date) async throws -> Int
    /// Live grants whose `notice` is due at `now` and not yet given.
    func grantsDue(notice: GrantNotice, at now: Date) async throws -> [Grant]
    /// Marks the notice given and appends its events, once (false if it was already given).
    func noteGrant(_ id: String, notice: GrantNotice, events: [FeedEvent]) async throws -> Bool

    /// The lead's state once it has moved; nil for a lead still open with its owner.
    func lead(itemID: String) async throws -> Lead?
    /// Ids of leads `agency` holds after a hand-over or a move.
    func leadsHeld(by agency: String) async throws -> Set<String>
    /// Leads `agency` owns or holds, newest first, with their state (nil: open with the owner).
    func leads(concerning agency: String) async throws -> [(Item, Lead?)]
    /// Moves a lead from `previous` to `lead` if it is still in `previous`'s status and holder (false otherwise),
    /// with its trail entry and events in the same transaction.
    func moveLead(_ lead: Lead, from previous: Lead, audit: AuditRecord, events: [FeedEvent]) async throws -> Bool

    func insertDossier(_ dossier: Dossier, audit: AuditRecord) async throws
    func dossier(id: String) async throws -> Dossier?
    /// Rectification items that answer any of these feedback items, oldest first.
    func rectifications(answering feedback: [String]) async throws -> [Item]
}
