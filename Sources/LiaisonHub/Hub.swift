public import Foundation
public import LiaisonCore
public import LiaisonCrypto
public import LiaisonStore
public import Logging
import Synchronization

/// The use cases of Liaison: where the policy's rules meet storage and crypto. Testable without HTTP.
public final class Hub: Sendable {
    /// The policy a decision reads: the snapshot of the request being handled (`withPolicySnapshot`), else the
    /// policy in force now. `reloadPolicy` replaces the one in force whole, and never a snapshot already taken.
    public var policy: Policy { Self.snapshot ?? current.withLock { $0 } }
    private let current: Mutex<Policy>
    @TaskLocal static var snapshot: Policy?

    /// Runs `body` (one request) against one snapshot of the policy from start to end, so that a reload in
    /// between cannot mix two policies in one answer.
    public func withPolicySnapshot<T>(_ body: () async throws -> T) async rethrows -> T {
        try await Self.$snapshot.withValue(current.withLock { $0 }) { try await body() }
    }
    let store: any HubStore
    /// The key ring, which rotation changes while the hub serves.
    public let keys: KeyCustody
    /// A cipher over the key ring as it is now.
    var cipher: PayloadCipher { PayloadCipher(keyRing: keys.ring) }
    let clock: @Sendable () -> Date
    public let limits: HubLimits
    let ids = ItemIDGenerator()
    /// Long-polling feed readers, woken when an event for them commits.
    let feedWaiters = FeedWaiters()
    let logger: Logger
    /// The hub's key and certificate: it signs the audit chain's heads and opens payloads sealed to it.
    /// Nil in a hub that does neither.
    let identity: HubIdentity?
    /// The hub's certificate (PEM), served with the heads so clients can check the signatures.
    public var certificatePEM: String? { identity?.certificate.pem }

    /// `keyRingPath` is where rotation writes the ring; nil keeps it in memory only.
    public init(policy: Policy, store: any HubStore, keyRing: KeyRing, keyRingPath: String? = nil, limits: HubLimits = HubLimits(),
                identity: HubIdentity? = nil,
                logger: Logger = Logger(label: "liaison.hub"), clock: @escaping @Sendable () -> Date = { Date() }) {
        self.identity = identity
        self.current = Mutex(policy)
        self.store = store
        self.keys = KeyCustody(ring: keyRing, path: keyRingPath)
        self.clock = clock
        self.limits = limits
        self.logger = logger
    }

    /// Loads the policy folder again and puts it in force if it is valid; an invalid one leaves the
    /// old policy in force. Either way the attempt is an audit entry.
    public func reloadPolicy(from directory: String, by actor: String = "operator") async throws -> Policy {
        let loaded: Policy
        do {
            loaded = try PolicyLoader.load(directory: directory)
        } catch let error as PolicyError {
            try await record(actor, "reloadPolicy", outcome: "refused", detail: ["code": "invalid_policy", "problems": String(error.problems.count)])
            throw error
        }
        try await record(actor, "reloadPolicy", detail: ["principals": String(loaded.principalIDs.count), "units": String(loaded.units.count)])
        current.withLock { $0 = loaded }
        return loaded
    }

    /// The declared principal for a certificate CN, or a 403 that names the CN.
    public func principal(commonName: String) throws -> Principal {
        guard let principal = policy.principal(commonName) else {
            throw HubError(.forbidden, code: "unknown_principal",
                           message: "the certificate's CN '\(commonName)' is not a principal declared in the policy",
                           hint: "Ask the hub's administrator to declare '\(commonName)' under agencies or people in the policy, or use a certificate issued to a declared principal")
        }
        return principal
    }

    /// What `reader` may see of `item` now: the policy's answer, or read through a live grant to its agency,
    /// or as the agency a lead was handed to. The grant is checked on every read, so an expired or revoked one stops at once.
    func access(_ reader: Principal, _ item: Item) async throws -> AccessDecision.Access {
        let now = clock()
        let access = policy.access(of: reader, to: item.subject, at: now)
        guard access != .read else { return .read }
        if try await store.hasLiveGrant(agency: reader.agency.id, item: item.id, at: now) { return .read }
        if item.kind == "lead", try await store.lead(itemID: item.id)?.holder == reader.agency.id { return .read }
        return access
    }

    /// The decision and the rule behind it, for `liaison policy explain`. Someone may explain
    /// their own access; auditors and administrators may explain anyone's.
    public func explain(principal id: String, item itemID: String, by caller: Principal) async throws -> AccessDecision {
        try await traced(caller.id, "explainAccess", targets: [itemID]) {
            let decision = try await decide(principal: id, item: itemID, by: caller)
            try await record(caller.id, "explainAccess", targets: [itemID], detail: ["principal": id, "access": decision.access.rawValue])
            return decision
        }
    }

    func decide(principal id: String, item itemID: String, by caller: Principal) async throws -> AccessDecision {
        guard id == caller.id || caller.roles.contains(.auditor) || caller.roles.contains(.administrator) else {
            throw HubError(.forbidden, code: "forbidden", message: "only auditors and administrators may explain another principal's access",
                           hint: "Explain your own access with --principal \(caller.id)")
        }
        guard let reader = policy.principal(id) else {
            throw HubError.invalidField("principal", "'\(id)' is not a principal declared in the policy", hint: "Use a principal id from the policy (`liaison policy check` lists them)")
        }
        guard let item = try await store.item(id: itemID), try await access(caller, item) != .hidden else { throw HubError.itemNotFound(itemID) }
        let now = clock()
        let decision = policy.decide(for: reader, about: item.subject, at: now)
        guard decision.access != .read,
              let grant = try await store.grants(matching: GrantQuery(agency: reader.agency.id, liveAt: now)).first(where: { $0.itemIDs.contains(itemID) }) else {
            return decision
        }
        return AccessDecision(access: .read, reason: "\(decision.reason); but grant \(grant.id) (request \(grant.requestID)) lets \(reader.agency.id) read it until \(ISO8601DateFormatter().string(from: grant.expiresAt))")
    }
}
