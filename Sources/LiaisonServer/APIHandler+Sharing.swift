import Foundation
import LiaisonAPI
import LiaisonCore
import LiaisonHub
import OpenAPIRuntime
import ServiceLifecycle

/// Access requests, reviews and grants on the wire.
extension APIHandler {
    func createRequest(_ input: Operations.CreateRequest.Input) async throws -> Operations.CreateRequest.Output {
        guard case .json(let body) = input.body else { throw HubError.bodyNotJSON }
        let view = try await hub.sharing.createRequest(NewAccessRequest(items: body.items, unit: body.unit, alert: body.alert, reason: body.reason, duration: body.duration), in: try context())
        return .created(.init(body: .json(Self.schema(view))))
    }

    func listRequests(_ input: Operations.ListRequests.Input) async throws -> Operations.ListRequests.Output {
        let views = try await hub.sharing.requests(mine: input.query.mine ?? false, status: input.query.status?.rawValue, in: try context())
        return .ok(.init(body: .json(.init(requests: views.map(Self.schema)))))
    }

    /// One request, as the generated route answers (a request the hand-written route does not take: one it refuses too).
    func getRequest(_ input: Operations.GetRequest.Input) async throws -> Operations.GetRequest.Output {
        .ok(.init(body: .json(Self.schema(try await hub.sharing.request(id: input.path.id, in: try context())))))
    }

    /// One request in JSON, as the generated layer writes it; a large one holds its share of the answer budget while it is sent.
    func requestAnswer(id: String) async throws -> DeliveredBody {
        try await hub.sharing.requestAnswer(id: id, in: try context()) { Array(try Wire.jsonEncoder.encode(Self.schema($0))) }
    }

    func approveRequest(_ input: Operations.ApproveRequest.Input) async throws -> Operations.ApproveRequest.Output {
        guard case .json(let body) = input.body else { throw HubError.bodyNotJSON }
        return .ok(.init(body: .json(Self.schema(try await hub.sharing.review(requestID: input.path.id, .approve, comment: body.comment, in: try context())))))
    }

    func denyRequest(_ input: Operations.DenyRequest.Input) async throws -> Operations.DenyRequest.Output {
        guard case .json(let body) = input.body else { throw HubError.bodyNotJSON }
        return .ok(.init(body: .json(Self.schema(try await hub.sharing.review(requestID: input.path.id, .deny, comment: body.comment, in: try context())))))
    }

    func listGrants(_ input: Operations.ListGrants.Input) async throws -> Operations.ListGrants.Output {
        .ok(.init(body: .json(.init(grants: try await hub.sharing.grants(in: try context()).map(Self.schema)))))
    }

    func revokeGrant(_ input: Operations.RevokeGrant.Input) async throws -> Operations.RevokeGrant.Output {
        .ok(.init(body: .json(Self.schema(try await hub.sharing.revokeGrant(id: input.path.id, in: try context())))))
    }

    static func schema(_ view: RequestView) -> Components.Schemas.AccessRequest {
        let request = view.request
        let items = view.items.map { shown -> Components.Schemas.RequestItem in
            let item = shown.item
            let approval = shown.approval
            return .init(id: item.id, kind: item.kind, classification: item.classification.rawValue, owner: item.owner, unit: item.unit,
                         createdAt: item.createdAt, title: shown.showsContent ? item.title : nil, eligibleApprovers: approval.eligibleApprovers,
                         approvedBy: approval.approvedBy, approvalsNeeded: Int64(approval.remaining), commissionApprovalNeeded: approval.commissionApprovalMissing)
        }
        let reviews = view.reviews.map(schema)
        return .init(id: request.id, requester: request.requester, agency: request.agency, reason: request.reason,
                     status: .init(rawValue: view.status.rawValue) ?? .pending, duration: request.duration.description, unit: request.unit,
                     createdAt: request.createdAt, expiresAt: request.expiresAt, decidedAt: request.decidedAt, grantId: request.grantID,
                     items: items, reviews: reviews)
    }

    static func schema(_ summary: RequestSummary) -> Components.Schemas.RequestSummary {
        let request = summary.request
        return .init(id: request.id, requester: request.requester, agency: request.agency, reason: request.reason,
                     status: .init(rawValue: summary.status.rawValue) ?? .pending, duration: request.duration.description, unit: request.unit,
                     createdAt: request.createdAt, expiresAt: request.expiresAt, decidedAt: request.decidedAt, grantId: request.grantID,
                     itemCount: Int64(request.itemIDs.count), levels: summary.levels.map(\.rawValue), approvalsNeeded: Int64(summary.approvalsNeeded),
                     commissionApprovalNeeded: summary.commissionApprovalNeeded, reviews: summary.reviews.map(schema))
    }

    static func schema(_ review: Review) -> Components.Schemas.RequestReview {
        .init(reviewer: review.reviewer, agency: review.agency, decision: review.decision == .approve ? .approve : .deny, comment: review.comment, time: review.time)
    }

    static func schema(_ view: GrantView) -> Components.Schemas.Grant {
        let grant = view.grant
        return .init(id: grant.id, requestId: grant.requestID, agency: grant.agency, items: grant.itemIDs, createdAt: grant.createdAt, expiresAt: grant.expiresAt,
                     status: .init(rawValue: view.status) ?? .active, revokedAt: grant.revokedAt, revokedBy: grant.revokedBy, held: view.held, revocable: view.revocable)
    }
}

