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
    /// For items whose level keeps content encrypted at rest: title, persons and tags sealed under the
    /// item's data key. While set, `title`, `persons` and `tags` are empty until the hub opens it.
    public var sealedMetadata: SealedMetadata?
    /// For a rectification: the feedback item it answers.
    public var answers: String?

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

    /// The same item with other content fields (to seal them away, or after opening them).
    public func with(title: String, persons: [String], tags: [String], sealedMetadata: SealedMetadata?) -> Item {
        var copy = Item(id: id, kind: kind, title: title, unit: unit, persons: persons, tags: tags, classification: classification, owner: owner,
                        pushedBy: pushedBy, contentType: contentType, sha256: sha256, size: size, createdAt: createdAt)
        copy.sealedMetadata = sealedMetadata
        copy.answers = answers
        return copy
    }
}

/// Sealed content metadata with the wrapped data key that opens it.
public struct SealedMetadata: Sendable, Equatable {
    public let ciphertext: [UInt8]
    public let wrappedKey: [UInt8]
    public let keyVersion: UInt32

    public init(ciphertext: [UInt8], wrappedKey: [UInt8], keyVersion: UInt32) {
        self.ciphertext = ciphertext
        self.wrappedKey = wrappedKey
        self.keyVersion = keyVersion
    }
}
