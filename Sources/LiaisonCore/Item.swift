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
    /// The hub's seal over `sealInput()` as stored: an item whose row was edited no longer matches it.
    public var seal: [UInt8]?

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

    public var subject: ItemSubject { ItemSubject(owner: owner, unit: unit, classification: classification, kind: kind) }

    /// The same item with other content fields (to seal them away, or after opening them).
    public func with(title: String, persons: [String], tags: [String], sealedMetadata: SealedMetadata?) -> Item {
        var copy = Item(id: id, kind: kind, title: title, unit: unit, persons: persons, tags: tags, classification: classification, owner: owner,
                        pushedBy: pushedBy, contentType: contentType, sha256: sha256, size: size, createdAt: createdAt)
        copy.sealedMetadata = sealedMetadata
        copy.answers = answers
        copy.seal = seal
        return copy
    }

    /// Every stored field of the item in one canonical byte string, for the hub's seal: id, kind, unit, level,
    /// owner, pusher, content type, the payload's SHA-256 and size, the time, what it answers, and its content
    /// (title, persons and tags, or for a confidential item their sealed ciphertext, which key rotation leaves alone).
    /// Each field is its length (4 bytes, big-endian) and its UTF-8 bytes.
    public func sealInput() -> [UInt8] {
        var out = Array("liaison-item-v1".utf8)
        out.reserveCapacity(256 + title.utf8.count + (sealedMetadata?.ciphertext.count ?? 0))
        // Byte by byte: an array per field cost more than the HMAC when a dossier checks 10,000 seals.
        func field(_ bytes: some Collection<UInt8>) {
            let count = UInt32(truncatingIfNeeded: bytes.count)
            out.append(UInt8(count >> 24))
            out.append(UInt8((count >> 16) & 0xff))
            out.append(UInt8((count >> 8) & 0xff))
            out.append(UInt8(count & 0xff))
            out.append(contentsOf: bytes)
        }
        for text in [id, kind, unit, classification.rawValue, owner, pushedBy, contentType, sha256, String(size),
                     String(createdAt.millisecondsSince1970), answers ?? ""] {
            field(text.utf8)
        }
        if let sealedMetadata {
            field("sealed".utf8)
            field(sealedMetadata.ciphertext)
        } else {
            field("plain".utf8)
            field(title.utf8)
            for list in [persons, tags] {
                field(String(list.count).utf8)
                for entry in list { field(entry.utf8) }
            }
        }
        return out
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
