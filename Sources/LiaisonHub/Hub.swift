public import Foundation
public import LiaisonCore
public import LiaisonCrypto
public import LiaisonStore
public import Logging
import Synchronization

/// The use cases of Liaison, where the policy's rules meet storage and crypto: one service per concern, each
/// over the narrow store protocol it needs, all called with a `HubContext`. Testable without HTTP.
public final class Hub: Sendable {
    public let items: ItemService
    public let sharing: SharingService
    public let leads: LeadService
    public let dossiers: DossierService
    public let feeds: FeedService
    public let keys: KeyService
    public let audit: AuditService
    public let correlation: CorrelationService
    public let alerts: AlertService
    public let limits: HubLimits
    /// Bytes of large answers held at once while they are sent (`HubLimits.answerBudget`).
    public let answers: ByteBudget

    /// The policy in force; `reloadPolicy` replaces it whole. A request decides under the snapshot its
    /// context took (`context(for:)`), never under this one again.
    public var policy: Policy { current.withLock { $0 } }
    private let current: Mutex<Policy>
    private let trail: AuditTrail
    /// What the gauges are read from.
    private let store: any HubStore
    private let clock: @Sendable () -> Date
    /// The hub's key and certificate: it signs the audit chain's heads and opens payloads sealed to it.
    /// Nil in a hub that does neither.
    private let identity: HubIdentity?
    /// The hub's certificate (PEM), served with the heads so clients can check the signatures.
    public var certificatePEM: String? { identity?.certificate.pem }
    /// What its store's batches wait for (`WriteDemand`), for the requests it answers to be counted.
    public var writeDemand: WriteDemand? { (store as? any CommitObservable)?.writeDemand }

    /// A hub keeping its own key ring: `keyRingPath` is where rotation writes it; nil keeps it in memory only.
    public convenience init(policy: Policy, store: any HubStore, keyRing: KeyRing, keyRingPath: String? = nil, limits: HubLimits = HubLimits(),
                            identity: HubIdentity? = nil,
                            logger: Logger = Logger(label: "liaison.hub"), clock: @escaping @Sendable () -> Date = { Date() }) {
        self.init(policy: policy, store: store, keys: KeyCustody(ring: keyRing, path: keyRingPath), limits: limits, identity: identity, logger: logger,
                  clock: clock)
    }

    /// A hub whose key ring `keys` keeps (its own file, or a ring shared with other hubs through the database).
    public init(policy: Policy, store: any HubStore, keys custody: KeyCustody, limits: HubLimits = HubLimits(), identity: HubIdentity? = nil,
                logger: Logger = Logger(label: "liaison.hub"), clock: @escaping @Sendable () -> Date = { Date() }) {
        self.identity = identity
        self.current = Mutex(policy)
        self.clock = clock
        self.limits = limits
        self.store = store
        let trail = AuditTrail(store: store, clock: clock, logger: logger)
        self.trail = trail
        let vault = ItemVault(keys: custody, logger: logger)
        let access = AccessResolver(grants: store, leads: store)
        let ids = ItemIDGenerator()
        let waiters = FeedWaiters()
        let answers = ByteBudget(limit: limits.answerBudget, ownerLimit: limits.answerShare)
        self.answers = answers
        let items = ItemService(store: store, grants: store, access: access, vault: vault, ids: ids, feedWaiters: waiters, limits: limits,
                                identity: identity, logger: logger, rows: ItemRowCache(), answers: answers)
        let alerts = AlertService(store: store, items: store, access: access)
        self.alerts = alerts
        let sharing = SharingService(requests: store, grants: store, items: store, alerts: alerts, access: access, vault: vault, ids: ids, feedWaiters: waiters,
                                     limits: limits, logger: logger, answers: answers)
        self.items = items
        self.sharing = sharing
        leads = LeadService(store: store, items: items, vault: vault, feedWaiters: waiters)
        dossiers = DossierService(store: store, items: store, leads: store, requests: store, itemService: items, sharing: sharing, access: access,
                                  vault: vault, ids: ids, limits: limits, answers: answers, correlation: store)
        feeds = FeedService(store: store, waiters: waiters, limits: limits, clock: clock)
        keys = KeyService(store: store, vault: vault, trail: trail, logger: logger)
        audit = AuditService(store: store, identity: identity, limits: limits, answers: answers, clock: clock)
        correlation = CorrelationService(store: store, items: store, itemService: items, access: access, vault: vault)
    }

