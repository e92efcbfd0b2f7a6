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
    /// The principal of an event stored once for all the readers of its item (a push's item.readable), instead of
    /// one row per reader: each reader's feed shows it when the policy lets that reader read the item, so a push
    /// costs one row however many principals the policy declares. No principal's id can be "*".
    public static let everyReader = "*"
    /// In such an event as stored, who pushed the item: their own feed leaves the event out. Not delivered.
    public static let pusherKey = "pushed_by"

    /// The event stored for every reader, as `reader`'s feed shows it, if the policy lets it read the item then.
    public func delivered(to reader: Principal, under policy: Policy) -> FeedEvent? {
        guard detail[Self.pusherKey] != reader.id, let subject, policy.access(of: reader, to: subject, at: time) == .read else { return nil }
        var shown = detail
        shown[Self.pusherKey] = nil
        return FeedEvent(principal: reader.id, kind: kind, time: time, item: item, request: request, grant: grant, detail: shown)
    }

    /// The item an event is about, from its stub fields.
    var subject: ItemSubject? {
        guard let owner = detail["owner"], let unit = detail["unit"], let level = detail["classification"].flatMap(Classification.init(rawValue:)) else { return nil }
        return ItemSubject(owner: owner, unit: unit, classification: level, kind: detail["kind"])
    }

    /// How a store shared by several hubs tells the others whom a committed event is for: the principal, or for an
    /// event of every reader "*" and the fields its readers follow from (`audience(wokenBy:under:)`).
    public var wakeLine: String {
        guard principal == Self.everyReader else { return principal }
        var fields = detail
        fields["time"] = String(time.millisecondsSince1970)
        return Self.everyReader + JSONText.object(fields)
    }

    /// The principals a wake line names, under the policy of the hub that heard it.
    public static func audience(wokenBy line: String, under policy: Policy) -> FeedAudience {
        guard line.hasPrefix(everyReader) else { return FeedAudience(readers: [line], except: nil) }
        guard let fields = JSONText.readObject(String(line.dropFirst())), let millis = fields["time"].flatMap({ Int64($0) }) else { return .nobody }
        let event = FeedEvent(principal: everyReader, kind: .itemReadable, time: Date(millisecondsSince1970: millis), detail: fields)
        guard let subject = event.subject else { return .nobody }
        return FeedAudience(readers: policy.readers(of: subject, at: event.time), except: fields[pusherKey])
    }

    /// What an event may say about an item: the fields of a withheld stub, and how it became readable.
    public static func stub(_ item: Item, via: String) -> [String: String] {
        ["kind": item.kind, "classification": item.classification.rawValue, "owner": item.owner, "unit": item.unit, "via": via]
    }
}
