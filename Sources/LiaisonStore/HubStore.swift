public import Foundation
public import LiaisonCore

// Where the hub keeps its data, as one narrow protocol per use case, so that each service names only what it
// needs and a second store can be written one protocol at a time. SQLite (`SQLiteStore`) is the embedded default.
// Every write that changes state takes its trail entry (and feed events) and commits them in the same transaction.

/// The audit trail: one hash chain, appended durably, and the heads the hub signed.
public protocol AuditStore: Sendable {
    /// Appends one entry to the trail durably; an action that must be traced waits for this before it happens.
    func record(_ audit: AuditRecord) async throws
    func auditEntries(matching query: AuditQuery) async throws -> [AuditEntry]
    /// Up to `limit` entries after `after` in the trail's compact form (`AuditChainText`), and how many.
    func auditChain(after: Int64, limit: Int) async throws -> (text: [UInt8], count: Int)
    /// The last entry's sequence number and hash (0 and the genesis hash when the trail is empty).
    func auditHead() async throws -> (seq: Int64, hash: String)
    func saveSignedHead(_ head: SignedHead) async throws
    /// Keeps the certificate (PEM) that signs heads under `fingerprint` (its `SignedHead.signer`), once.
    func saveSigner(fingerprint: String, certificate: String) async throws
    /// The certificates kept under these fingerprints (those unknown are left out).
    func signers(_ fingerprints: Set<String>) async throws -> [String: String]
    func signedHeads(after seq: Int64, limit: Int) async throws -> [SignedHead]
    func latestSignedHead() async throws -> SignedHead?
}

extension AuditStore {
    /// The compact form built from pages of entries (a store may write it straight from its rows instead).
    public func auditChain(after: Int64, limit: Int) async throws -> (text: [UInt8], count: Int) {
        var text: [UInt8] = []
        var count = 0
        var last = after
        while count < limit {
            let wanted = min(5_000, limit - count)
            let entries = try await auditEntries(matching: AuditQuery(after: last, limit: wanted))
            for entry in entries { AuditChainText.append(entry, to: &text) }
            count += entries.count
            guard entries.count == wanted, let next = entries.last?.seq else { break }
            last = next
        }
        return (text, count)
    }
}

/// Items and their payloads.
public protocol ItemStore: Sendable {
    /// Stores an item and its payload durably before returning (or finds the earlier push under the same claim),
    /// appending `audit` to the trail in the same transaction (its outcome and target adjusted for a replay or conflict).
    /// `events` are appended only if the item is created (not for a replay or a conflict).
    /// `marks` are the item's blind-index marks (`CorrelationStore`), stored with it. Once a created item is stored,
    /// `watch` (if any) is shown the items of its keys and the alerts it raises are stored with their entries and events.
    func insert(_ item: Item, payload: StoredPayload, claim: IdempotencyClaim?, audit: AuditRecord, events: [FeedEvent], marks: [String],
                watch: AlertWatch?) async throws -> InsertOutcome
    func item(id: String) async throws -> Item?
    func payload(id: String) async throws -> StoredPayload?
    /// Payloads by item id, read together (as of one moment); ids without a payload are left out.
    func payloads(ids: [String]) async throws -> [String: StoredPayload]
    /// Newest first.
    func items(matching query: ItemQuery) async throws -> [Item]
    /// Items by id, in the order given, skipping ids that do not exist.
    func items(ids: [String]) async throws -> [Item]
    /// Rectification items that answer any of these feedback items, oldest first.
    func rectifications(answering feedback: [String]) async throws -> [Item]
}

/// Payloads streamed in, too large to hold in memory: kept as numbered chunks, written durably as they arrive and
/// before the item that owns them (`ItemStore.insert` with `StoredPayload.chunks`), in the same database as the rest
/// so that backups, copies and a shared cluster hold them with their items.
public protocol PayloadChunkStore: Sendable {
    /// Stores `chunks` of the payload of `itemID` (not stored yet), numbered from `index`, durably, in one transaction.
    func appendChunks(_ chunks: [StoredChunk], of itemID: String, from index: Int, at time: Date) async throws
    /// Up to `limit` chunks of an item's payload from `index`, in order.
    func chunks(of itemID: String, from index: Int, limit: Int) async throws -> [StoredChunk]
    /// Removes the chunks of a push that did not store its item (refused, replayed or cut off).
    func discardChunks(of itemID: String) async throws
    /// Removes chunks written before `time` that no stored item owns (pushes cut off by a crash); how many went.
    func sweepAbandonedChunks(before time: Date) async throws -> Int
}

