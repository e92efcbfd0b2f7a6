public import Foundation
public import LiaisonCore
import LiaisonStore

/// Grants: read access for a requesting agency until expiry or revocation.
extension SharingService {
    /// Grants the viewer's agency holds (any status), and live grants the viewer may revoke.
    public func grants(in context: HubContext) async throws -> [GrantView] {
        try await context.traced(.listGrants) {
            let (viewer, now) = (context.principal, context.now)
            var views: [String: GrantView] = [:]
            for grant in try await grants.grants(matching: GrantQuery(agency: viewer.agency.id)) {
                views[grant.id] = GrantView(grant: grant, status: grant.status(at: now), held: true, revocable: try await mayRevoke(grant, in: context))
            }
            for grant in try await grants.grants(matching: GrantQuery(liveAt: now)) where views[grant.id] == nil {
                if try await mayRevoke(grant, in: context) {
                    views[grant.id] = GrantView(grant: grant, status: grant.status(at: now), held: false, revocable: true)
                }
            }
            let sorted = views.values.sorted { $0.grant.id > $1.grant.id }
            try await context.record(.listGrants, targets: sorted.map(\.grant.id), detail: ["count": String(sorted.count)])
            return sorted
        }
    }

    /// Revokes a grant at once: the next read through it is refused. Only an approver eligible for its items may.
    public func revokeGrant(id: String, in context: HubContext) async throws -> GrantView {
        try await context.traced(.revokeGrant, targets: [id]) {
            let (revoker, now) = (context.principal, context.now)
            guard let grant = try await grants.grant(id: id) else { throw HubError.grantNotFound(id) }
            guard try await mayRevoke(grant, in: context) else {
                guard grant.agency == revoker.agency.id else { throw HubError.grantNotFound(id) }
                throw HubError(.forbidden, code: "not_an_approver", message: "only an approver of the granted items may revoke grant \(id)",
                               hint: "Ask one of the approvers who may approve these items")
            }
            guard grant.isLive(at: now) else {
                throw HubError(.conflict, code: "grant_closed", message: "grant \(id) is already \(grant.status(at: now))", hint: "Nothing to revoke")
            }
            let audit = AuditRecord(time: now, actor: revoker.id, action: .revokeGrant, targets: [id] + grant.itemIDs,
                                    detail: ["agency": grant.agency, "request": grant.requestID])
            let events = context.policy.principals(of: grant.agency).map {
                FeedEvent(principal: $0, kind: .grantRevoked, time: now, request: grant.requestID, grant: id, detail: ["items": String(grant.itemIDs.count)])
            }
            guard try await grants.revokeGrant(id: id, by: revoker.id, at: now, audit: audit, events: events), let revoked = try await grants.grant(id: id) else {
                throw HubError(.conflict, code: "grant_closed", message: "grant \(id) is already revoked", hint: "Nothing to revoke")
            }
            feedWaiters.notify(events.map(\.principal))
            logger.info("grant revoked", metadata: ["grant": "\(id)", "by": "\(revoker.id)"])
            return GrantView(grant: revoked, status: revoked.status(at: now), held: revoked.agency == revoker.agency.id, revocable: false)
        }
    }

    /// Gives each live grant's holders their "expires within 24 h" and "expired" events, once each (a background job, `FeedUpkeep`).
    public func noteGrantDeadlines(now: Date, policy: Policy) async throws {
        for notice in [GrantNotice.expiring, .expired] {
            for grant in try await grants.grantsDue(notice: notice, at: now) {
                let kind: FeedEvent.Kind = notice == .expiring ? .grantExpiring : .grantExpired
                let events = policy.principals(of: grant.agency).map {
                    FeedEvent(principal: $0, kind: kind, time: now, request: grant.requestID, grant: grant.id,
                              detail: ["expires_at": ISO8601DateFormatter().string(from: grant.expiresAt), "items": String(grant.itemIDs.count)])
                }
                if try await grants.noteGrant(grant.id, notice: notice, events: events) { feedWaiters.notify(events.map(\.principal)) }
            }
        }
    }

    /// An approver the policy allows for any of the grant's items, for a request by the grant's agency.
    func mayRevoke(_ grant: Grant, in context: HubContext) async throws -> Bool {
        let viewer = context.principal
        guard viewer.roles.contains(.approver), viewer.agency.id != grant.agency else { return false }
        return try await items.items(ids: grant.itemIDs).contains { context.policy.mayApprove(viewer, $0.subject, forRequestBy: grant.agency, at: context.now) }
    }
}

extension HubError {
    static func grantNotFound(_ id: String) -> HubError {
        HubError(.notFound, code: "not_found", message: "no grant \(id) is visible to you", hint: "`liaison grants` lists the grants you hold or may revoke")
    }
}
