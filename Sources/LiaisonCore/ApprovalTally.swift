public import Foundation

/// Where one item of a request stands: who may approve it and what it still needs.
public struct ItemApproval: Sendable, Equatable {
    public let itemID: String
    public let level: Classification
    /// Principals (people with the approver role) who may approve this item for this request.
    public let eligibleApprovers: [String]
    /// Eligible approvers who have approved.
    public let approvedBy: [String]
    /// Approvals still needed (0 when satisfied).
    public let remaining: Int
    /// Whether one of the remaining approvals must come from the commission.
    public let commissionApprovalMissing: Bool

    public var isSatisfied: Bool { remaining == 0 }
}

/// Why a principal may not review a request, in the order these are checked.
public enum ReviewRefusal: String, Sendable, Equatable {
    case ownRequest = "own_request"
    case ownAgencyRequest = "own_agency_request"
    case notEligible = "not_an_approver"
}

extension Policy {
    /// Whether `reviewer` may approve access to `item` for a request made by `request`'s agency.
    /// Never someone of the requesting agency; only people with the approver role; by the level's approvers relationships.
    public func mayApprove(_ reviewer: Principal, _ item: ItemSubject, forRequestBy agency: String, at now: Date) -> Bool {
        guard reviewer.person != nil, reviewer.roles.contains(.approver), reviewer.agency.id != agency,
              let rule = levels[item.classification]?.approval else { return false }
        return rule.approvers.contains { holds($0, reader: reviewer, item: item, at: now) }
    }

    /// Why `reviewer` may not review this request at all (nil when it may: it is eligible for at least one item).
    public func reviewRefusal(_ reviewer: Principal, of request: AccessRequest, items: [(id: String, subject: ItemSubject)], at now: Date) -> ReviewRefusal? {
        if reviewer.id == request.requester { return .ownRequest }
        if reviewer.agency.id == request.agency { return .ownAgencyRequest }
        return items.contains { mayApprove(reviewer, $0.subject, forRequestBy: request.agency, at: now) } ? nil : .notEligible
    }

    /// Every declared approver eligible for `item` on a request by `agency`, sorted.
    public func eligibleApprovers(for item: ItemSubject, forRequestBy agency: String, at now: Date) -> [String] {
        approvers.compactMap { mayApprove($0, item, forRequestBy: agency, at: now) ? $0.id : nil }
    }

    /// Where each item of a request stands given its approvals so far. An approval counts for an item
    /// only if its reviewer is eligible for that item; distinct reviewers only.
    public func tally(_ request: AccessRequest, items: [(id: String, subject: ItemSubject)], approvals: [String], at now: Date) -> [ItemApproval] {
        let approvers = Set(approvals)
        // Decided once per subject: a dossier's request names thousands of items that share a few.
        var eligibleFor: [ItemSubject: [String]] = [:]
        return items.map { item in
            let eligible = eligibleFor[item.subject] ?? eligibleApprovers(for: item.subject, forRequestBy: request.agency, at: now)
            eligibleFor[item.subject] = eligible
            let approved = eligible.filter(approvers.contains)
            guard let rule = levels[item.subject.classification]?.approval else {
                return ItemApproval(itemID: item.id, level: item.subject.classification, eligibleApprovers: [], approvedBy: [], remaining: 1,
                                    commissionApprovalMissing: false)
            }
            let commissionMissing = rule.commissionRequired && !approved.contains { principal($0)?.agency.type == .commission }
            let remaining = max(rule.required - approved.count, commissionMissing ? 1 : 0)
            return ItemApproval(itemID: item.id, level: item.subject.classification, eligibleApprovers: eligible, approvedBy: approved,
                                remaining: remaining, commissionApprovalMissing: commissionMissing)
        }
    }
}

extension Policy {
    /// Ids of the items no set of approvers the policy allows could approve for `agency`. Decided once per
    /// owner, unit and level, which is all it depends on: a dossier's thousands of items share a few of those.
    public func unapprovable(_ items: [Item], forRequestBy agency: String, at now: Date) -> Set<String> {
        let probe = AccessRequest(id: "", requester: "", agency: agency, reason: "", itemIDs: [], unit: nil, duration: Period(seconds: 1), createdAt: now, expiresAt: now)
        var decided: [ItemSubject: Bool] = [:]
        var refused: Set<String> = []
        for item in items {
            let subject = item.subject
            let approvable = decided[subject] ?? {
                guard levels[subject.classification]?.approval != nil else { return false }
                return tally(probe, items: [(item.id, subject)], approvals: eligibleApprovers(for: subject, forRequestBy: agency, at: now), at: now)
                    .allSatisfy(\.isSatisfied)
            }()
            decided[subject] = approvable
            if !approvable { refused.insert(item.id) }
        }
        return refused
    }
}
