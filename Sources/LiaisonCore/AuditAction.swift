public import Foundation

/// What an audit entry records: an API operation (its operationId in openapi.yaml) or one of the hub's own acts.
/// The trail stores the raw value, so these names are part of the trail's format (docs/audit.md).
public enum AuditAction: String, Sendable, CaseIterable {
    // Items and their payloads.
    case pushItem, listItems, getItem, getItemPayload, explainAccess, updateItem
    // Correlation inside the tiers.
    case relatedItems, findPerson, listAlerts
    // Sharing beyond the policy.
    case createRequest, getRequest, listRequests, approveRequest, denyRequest, listGrants, revokeGrant
    case readFeed, listLeads, createDossier, getDossier, pullDossier, listRectification
    // The trail, the keys and the hub itself.
    case listAudit, getAuditChain, getAuditHead, listAuditHeads, getKeyRing, rotateKeys, getHubCertificate, whoami, healthz
    /// The hub retired key-ring versions no data key uses any more.
    case retireKeys
    /// A push made a risk-alert rule hold: the hub raised an alert (recorded with the push, actor `hub`).
    case raiseAlert
    /// The operator reloaded the policy (SIGHUP).
    case reloadPolicy
    /// A client certificate was refused before any operation.
    case authenticate
}

extension AuditRecord {
    public init(time: Date, actor: String, action: AuditAction, targets: [String] = [], unit: String? = nil, outcome: String = "ok", detail: [String: String] = [:]) {
        self.init(time: time, actor: actor, action: action.rawValue, targets: targets, unit: unit, outcome: outcome, detail: detail)
    }
}
