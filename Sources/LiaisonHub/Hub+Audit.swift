import Foundation
public import LiaisonCore
public import LiaisonStore
import LiaisonCrypto

/// The trace: every action and every refusal is one entry, written before the action's result is released.
extension Hub {
    /// Appends an entry; if it cannot be written, the action it records must not happen, so this throws.
    func record(_ actor: String, _ action: String, targets: [String] = [], unit: String? = nil, outcome: String = "ok",
                detail: [String: String] = [:]) async throws {
        do {
            try await store.record(AuditRecord(time: clock(), actor: actor, action: action, targets: targets, unit: unit, outcome: outcome, detail: detail))
        } catch StoreError.full {
            // Logged once per spell by the server's storage alarm, not once per refused request.
            throw HubError.storageFull
        } catch {
            logger.critical("the audit trail cannot be written; refusing the action", metadata: ["action": "\(action)", "error": "\(error)"])
            throw HubError(.internalFailure, code: "audit_unavailable", message: "the hub cannot record this action in its audit trail, so it did not perform it",
                           hint: "Report this to the hub's operator")
        }
    }

    /// Records a refusal (once) and returns the error to throw.
    public func refusal(_ error: HubError, actor: String, action: String, targets: [String] = [], unit: String? = nil) async -> HubError {
        guard !error.recorded else { return error }
        var detail = ["code": error.code]
        if let field = error.field { detail["field"] = field }
        do {
            try await record(actor, action, targets: targets, unit: unit, outcome: "refused", detail: detail)
        } catch let failure as HubError {
            return failure
        } catch {}
        var recorded = error
        recorded.recorded = true
        return recorded
    }

    /// Runs an action for `actor`, recording any refusal it throws.
    func traced<T>(_ actor: String, _ action: String, targets: [String] = [], unit: String? = nil, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as HubError {
            throw await refusal(error, actor: actor, action: action, targets: targets, unit: unit)
        }
    }

    /// A page of the trail, for auditors only.
    public func auditEntries(_ query: AuditQuery, by reader: Principal) async throws -> [AuditEntry] {
        try await traced(reader.id, "listAudit") {
            try requireAuditor(reader)
            try validatePage(after: query.after, limit: query.limit)
            if let since = query.since, let until = query.until, since > until {
                throw HubError.invalidField("until", "until is before since", hint: "Give a time range whose since comes first")
            }
            if let item = query.item, !item.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) {
                throw HubError.invalidField("item", "'\(item)' is not an item id", hint: "Item ids are letters and digits, as `liaison list` shows them")
            }
            let entries = try await store.auditEntries(matching: query)
            try await record(reader.id, "listAudit", detail: ["after": String(query.after), "count": String(entries.count)])
            return entries
        }
    }

    /// The last entry of the trail and the latest head the hub signed.
    public func auditHead(by reader: Principal) async throws -> (seq: Int64, hash: String, signed: SignedHead?) {
        try await traced(reader.id, "getAuditHead") {
            try requireAuditor(reader)
            let head = try await store.auditHead()
            return (head.seq, head.hash, try await store.latestSignedHead())
        }
    }

    /// Every head the hub signed, oldest first, from `after`.
    public func signedHeads(after seq: Int64, limit: Int, by reader: Principal) async throws -> [SignedHead] {
        try await traced(reader.id, "listAuditHeads") {
            try requireAuditor(reader)
            try validatePage(after: seq, limit: limit)
            return try await store.signedHeads(after: seq, limit: limit)
        }
    }

    /// Signs the chain's current head if it moved since the last signature; returns what it signed.
    @discardableResult
    public func signAuditHead() async throws -> SignedHead? {
        guard let identity else { return nil }
        let head = try await store.auditHead()
        let latest = try await store.latestSignedHead()
        guard head.seq > (latest?.seq ?? 0) else { return nil }
        let time = Int64((clock().timeIntervalSince1970 * 1000).rounded(.down))
        let signed = SignedHead(seq: head.seq, hash: head.hash, timeMs: time,
                                signature: try identity.key.sign(SignedHead.message(seq: head.seq, hash: head.hash, timeMs: time)))
        try await store.saveSignedHead(signed)
        return signed
    }

    /// Entries appended since the last signed head (to decide when to sign next).
    public func unsignedAuditEntries() async throws -> Int64 {
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