/// The blind index of the persons and tags items name: marks (`KeyRing.blindMark` of a normalised name) by item,
/// never the names, so that the database alone does not tell whom a confidential item names.
public protocol CorrelationStore: Sendable {
    /// The marks of one item.
    func marks(of itemID: String) async throws -> [String]
    /// The items carrying any of `marks`, each with the marks it carries of them; the newest `limit` items.
    func items(marked marks: [String], limit: Int) async throws -> [String: Set<String>]
    /// Items stored before the index existed, still to be marked (at most `limit`).
    func unmarkedItems(limit: Int) async throws -> [String]
    /// Stores the marks of items stored before the index and takes them off the unmarked list, in one transaction.
    func addMarks(_ marks: [String: [String]]) async throws
}

/// Risk alerts the rules raised (stored with the push that raised each, `ItemStore.insert`).
public protocol AlertStore: Sendable {
    func alert(id: String) async throws -> RiskAlert?
    /// The newest `limit` alerts that went to `principal` (nil: every alert), newest first.
    func alerts(notifying principal: String?, limit: Int) async throws -> [RiskAlert]
}

/// The wrapped data keys of encrypted items, which key rotation rewraps.
public protocol DataKeyStore: Sendable {
    /// How many stored data keys each key-ring version wraps.
    func dataKeyCounts() async throws -> [UInt32: Int]
    /// Up to `limit` stored data keys wrapped under a version other than `version`.
    func dataKeys(notUnder version: UInt32, limit: Int) async throws -> [StoredDataKey]
    /// Replaces wrapped data keys (the payload's and the sealed metadata's together, in one transaction);
    /// a key no longer under its `previousVersion` is left alone. Returns how many were replaced.
    func replaceDataKeys(_ rewraps: [DataKeyRewrap]) async throws -> Int
}

/// A key ring kept in the database for the hubs that share it, sealed under their master key: the store never
/// holds it open, only the versions it holds, against which it checks every data key written.
public struct KeptKeyRing: Sendable, Equatable {
    public let generation: Int64
    public let versions: [UInt32]
    public let sealed: [UInt8]

    public init(generation: Int64, versions: [UInt32], sealed: [UInt8]) {
        self.generation = generation
        self.versions = versions
        self.sealed = sealed
    }
}

/// Where hubs sharing a database keep their key ring (PostgreSQL; a SQLite hub keeps its ring in a file).
public protocol KeyRingStore: Sendable {
    /// The ring as kept, if its generation is newer than `generation` (nil: any).
    func keptKeyRing(after generation: Int64?) async throws -> KeptKeyRing?
    /// Keeps `ring` if the kept ring is still at `generation` (nil: none is kept yet) and no stored data key uses
    /// a version it drops; false, keeping nothing, otherwise. Checked under the ring's lock, which every write of
    /// a data key holds shared: no key under a dropped version can commit meanwhile, and once the ring is kept a
    /// write under a version it no longer holds fails with `StoreError.retiredKeyVersion`.
    func keepKeyRing(_ ring: KeptKeyRing, over generation: Int64?) async throws -> Bool
}

/// Access requests and their reviews.
public protocol RequestStore: Sendable {
    /// Stores a new request durably, with its trail entry in the same transaction.
    func insertRequest(_ request: AccessRequest, audit: AuditRecord, events: [FeedEvent]) async throws
    func request(id: String) async throws -> AccessRequest?
    func requests(matching query: RequestQuery) async throws -> [AccessRequest]
    func reviews(requestID: String) async throws -> [Review]
    /// How many requests are pending and not expired at `now` (for the operator's metrics).
    func openRequestCount(at now: Date) async throws -> Int
    /// Records a review. `resolve` sees the request and its earlier reviews as of the transaction and decides
    /// (or throws to refuse, and nothing is written); the review, the request's new decision, any grant and the
    /// resolution's trail entries commit together.
    func review(_ review: Review, resolve: @escaping @Sendable (AccessRequest, [Review]) throws -> ReviewResolution) async throws -> ReviewResolution
}

