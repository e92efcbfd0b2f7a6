public import Foundation

/// Something that concerns one principal, in its feed. Events carry ids and the
/// fields of a withheld stub at most, never a title or payload: the feed leaks nothing a listing would not.
public struct FeedEvent: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// An item was pushed that this principal may read.
        case itemReadable = "item.readable"
        /// An access request awaits this approver's review.
        case requestAwaitingReview = "request.awaiting-review"
        /// A request of this principal's agency was approved or denied.
        case requestDecided = "request.decided"
        /// A grant to this principal's agency now lets it read items.
        case grantCreated = "grant.created"
        /// A grant this principal's agency holds expires within 24 hours.
        case grantExpiring = "grant.expiring"
        case grantExpired = "grant.expired"
        case grantRevoked = "grant.revoked"
        /// A lead this principal's agency holds (or held until this change) moved.
        case leadChanged = "lead.changed"
        /// A push made a risk-alert rule of the policy hold; `detail` says which rule, units, items and agencies.
        case riskAlert = "risk.alert"
    }

    public let principal: String
    public let kind: Kind
    public let time: Date
    public let item: String?
    public let request: String?
    public let grant: String?
    /// Stub fields and facts such as a status or an expiry; flat text.
    public let detail: [String: String]

    public init(principal: String, kind: Kind, time: Date, item: String? = nil, request: String? = nil, grant: String? = nil, detail: [String: String] = [:]) {
        self.principal = principal
        self.kind = kind
        self.time = time
        self.item = item
        self.request = request
        self.grant = grant
        self.detail = detail
    }
}

/// An event as stored, with its cursor: a number that only grows, across the whole hub.
public struct StoredFeedEvent: Sendable, Equatable {
    public let cursor: Int64
    public let event: FeedEvent

    public init(cursor: Int64, event: FeedEvent) {
        self.cursor = cursor
        self.event = event
    }
}

extension FeedEvent {
    /// What an event may say about an item: the fields of a withheld stub, and how it became readable.
    public static func stub(_ item: Item, via: String) -> [String: String] {
        ["kind": item.kind, "classification": item.classification.rawValue, "owner": item.owner, "unit": item.unit, "via": via]
    }
}
