import Foundation
public import LiaisonCore

/// What a principal sends to ask for access: item ids or a unit, why, and for how long (still text, validated by the hub).
public struct NewAccessRequest: Sendable {
    public var items: [String]?
    public var unit: String?
    /// A risk alert sent to the requester: the items behind it that it cannot read and an approver could grant.
    public var alert: String?
    public var reason: String?
    public var duration: String?

    public init(items: [String]? = nil, unit: String? = nil, alert: String? = nil, reason: String? = nil, duration: String? = nil) {
        self.items = items
        self.unit = unit
        self.alert = alert
        self.reason = reason
        self.duration = duration
    }
}

/// One item of a request as the viewer may see it, with where its approval stands.
public struct RequestedItem: Sendable, Equatable {
    /// The item; its title, persons and tags are present only when `showsContent`.
    public let item: Item
    /// Whether the viewer may see the title: it can read the item, or it is not of a level whose metadata is sealed.
    public let showsContent: Bool
    public let approval: ItemApproval
}

/// A request with its items and reviews, as one viewer sees it at one moment.
public struct RequestView: Sendable, Equatable {
    public let request: AccessRequest
    public let status: AccessRequest.Status
    public let items: [RequestedItem]
    public let reviews: [Review]
}

/// A request as a listing shows it at one moment: what and how much it asks for, and where it stands.
public struct RequestSummary: Sendable, Equatable {
    public let request: AccessRequest
    public let status: AccessRequest.Status
    /// The levels of its items, lowest first.
    public let levels: [Classification]
    /// The most approvals any of its items still needs (0 once every item is satisfied).
    public let approvalsNeeded: Int
    /// Whether some item still needs an approval from the commission.
    public let commissionApprovalNeeded: Bool
    public let reviews: [Review]
}

/// A grant as one viewer sees it.
public struct GrantView: Sendable, Equatable {
    public let grant: Grant
    /// active, expired or revoked.
    public let status: String
    /// Whether the viewer's agency holds it, and whether the viewer may revoke it.
    public let held: Bool
    public let revocable: Bool
}
