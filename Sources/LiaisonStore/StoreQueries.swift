public import Foundation
public import LiaisonCore

/// Filters for listing; `before` is the id after which (newest first) the page starts.
public struct ItemQuery: Sendable, Equatable {
    public var unit: String?
    public var kind: String?
    public var classification: Classification?
    public var owner: String?
    public var before: String?
    public var limit: Int

    public init(unit: String? = nil, kind: String? = nil, classification: Classification? = nil, owner: String? = nil, before: String? = nil, limit: Int = 100) {
        self.unit = unit
        self.kind = kind
        self.classification = classification
        self.owner = owner
        self.before = before
        self.limit = limit
    }
}

/// Filters for reading the audit trail, in sequence order from `after` (exclusive).
public struct AuditQuery: Sendable, Equatable {
    public var after: Int64
    public var limit: Int
    public var actor: String?
    public var item: String?
    public var unit: String?
    public var action: String?
    public var since: Date?
    public var until: Date?

    public init(after: Int64 = 0, limit: Int = 1000, actor: String? = nil, item: String? = nil, unit: String? = nil, action: String? = nil,
                since: Date? = nil, until: Date? = nil) {
        self.after = after
        self.limit = limit
        self.actor = actor
        self.item = item
        self.unit = unit
        self.action = action
        self.since = since
        self.until = until
    }
}

/// Filters for access requests, newest first.
public struct RequestQuery: Sendable, Equatable {
    /// Requests made by this agency.
    public var agency: String?
    /// Only requests still pending and not expired at this time.
    public var openAt: Date?
    public var before: String?
    public var limit: Int

    public init(agency: String? = nil, openAt: Date? = nil, before: String? = nil, limit: Int = 100) {
        self.agency = agency
        self.openAt = openAt
        self.before = before
        self.limit = limit
    }
}

/// Filters for grants, newest first.
public struct GrantQuery: Sendable, Equatable {
    /// Grants held by this agency.
    public var agency: String?
    /// Only grants neither revoked nor expired at this time.
    public var liveAt: Date?
    public var limit: Int

    public init(agency: String? = nil, liveAt: Date? = nil, limit: Int = 500) {
        self.agency = agency
        self.liveAt = liveAt
        self.limit = limit
    }
}