/// The feed on the wire.
extension APIHandler {
    func readFeed(_ input: Operations.ReadFeed.Input) async throws -> Operations.ReadFeed.Output {
        let query = input.query
        let context = try context()
        // A graceful shutdown ends long-polls at once (with what they have) instead of waiting up to a minute for them.
        let page = try await withGracefulShutdownHandler {
            let read = { @Sendable [hub] in try await hub.feeds.feed(after: query.after, limit: query.limit ?? 100, wait: query.wait ?? 0, in: context) }
            // A long-poll whose client went away ends then, not when its wait runs out.
            guard (query.wait ?? 0) > 0, let channel = RequestConnection.channel else { return try await read() }
            return try await ConnectionClosures.shared.untilClosed(channel, read) { try await hub.feeds.nothingNew(after: query.after) }
        } onGracefulShutdown: {
            hub.feeds.releaseReaders()
        }
        return .ok(.init(body: .json(.init(events: page.events.map { stored in
            let event = stored.event
            return Components.Schemas.FeedEvent(cursor: stored.cursor, _type: event.kind.rawValue, time: event.time, item: event.item, request: event.request,
                                                grant: event.grant, detail: .init(additionalProperties: event.detail))
        }, cursor: page.cursor))))
    }
}

/// Leads on the wire.
extension APIHandler {
    func updateItem(_ input: Operations.UpdateItem.Input) async throws -> Operations.UpdateItem.Output {
        guard case .json(let body) = input.body else { throw HubError.bodyNotJSON }
        let view = try await hub.leads.moveLead(id: input.path.id, to: body.status.rawValue, holder: body.holder, disposition: body.disposition, in: try context())
        return .ok(.init(body: .json(Self.schema(view))))
    }

    func listLeads(_ input: Operations.ListLeads.Input) async throws -> Operations.ListLeads.Output {
        .ok(.init(body: .json(.init(leads: try await hub.leads.leads(in: try context()).map(Self.schema)))))
    }

    static func schema(_ view: LeadView) -> Components.Schemas.LeadEntry {
        let lead = view.lead
        return .init(item: schema(view.item), status: .init(rawValue: lead.status.rawValue) ?? .open, owner: lead.owner, holder: lead.holder,
                     disposition: lead.disposition, updatedAt: lead.updatedAt, updatedBy: lead.updatedBy)
    }
}

/// Dossiers and rectification on the wire.
extension APIHandler {
    func createDossier(_ input: Operations.CreateDossier.Input) async throws -> Operations.CreateDossier.Output {
        guard case .json(let body) = input.body else { throw HubError.bodyNotJSON }
        return .created(.init(body: .json(Self.schema(try await hub.dossiers.createDossier(unit: body.unit, reason: body.reason, in: try context()), listingItems: false))))
    }

    func getDossier(_ input: Operations.GetDossier.Input) async throws -> Operations.GetDossier.Output {
        .ok(.init(body: .json(try await dossier(id: input.path.id))))
    }

    /// The dossier with its items, as the generated route answers (a request the hand-written route does not take: one it refuses too).
    func dossier(id: String) async throws -> Components.Schemas.Dossier {
        Self.schema(try await hub.dossiers.dossier(id: id, in: try context()), listingItems: true)
    }

    /// A dossier's manifest in JSON, as `DossierJSON` writes it; a large one holds its share of the answer budget while it is sent.
    func manifest(id: String) async throws -> DeliveredBody {
        try await hub.dossiers.manifest(id: id, in: try context()) { try DossierJSON.bytes(of: Self.schema($0, listingItems: true)) }
    }

    func pullDossier(_ input: Operations.PullDossier.Input) async throws -> Operations.PullDossier.Output {
        let asked: [String]? = switch input.body { case .json(let selection)?: selection.items; case nil: nil }
        let archive = try await hub.dossiers.payloads(of: input.path.id, items: asked, presenting: RequestPrincipal.certificate, in: try context())
        return .ok(.init(body: .applicationXTar(Self.streamedBody(archive))))
    }

    func listRectification(_ input: Operations.ListRectification.Input) async throws -> Operations.ListRectification.Output {
        .ok(.init(body: .json(.init(feedback: try await hub.dossiers.rectification(unit: input.query.unit, in: try context()).map(Self.schema)))))
    }

    static func schema(_ feedback: DossierSummary.Feedback) -> Components.Schemas.FeedbackStatus {
        .init(id: feedback.itemID, title: feedback.title, rectified: feedback.rectification != nil, rectification: feedback.rectification, rectifiedAt: feedback.rectifiedAt)
    }

    static func schema(_ lead: DossierSummary.OpenLead) -> Components.Schemas.OpenLead {
        .init(id: lead.itemID, status: .init(rawValue: lead.status.rawValue) ?? .open, ageDays: Int64(lead.ageDays))
    }

    static func schema(_ view: DossierView, listingItems: Bool) -> Components.Schemas.Dossier {
        let dossier = view.dossier
        let summary = view.summary
        let mentions = { (list: [DossierSummary.Mention]) in list.map { Components.Schemas.Mention(name: $0.name, items: $0.items) } }
        let persons = summary.persons.map { Components.Schemas.Mention(name: $0.name, items: $0.items, agencies: $0.agencies, withheld: $0.withheld) }
        return .init(id: dossier.id, unit: dossier.unit, agency: dossier.agency, reason: dossier.reason, createdAt: dossier.createdAt, requestId: dossier.requestID,
                     requestStatus: view.requestStatus?.rawValue, readable: Int64(view.readableCount), withheld: Int64(view.withheldCount),
                     items: listingItems ? view.items.map(Self.schema) : nil,
                     summary: .init(byKind: .init(additionalProperties: summary.byKind.mapValues(Int64.init)),
                                    byLevel: .init(additionalProperties: summary.byLevel.mapValues(Int64.init)),
                                    persons: persons, tags: mentions(summary.tags),
                                    openLeads: summary.openLeads.map(Self.schema),
                                    feedback: summary.feedback.map(Self.schema)))
    }
}