/// Grants that approvals created, read on every access beyond the policy.
public protocol GrantStore: Sendable {
    func grant(id: String) async throws -> Grant?
    func grants(matching query: GrantQuery) async throws -> [Grant]
    /// Ids of items `agency` holds a live grant for at `now`.
    func grantedItems(agency: String, at now: Date) async throws -> Set<String>
    /// Those of `ids` that `agency` holds a live grant for at `now`, at a cost that follows how many are asked about,
    /// however many the agency was granted.
    func grantedItems(agency: String, among ids: [String], at now: Date) async throws -> Set<String>
    func hasLiveGrant(agency: String, item: String, at now: Date) async throws -> Bool
    /// How many grants are neither revoked nor expired at `now` (for the operator's metrics).
    func liveGrantCount(at now: Date) async throws -> Int
    /// Revokes a grant not yet revoked (false if it already was), with its trail entry in the same transaction.
    func revokeGrant(id: String, by revoker: String, at now: Date, audit: AuditRecord, events: [FeedEvent]) async throws -> Bool
    /// Live grants whose `notice` is due at `now` and not yet given.
    func grantsDue(notice: GrantNotice, at now: Date) async throws -> [Grant]
    /// Marks the notice given and appends its events, once (false if it was already given).
    func noteGrant(_ id: String, notice: GrantNotice, events: [FeedEvent]) async throws -> Bool
}

/// Each principal's feed of events.
public protocol FeedStore: Sendable {
    /// The feed's horizon (events up to it have been pruned: a client behind it has missed some) and the highest
    /// cursor ever given out, in one read.
    func feedBounds() async throws -> (horizon: Int64, latest: Int64)
    /// One read of a principal's page of the feed: the highest cursor given out, read first, then the principal's
    /// own events after `cursor` (at most `limit`) and the events stored for every reader after it (at most
    /// `sharedLimit`), each oldest first; no events when nothing is past `cursor`. A long-poll woken by a push
    /// reads this, once per reader: one read instead of three.
    func feedSlice(for principal: String, after cursor: Int64, limit: Int, sharedLimit: Int) async throws -> FeedSlice
    /// Deletes events older than `time`, moving the horizon; returns how many went.
    func pruneEvents(before time: Date) async throws -> Int
}

/// A store several hubs share tells each of them of the feed events any of them commits, so that a long-poll
/// waiting on one hub wakes for a push committed on another.
public protocol FeedEventBroadcast: Sendable {
    /// Calls `wake` with the wake lines (`FeedEvent.wakeLine`) of the events commits appended (nil: perhaps anyone,
    /// as after a reconnection, when notices may have been missed), until the task is cancelled.
    func listenForFeedEvents(_ wake: @escaping @Sendable (_ lines: [String]?) -> Void) async
}

/// The lead hand-over ledger.
public protocol LeadStore: Sendable {
    /// The lead's state once it has moved; nil for a lead still open with its owner.
    func lead(itemID: String) async throws -> Lead?
    /// Ids of leads `agency` holds after a hand-over or a move.
    func leadsHeld(by agency: String) async throws -> Set<String>
    /// Leads `agency` owns or holds, newest first, with their state (nil: open with the owner).
    func leads(concerning agency: String) async throws -> [(Item, Lead?)]
    /// Moves a lead from `previous` to `lead` if it is still in `previous`'s status and holder (false otherwise),
    /// with its trail entry and events in the same transaction.
    func moveLead(_ lead: Lead, from previous: Lead, audit: AuditRecord, events: [FeedEvent]) async throws -> Bool
}

/// Pre-inspection dossiers.
public protocol DossierStore: Sendable {
    func insertDossier(_ dossier: Dossier, audit: AuditRecord) async throws
    func dossier(id: String) async throws -> Dossier?
}

/// Everything the hub keeps: what a store implements to serve a whole hub.
public typealias HubStore = AuditStore & ItemStore & PayloadChunkStore & DataKeyStore & RequestStore & GrantStore & FeedStore & LeadStore & DossierStore & CorrelationStore & AlertStore

/// A store that can say how its commits go, for the operator's metrics.
public protocol CommitObservable: Sendable {
    /// Calls `observe` after each commit with the number of writes it held and how long it took.
    func observeCommits(_ observe: @escaping @Sendable (_ writes: Int, _ duration: Duration) -> Void)
    /// What the store's batches wait for: the hub counts the requests it answers there.
    var writeDemand: WriteDemand { get }
}
