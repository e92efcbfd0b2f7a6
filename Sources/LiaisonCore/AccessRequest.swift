public import Foundation

/// A principal's request to read items it cannot read, with why and for how long.
public struct AccessRequest: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        case pending, approved, denied, expired
    }

    public let id: String
    /// The principal who asked; the grant goes to its agency.
    public let requester: String
    public let agency: String
    public let reason: String
    public let itemIDs: [String]
    /// Set when the request was made for "every item of this unit I cannot read yet".
    public let unit: String?
    /// How long the grant lasts from the moment of approval.
    public let duration: Period
    public let createdAt: Date
    /// When an undecided request stops accepting reviews.
    public let expiresAt: Date
    /// As stored: pending, approved or denied. `status(at:)` also knows expiry.
    public let decision: Status
    public let decidedAt: Date?
    public let grantID: String?
    /// The distinct subjects of its items, each with how many items it has: all that who may review the request and
    /// how many approvals it needs depend on, kept with it so that a listing of requests reads none of their items
    /// (a dossier's request names thousands). Empty for a request stored before they were kept.
    public let subjects: [SubjectCount]

    public init(id: String, requester: String, agency: String, reason: String, itemIDs: [String], unit: String?, duration: Period,
                createdAt: Date, expiresAt: Date, decision: Status = .pending, decidedAt: Date? = nil, grantID: String? = nil, subjects: [SubjectCount] = []) {
        self.id = id
        self.requester = requester
        self.agency = agency
        self.reason = reason
        self.itemIDs = itemIDs
        self.unit = unit
        self.duration = duration
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.decision = decision
        self.decidedAt = decidedAt
        self.grantID = grantID
        self.subjects = subjects
    }

    /// A pending request past its lifetime is expired; that is checked whenever it is read, not by a sweeper.
    public func status(at now: Date) -> Status {
        decision == .pending && now >= expiresAt ? .expired : decision
    }
}

/// A subject the items of a request share, and how many of them do.
public struct SubjectCount: Sendable, Equatable {
    public let subject: ItemSubject
    public let items: Int

    public init(subject: ItemSubject, items: Int) {
        self.subject = subject
        self.items = items
    }

    /// The distinct subjects of `items`, each once with its count, in a fixed order (owner, unit, level, kind).
    public static func of(_ items: [Item]) -> [SubjectCount] {
        var counts: [ItemSubject: Int] = [:]
        for item in items { counts[item.subject, default: 0] += 1 }
        return counts.map { SubjectCount(subject: $0.key, items: $0.value) }.sorted {
            ($0.subject.owner, $0.subject.unit, $0.subject.classification.rawValue, $0.subject.kind ?? "")
                < ($1.subject.owner, $1.subject.unit, $1.subject.classification.rawValue, $1.subject.kind ?? "")
        }
    }
}

/// One approver's decision on a request, with the comment that justifies it.
public struct Review: Sendable, Equatable {
    public enum Decision: String, Sendable {
        case approve, deny
    }

    public let requestID: String
    public let reviewer: String
    public let agency: String
    public let decision: Decision
    public let comment: String
    public let time: Date

    public init(requestID: String, reviewer: String, agency: String, decision: Decision, comment: String, time: Date) {
        self.requestID = requestID
        self.reviewer = reviewer
        self.agency = agency
        self.decision = decision
        self.comment = comment
        self.time = time
    }
}

/// Read access to exactly the items of an approved request, for the requesting agency, until it expires or is revoked.
public struct Grant: Sendable, Equatable {
    public let id: String
    public let requestID: String
    public let agency: String
    public let itemIDs: [String]
    public let createdAt: Date
    public let expiresAt: Date
    public let revokedAt: Date?
    public let revokedBy: String?

    public init(id: String, requestID: String, agency: String, itemIDs: [String], createdAt: Date, expiresAt: Date,
                revokedAt: Date? = nil, revokedBy: String? = nil) {
        self.id = id
        self.requestID = requestID
        self.agency = agency
        self.itemIDs = itemIDs
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.revokedBy = revokedBy
    }

    /// Live: neither revoked nor past its expiry. Checked on every read.
    public func isLive(at now: Date) -> Bool { revokedAt == nil && now < expiresAt }

    public func status(at now: Date) -> String {
        revokedAt != nil ? "revoked" : now >= expiresAt ? "expired" : "active"
    }
}
