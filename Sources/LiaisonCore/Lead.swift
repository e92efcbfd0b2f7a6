public import Foundation

/// Where a problem lead (kind `lead`) stands, and who holds it.
public struct Lead: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        case open
        case handedOver = "handed-over"
        case inProgress = "in-progress"
        case closed

        /// The statuses a lead may move to from this one.
        public var next: [Status] {
            switch self {
            case .open: return [.handedOver, .inProgress]
            case .handedOver: return [.inProgress, .handedOver]
            case .inProgress: return [.handedOver, .closed]
            case .closed: return []
            }
        }
    }

    public let itemID: String
    public let owner: String
    /// The agency working on it: the owner until it is handed over. The holder may read the lead.
    public let holder: String
    public let status: Status
    public let disposition: String?
    public let updatedAt: Date
    public let updatedBy: String?

    public init(itemID: String, owner: String, holder: String, status: Status, disposition: String? = nil, updatedAt: Date, updatedBy: String? = nil) {
        self.itemID = itemID
        self.owner = owner
        self.holder = holder
        self.status = status
        self.disposition = disposition
        self.updatedAt = updatedAt
        self.updatedBy = updatedBy
    }

    /// A lead nobody has moved yet: open, held by its owner.
    public static func fresh(_ item: Item) -> Lead {
        Lead(itemID: item.id, owner: item.owner, holder: item.owner, status: .open, updatedAt: item.createdAt)
    }
}
