import Foundation
public import LiaisonCore
import LiaisonCrypto
public import LiaisonStore

/// Filters for reading the trail, as the HTTP layer passes them: the store's own query, which a service passes on as it is.
public typealias TrailFilter = AuditQuery

/// The trace for auditors: pages of the trail and the heads the hub signs, so that anyone holding the hub's
/// certificate can prove the chain was not rewritten (docs/audit.md).
public struct AuditService: Sendable {
    let store: any AuditStore
    /// The hub's key and certificate, which sign the chain's heads; nil in a hub that does not sign.
    let identity: HubIdentity?
    let limits: HubLimits
    /// What answers of the compact trail being sent may hold (`HubLimits.answerBudget`).
    let answers: ByteBudget
    let clock: @Sendable () -> Date

    /// A page of the trail, for auditors only.
    public func entries(_ query: TrailFilter, in context: HubContext) async throws -> [AuditEntry] {
        try await context.traced(.listAudit) {
            try requireAuditor(context.principal)
            try validatePage(after: query.after, limit: query.limit)
            if let since = query.since, let until = query.until, since > until {
                throw HubError.invalidField("until", "until is before since", hint: "Give a time range whose since comes first")
            }
            if let item = query.item, !item.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) {
                throw HubError.invalidField("item", "'\(item)' is not an item id", hint: "Item ids are letters and digits, as `liaison list` shows them")
            }
            let entries = try await store.auditEntries(matching: query)
            try await context.record(.listAudit, detail: ["after": String(query.after), "count": String(entries.count)])
            return entries
        }
    }

    /// Up to `limit` entries after `after` in the trail's compact form (`AuditChainText`), for auditors: what
    /// `liaison audit verify` hashes, without JSON on either side. Read from the store as it is sent.
    public func chain(after: Int64, limit: Int, in context: HubContext) async throws -> SlicedAnswer {
        try await context.traced(.getAuditChain) {
            try requireAuditor(context.principal)
            guard (1...Self.chainPageLimit).contains(limit) else {
                throw HubError.invalidField("limit", "limit must be between 1 and \(Self.chainPageLimit)", hint: "Page through with after= the last entry read")
            }
            guard after >= 0 else { throw HubError.invalidField("after", "after must not be negative", hint: "Start with after=0") }
            // The trail only grows, and its sequence numbers leave no gap: the head says which entries the answer holds
            // before any is read.
            let count = max(0, min(Int64(limit), try await store.auditHead().seq - after))
            let store = self.store
            let slices = (count + Self.entriesPerSlice - 1) / Self.entriesPerSlice
            let answer = try SlicedAnswer(count: Int(slices)) { index in
                let from = after + Int64(index) * Self.entriesPerSlice
                return try await store.auditChain(after: from, limit: Int(min(Self.entriesPerSlice, after + count - from))).text
            }.held(in: answers, slice: Self.bytesPerSlice, for: context.principal.id)
            try await context.record(.getAuditChain, detail: ["after": String(after), "count": String(count)])
            return answer
        }
    }

    /// Entries in a slice of an answer of the compact trail: about 300 KB.
    static let entriesPerSlice: Int64 = 1_000
    /// What a slice is taken to hold in the answer budget: entries naming many items (an access request's) are longer.
    static let bytesPerSlice = 512 << 10

    /// The most entries one answer of the compact trail holds (about 30 MB).
    public static let chainPageLimit = 100_000

    /// The last entry of the trail and the latest head the hub signed.
    public func head(in context: HubContext) async throws -> (seq: Int64, hash: String, signed: SignedHead?) {
        try await context.traced(.getAuditHead) {
            try requireAuditor(context.principal)
            let head = try await store.auditHead()
            return (head.seq, head.hash, try await store.latestSignedHead())
        }
    }

    /// Every head the hubs of this database signed, oldest first, from `after`, with the certificates (PEM, by
    /// fingerprint) that signed them.
    public func signedHeads(after seq: Int64, limit: Int, in context: HubContext) async throws -> (heads: [SignedHead], signers: [String: String]) {
        try await context.traced(.listAuditHeads) {
            try requireAuditor(context.principal)
            try validatePage(after: seq, limit: limit)
            let heads = try await store.signedHeads(after: seq, limit: limit)
            return (heads, try await store.signers(Set(heads.compactMap(\.signer))))
        }
    }

    /// Signs the chain's current head if it moved since the last signature; returns what it signed.
    @discardableResult
    public func signHead() async throws -> SignedHead? {
        guard let identity else { return nil }
        let head = try await store.auditHead()
        let latest = try await store.latestSignedHead()
        guard head.seq > (latest?.seq ?? 0) else { return nil }
        let time = clock().millisecondsSince1970
        let signer = identity.certificate.fingerprint
        let signed = SignedHead(seq: head.seq, hash: head.hash, timeMs: time,
                                signature: try identity.key.sign(SignedHead.message(seq: head.seq, hash: head.hash, timeMs: time)), signer: signer)
        // The certificate first: a head is never kept without the certificate that checks it.
        try await store.saveSigner(fingerprint: signer, certificate: identity.certificate.pem)
        try await store.saveSignedHead(signed)
        return signed
    }

    /// Entries appended since the last signed head (to decide when to sign next).
    public func unsignedEntries() async throws -> Int64 {
        let head = try await store.auditHead()
        return head.seq - (try await store.latestSignedHead()?.seq ?? 0)
    }

    /// A page of the trail or of its signed heads: `after` a sequence number, at most a page's worth.
    func validatePage(after: Int64, limit: Int) throws {
        guard (1...limits.pageSize).contains(limit) else {
            throw HubError.invalidField("limit", "limit must be between 1 and \(limits.pageSize)", hint: "Page through with after=")
        }
        guard after >= 0 else { throw HubError.invalidField("after", "after must not be negative", hint: "Start with after=0") }
    }

    func requireAuditor(_ reader: Principal) throws {
        guard reader.roles.contains(.auditor) else {
            throw HubError(.forbidden, code: "forbidden", message: "only principals with the auditor role may read the audit trail",
                           hint: "Ask an auditor, or ask the administrator for the auditor role in the policy")
        }
    }
}
