import Foundation
public import LiaisonCore
import LiaisonStore

/// A lead as its ledger shows it.
public struct LeadView: Sendable, Equatable {
    public let item: VisibleItem
    public let lead: Lead
}

/// The lead hand-over ledger: open -> handed-over -> in-progress -> closed, moved by the owner or the holder.
public struct LeadService: Sendable {
    let store: any LeadStore
    let items: ItemService
    let vault: ItemVault
    let feedWaiters: FeedWaiters

    public func moveLead(id: String, to statusText: String?, holder: String?, disposition: String?, in context: HubContext) async throws -> LeadView {
        try await context.traced(.updateItem, targets: [id]) {
            let (policy, mover, now) = (context.policy, context.principal, context.now)
            let visible = try await items.visibleItem(id: id, in: context)
            let item = visible.item
            guard item.kind == "lead" else {
                throw HubError.invalidField("status", "item \(id) is a \(item.kind), and only leads have a status", hint: "Push problem leads with kind lead")
            }
            guard let statusText else {
                throw HubError.invalidField("status", "say which status the lead moves to", hint: "Use one of: \(Lead.Status.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let status = Lead.Status(rawValue: statusText) else {
                throw HubError.invalidField("status", "unknown lead status '\(statusText)'", hint: "Use one of: \(Lead.Status.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let current = try await store.lead(itemID: id) ?? Lead.fresh(item)
            guard mover.agency.id == current.owner || mover.agency.id == current.holder else {
                throw HubError(.forbidden, code: "not_owner_or_holder", message: "only \(current.owner) (the owner) or \(current.holder) (the holder) may move lead \(id)",
                               hint: "Ask the holder to hand it over to your agency")
            }
            guard current.status.next.contains(status) else {
                let allowed = current.status.next.map(\.rawValue)
                throw HubError(.conflict, code: "illegal_transition",
                               message: allowed.isEmpty ? "lead \(id) is closed; a closed lead does not move"
                                   : "lead \(id) is \(current.status.rawValue) and can move only to \(allowed.joined(separator: " or "))",
                               hint: "Lead statuses go open -> handed-over -> in-progress -> closed")
            }
            var newHolder = current.holder
            var closing: String?
            switch status {
            case .handedOver:
                guard let holder, policy.agencies[holder] != nil else {
                    throw HubError.invalidField("holder", holder.map { "'\($0)' is not a declared agency" } ?? "a hand-over names the agency that takes the lead",
                                                hint: "Name an agency of the policy: \(policy.agencies.keys.sorted().joined(separator: ", "))")
                }
                guard holder != current.holder else { throw HubError.invalidField("holder", "\(holder) already holds lead \(id)", hint: "Hand it over to another agency") }
                newHolder = holder
            case .closed:
                guard let text = disposition?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
                    throw HubError.invalidField("disposition", "closing a lead needs a disposition", hint: "Say how it was disposed of, e.g. --disposition \"立案审查\"")
                }
                try HubError.requireStorable(text, field: "disposition")
                closing = text
            default:
                break
            }
            let moved = Lead(itemID: id, owner: current.owner, holder: newHolder, status: status, disposition: closing, updatedAt: now, updatedBy: mover.id)
            var detail = ["from": current.status.rawValue, "to": status.rawValue, "holder": newHolder]
            if let closing { detail["disposition"] = closing }
            // The holders before and after hear of the move; a new holder also learns it may now read the lead.
            let concerned = Set(policy.principals(of: current.holder) + policy.principals(of: newHolder) + policy.principals(of: current.owner)).subtracting([mover.id]).sorted()
            var events = concerned.map { FeedEvent(principal: $0, kind: .leadChanged, time: now, item: id, detail: detail) }
            if newHolder != current.holder {
                events += policy.principals(of: newHolder).filter { $0 != mover.id }.map {
                    FeedEvent(principal: $0, kind: .itemReadable, time: now, item: id, detail: FeedEvent.stub(item, via: "hand-over"))
                }
            }
            let audit = AuditRecord(time: now, actor: mover.id, action: .updateItem, targets: [id], unit: item.unit, detail: detail)
            guard try await store.moveLead(moved, from: current, audit: audit, events: events) else {
                throw HubError(.conflict, code: "illegal_transition", message: "lead \(id) moved while you were moving it", hint: "Look at it again (`liaison leads`) and retry")
            }
            feedWaiters.notify(events.map(\.principal))
            return LeadView(item: visible, lead: moved)
        }
    }

    /// The ledger of the viewer's agency: leads it owns or holds.
    public func leads(in context: HubContext) async throws -> [LeadView] {
        try await context.traced(.listLeads) {
            let cipher = vault.cipher
            let views = try await store.leads(concerning: context.principal.agency.id).map { item, lead in
                LeadView(item: VisibleItem(item: try vault.opened(item, cipher), access: .read), lead: lead ?? Lead.fresh(item))
            }
            try await context.record(.listLeads, targets: views.map(\.item.item.id), detail: ["count": String(views.count)])
            return views
        }
    }
}
