public import Foundation

/// An item's metadata as stored. The payload lives apart and is fetched only when read.
public struct Item: Sendable, Equatable {
    public let id: String
    public let kind: String
    public let title: String
    public let unit: String
    public let persons: [String]
    public let tags: [String]
    public let classification: Classification
    /// The agency that pushed it.
    public let owner: String
    /// The principal (agency or person) whose certificate pushed it.
    public let pushedBy: String
    public let contentType: String
    public let sha256: String
    public let size: Int
    public let createdAt: Date

    public init(id: String, kind: String, title: String, unit: String, persons: [String], tags: [String], classification: Classification,
                owner: String, pushedBy: String, contentType: String, sha256: String, size: Int, createdAt: Date) {
        self.id = id
        self.kind = kind
        self.title = title
        self.unit = unit
        self.persons = persons
        self.tags = tags
        self.classification = classification
        self.owner = owner
        self.pushedBy = pushedBy
        self.contentType = contentType
        self.sha256 = sha256
        self.size = size
        self.createdAt = createdAt
    }

    public var subject: ItemSubject { ItemSubject(owner: owner, unit: unit, classification: classification) }
}
