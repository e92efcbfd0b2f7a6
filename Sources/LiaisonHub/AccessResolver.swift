import Foundation
import LiaisonCore
import LiaisonStore

/// What a reader may see of items: the policy's answer, or read through a live grant to its agency, or as the
/// agency a lead was handed to. Grants are read on every decision, so an expired or revoked one stops at once.
struct AccessResolver: Sendable {
    let grants: any GrantStore
    let leads: any LeadStore

    /// What the caller may see of one item now.
    func access(to item: Item, in context: HubContext) async throws -> AccessDecision.Access {
        let reader = context.principal
        let access = context.policy.access(of: reader, to: item.subject, at: context.now)
        guard access != .read else { return .read }
        if try await grants.hasLiveGrant(agency: reader.agency.id, item: item.id, at: context.now) { return .read }
        if item.kind == "lead", try await leads.lead(itemID: item.id)?.holder == reader.agency.id { return .read }
        return access
    }

    /// What the caller may see of any of a unit's items (a dossier, a request for a unit's withheld items): all its
    /// agency's granted items and held leads are read once here.
    func readerAccess(in context: HubContext) async throws -> ReaderAccess {
        let agency = context.principal.agency.id
        return ReaderAccess(policy: context.policy, reader: context.principal, now: context.now,
                            beyondPolicy: try await grants.grantedItems(agency: agency, at: context.now).union(try await leads.leadsHeld(by: agency)))
    }

    /// What the caller may see of these items (a page of a listing, the items an alert names): only those the policy
    /// withholds are looked up among its agency's grants, so the cost follows the page, not how many items the
    /// agency was granted (an approved dossier request grants thousands, and reading them all cost a listing 5 ms).
    func readerAccess(to items: some Sequence<Item>, in context: HubContext) async throws -> ReaderAccess {
        let (policy, reader, now) = (context.policy, context.principal, context.now)
        let asked = items.filter { policy.access(of: reader, to: $0.subject, at: now) != .read }.map(\.id)
        let granted = asked.isEmpty ? [] : try await grants.grantedItems(agency: reader.agency.id, among: asked, at: now)
        return ReaderAccess(policy: policy, reader: reader, now: now, beyondPolicy: granted.union(try await leads.leadsHeld(by: reader.agency.id)))
    }
}

/// What one reader may see of many items at one moment: the policy's answer, or read for the items its
/// agency holds a live grant for or a handed-over lead of (those read once, for the whole batch).
struct ReaderAccess {
    let policy: Policy
    let reader: Principal
    let now: Date
    /// Items the reader's agency reads beyond what the policy says.
    let beyondPolicy: Set<String>

    func of(_ item: Item) -> AccessDecision.Access {
        beyondPolicy.contains(item.id) ? .read : policy.access(of: reader, to: item.subject, at: now)
    }
}