    /// A request by `principal`, decided under the policy in force now for as long as it runs.
    public func context(for principal: Principal) -> HubContext {
        HubContext(principal: principal, policy: policy, now: clock(), trail: trail)
    }

    /// A request by the principal whose certificate CN this is, under the policy in force now; a 403 naming the
    /// CN, traced, if the policy does not declare it. One snapshot serves both the lookup and the request.
    public func context(commonName: String) async throws -> HubContext {
        let policy = self.policy
        guard let principal = policy.principal(commonName) else {
            throw await refusal(Self.unknownPrincipal(commonName), actor: "cn:\(commonName)", action: .authenticate)
        }
        return HubContext(principal: principal, policy: policy, now: clock(), trail: trail)
    }

    /// The declared principal for a certificate CN under the policy in force now, or a 403 that names the CN.
    public func principal(commonName: String) throws -> Principal {
        guard let principal = policy.principal(commonName) else { throw Self.unknownPrincipal(commonName) }
        return principal
    }

    static func unknownPrincipal(_ commonName: String) -> HubError {
        HubError(.forbidden, code: "unknown_principal",
                 message: "the certificate's CN '\(commonName)' is not a principal declared in the policy",
                 hint: "Ask the hub's administrator to declare '\(commonName)' under agencies or people in the policy, or use a certificate issued to a declared principal")
    }

    /// Records a refusal of someone who is not (yet) a principal, such as a certificate refused at authentication, once.
    public func refusal(_ error: HubError, actor: String, action: AuditAction) async -> HubError {
        await trail.refusal(error, actor: actor, action: action.rawValue)
    }

    /// Loads the policy folder again and puts it in force if it is valid; an invalid one leaves the
    /// old policy in force. Either way the attempt is an audit entry.
    public func reloadPolicy(from directory: String, by actor: String = "operator") async throws -> Policy {
        let loaded: Policy
        do {
            loaded = try PolicyLoader.load(directory: directory)
        } catch let error as PolicyError {
            try await trail.record(AuditRecord(time: clock(), actor: actor, action: .reloadPolicy, outcome: "refused",
                                               detail: ["code": "invalid_policy", "problems": String(error.problems.count)]))
            throw error
        }
        try await trail.record(AuditRecord(time: clock(), actor: actor, action: .reloadPolicy,
                                           detail: ["principals": String(loaded.principalIDs.count), "units": String(loaded.units.count)]))
        current.withLock { $0 = loaded }
        return loaded
    }

    /// Gives each live grant's holders their "expires within 24 h" and "expired" events, once each.
    public func noteGrantDeadlines() async throws {
        try await sharing.noteGrantDeadlines(now: clock(), policy: policy)
    }

    /// Removes the chunks of streamed pushes cut off before their item was stored (a crash, a dropped connection the
    /// hub could not clean up after) and older than `age`: younger ones may belong to a push still streaming, here
    /// or on another hub of a shared database. Returns how many chunks went.
    public func sweepAbandonedChunks(olderThan age: TimeInterval) async throws -> Int {
        try await store.sweepAbandonedChunks(before: clock().addingTimeInterval(-age))
    }

    /// The hub's state now, for the operator's metrics.
    public func gauges() async throws -> HubGauges {
        let now = clock()
        let head = try await store.auditHead()
        let signed = try await store.latestSignedHead()
        var versions: [UInt32: Int] = [:]
        let counts = try await store.dataKeyCounts()
        for version in keys.ring.versionList.map(\.version) { versions[version] = counts[version] ?? 0 }
        return HubGauges(chainLength: head.seq, secondsSinceSignedHead: signed.map { now.timeIntervalSince(Date(millisecondsSince1970: $0.timeMs)) },
                         signedThrough: signed?.seq ?? 0, waitingFeedReaders: feeds.waitingReaders,
                         pendingRequests: try await store.openRequestCount(at: now), activeGrants: try await store.liveGrantCount(at: now),
                         keyVersions: versions, answerBytesHeld: answers.held, answerBudget: answers.limit)
    }
}
