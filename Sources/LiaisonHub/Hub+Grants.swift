import Foundation
public import LiaisonCore
import LiaisonStore

/// Grants: read access for a requesting agency until expiry or revocation.
extension Hub {
    /// Grants the viewer's agency holds (any status), and live grants the viewer may revoke.
    public func grants(by viewer: Principal) async throws -> [GrantView] {
        try await traced(viewer.id, "listGrants") {
            let now = clock()
            var views: [String: GrantView] = [:]
            for grant in try await store.grants(matching: GrantQuery(agency: viewer.agency.id)) {
                views[grant.id] = GrantView(grant: grant, status: grant.status(at: now), held: true, revocable: try await mayRevoke(grant, viewer, at: now))
            }
            for grant in try await store.grants(matching: GrantQuery(liveAt: now)) where views[grant.id] == nil {
                if try await mayRevoke(grant, viewer, at: now) {
                    views[grant.id] = GrantView(grant: grant, status: grant.status(at: now), held: false, revocable: true)
                }
            }
            let sorted = views.values.sorted { $0.grant.id > $1.grant.id }
            try await record(viewer.id, "listGrants", targets: sorted.map(\.grant.id), detail: ["count": String(sorted.count)])
            return sorted
        }
    }

    /// Revokes a grant at once: the next read through it is refused. Only an approver eligible for its items may.
    public func revokeGrant(id: String, by revoker: Principal) async throws -> GrantView {
        try await traced(revoker.id, "revokeGrant", targets: [id]) {
            let now = clock()
            guard let grant = try await store.grant(id: id) else { throw HubError.grantNotFound(id) }
            guard try await mayRevoke(grant, revoker, at: now) else {
                guard grant.agency == revoker.agency.id else { throw HubError.grantNotFound(id) }
                throw HubError(.forbidden, code: "not_an_approver", message: "only an approver of the granted items may revoke grant \(id)",
                               hint: "Ask one of the approvers who may approve these items")
            }
            guard grant.isLive(at: now) else {
                throw HubError(.conflict, code: "grant_closed", message: "grant \(id) is already \(grant.status(at: now))", hint: "Nothing to revoke")
            }
            let audit = AuditRecord(time: now, actor: revoker.id, action: "revokeGrant", targets: [id] + grant.itemIDs, outcome: "ok",
                                    detail: ["agency": grant.agency, "request": grant.requestID])
            let events = principals(of: grant.agency).map {
                FeedEvent(principal: $0, kind: .grantRevoked, time: now, request: grant.requestID, grant: id, detail: ["items": String(grant.itemIDs.count)])
            }
            guard try await store.revokeGrant(id: id, by: revoker.id, at: now, audit: audit, events: events), let revoked = try await store.grant(id: id) else {
                throw HubError(.conflict, code: "grant_closed", message: "grant \(id) is already revoked", hint: "Nothing to revoke")
            }
            feedWaiters.notify(events.map(\.principal))
            logger.info("grant revoked", metadata: ["grant": "\(id)", "by": "\(revoker.id)"])
            return GrantView(grant: revoked, status: revoked.status(at: now), held: revoked.agency == revoker.agency.id, revocable: false)
        }
    }

    /// An approver the policy allows for any of the grant's items, for a request by the grant's agency.
    func mayRevoke(_ grant: Grant, _ viewer: Principal, at now: Date) async throws -> Bool {
        guard viewer.roles.contains(.approver), viewer.agency.id != grant.agency else { return false }
        return try await store.items(ids: grant.itemIDs).contains { policy.mayApprove(viewer, $0.subject, forRequestBy: grant.agency, at: now) }
    }
}

extension HubError {
    static func grantNotFound(_ id: String) -> HubError {
        HubError(.notFound, code: "not_found", message: "no grant \(id) is visible to you", hint: "`liaison grants` lists the grants you hold or may revoke")
    }
}
