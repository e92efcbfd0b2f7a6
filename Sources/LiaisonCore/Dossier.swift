public import Foundation

/// A pre-inspection dossier: the items about a unit as they stood when an inspection team asked.
public struct Dossier: Sendable, Equatable {
    public let id: String
    public let unit: String
    /// The inspection team it was built for.
    public let agency: String
    public let requester: String
    public let reason: String
    /// The access request filed for the items withheld at build time, if there were any.
    public let requestID: String?
    public let itemIDs: [String]
    public let createdAt: Date

    public init(id: String, unit: String, agency: String, requester: String, reason: String, requestID: String?, itemIDs: [String], createdAt: Date) {
        self.id = id
        self.unit = unit
        self.agency = agency
        self.requester = requester
        self.reason = reason
        self.requestID = requestID
        self.itemIDs = itemIDs
        self.createdAt = createdAt
    }
}
