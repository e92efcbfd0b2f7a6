import Foundation
import LiaisonCore
import LiaisonStore
import Logging

/// Where every action and every refusal is written, before the action's result is released.
struct AuditTrail: Sendable {
    let store: any AuditStore
    let clock: @Sendable () -> Date
    let logger: Logger

    /// Appends an entry; if it cannot be written, the action it records must not happen, so this throws.
    func record(_ entry: AuditRecord) async throws {
        do {
            try await store.record(entry)
        } catch StoreError.full {
            // Logged once per spell by the server's storage alarm, not once per refused request.
            throw HubError.storageFull
        } catch StoreError.unavailable {
            throw HubError.databaseUnavailable
        } catch {
            logger.critical("the audit trail cannot be written; refusing the action", metadata: ["action": "\(entry.action)", "error": "\(error)"])
            throw HubError(.internalFailure, code: "audit_unavailable", message: "the hub cannot record this action in its audit trail, so it did not perform it",
                           hint: "Report this to the hub's operator")
        }
    }

    /// Records a refusal (once) and returns the error to throw.
    /// A database that cannot be reached cannot take the refusal either: nothing happened, and trying again would
    /// only keep the caller waiting for a second deadline.
    func refusal(_ error: HubError, actor: String, action: String, targets: [String] = [], unit: String? = nil) async -> HubError {
        guard !error.recorded, error != HubError.databaseUnavailable else { return error }
        var detail = ["code": error.code]
        if let field = error.field { detail["field"] = field }
        do {
            try await record(AuditRecord(time: clock(), actor: actor, action: action, targets: targets, unit: unit, outcome: "refused", detail: detail))
        } catch let failure as HubError {
            return failure
        } catch {}
        var recorded = error
        recorded.recorded = true
        return recorded
    }
}
