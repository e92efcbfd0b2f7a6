public import Foundation

/// An item's metadata as stored. The payload lives apart and is fetched only when read.
///
/// The fields live behind one reference: an item is copied into pages, views, stubs and requests many times per
/// request, and a copy of a dozen strings and lists cost a dozen retains and releases (a 10,000-item dossier spent
/// a sixth of its time on them). A field set anew gets a fresh box, so every item stays a value.
public struct Item: Sendable, Equatable {
    private final class Fields: Sendable {
        let id: String
        let kind: String
        let title: String
        let unit: String
        let persons: [String]
        let tags: [String]
        let classification: Classification
        let owner: String
        let pushedBy: String
        let contentType: String
        let sha256: String
        let size: Int
        let createdAt: Date
        let sealedMetadata: SealedMetadata?
        let answers: String?
        let seal: [UInt8]?

        init(id: String, kind: String, title: String, unit: String, persons: [String], tags: [String], classification: Classification, owner: String,
             pushedBy: String, contentType: String, sha256: String, size: Int, createdAt: Date, sealedMetadata: SealedMetadata?, answers: String?,
             seal: [UInt8]?) {
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
            self.sealedMetadata = sealedMetadata
            self.answers = answers
            self.seal = seal
        }

        /// These fields with the content ones, and the three that are set after construction, given anew.
        func with(title: String? = nil, persons: [String]? = nil, tags: [String]? = nil, sealedMetadata: SealedMetadata?? = nil,
                  answers: String?? = nil, seal: [UInt8]?? = nil) -> Fields {
            Fields(id: id, kind: kind, title: title ?? self.title, unit: unit, persons: persons ?? self.persons, tags: tags ?? self.tags,
                   classification: classification, owner: owner, pushedBy: pushedBy, contentType: contentType, sha256: sha256, size: size,
                   createdAt: createdAt, sealedMetadata: sealedMetadata ?? self.sealedMetadata, answers: answers ?? self.answers, seal: seal ?? self.seal)
        }
    }

    private var fields: Fields

    public var id: String { fields.id }
    public var kind: String { fields.kind }
    public var title: String { fields.title }
    public var unit: String { fields.unit }
    public var persons: [String] { fields.persons }
    public var tags: [String] { fields.tags }
    public var classification: Classification { fields.classification }
    /// The agency that pushed it.
    public var owner: String { fields.owner }
    /// The principal (agency or person) whose certificate pushed it.
    public var pushedBy: String { fields.pushedBy }
    public var contentType: String { fields.contentType }
    public var sha256: String { fields.sha256 }
    public var size: Int { fields.size }
    public var createdAt: Date { fields.createdAt }
    /// For items whose level keeps content encrypted at rest: title, persons and tags sealed under the
    /// item's data key. While set, `title`, `persons` and `tags` are empty until the hub opens it.
    public var sealedMetadata: SealedMetadata? {
        get { fields.sealedMetadata }
        set { fields = fields.with(sealedMetadata: .some(newValue)) }
    }
    /// For a rectification: the feedback item it answers.
    public var answers: String? {
        get { fields.answers }
        set { fields = fields.with(answers: .some(newValue)) }
    }
    /// The hub's seal over `sealInput()` as stored: an item whose row was edited no longer matches it.
    public var seal: [UInt8]? {
        get { fields.seal }
        set { fields = fields.with(seal: .some(newValue)) }
    }

    public init(id: String, kind: String, title: String, unit: String, persons: [String], tags: [String], classification: Classification,
                owner: String, pushedBy: String, contentType: String, sha256: String, size: Int, createdAt: Date) {
        fields = Fields(id: id, kind: kind, title: title, unit: unit, persons: persons, tags: tags, classification: classification, owner: owner,
                        pushedBy: pushedBy, contentType: contentType, sha256: sha256, size: size, createdAt: createdAt, sealedMetadata: nil,
                        answers: nil, seal: nil)
    }

    public static func == (lhs: Item, rhs: Item) -> Bool {
        let (a, b) = (lhs.fields, rhs.fields)
        return a === b || (a.id == b.id && a.kind == b.kind && a.title == b.title && a.unit == b.unit && a.persons == b.persons && a.tags == b.tags
            && a.classification == b.classification && a.owner == b.owner && a.pushedBy == b.pushedBy && a.contentType == b.contentType
            && a.sha256 == b.sha256 && a.size == b.size && a.createdAt == b.createdAt && a.sealedMetadata == b.sealedMetadata
            && a.answers == b.answers && a.seal == b.seal)
    }

    public var subject: ItemSubject { ItemSubject(owner: owner, unit: unit, classification: classification, kind: kind) }

    /// The same item with other content fields (to seal them away, or after opening them).
    public func with(title: String, persons: [String], tags: [String], sealedMetadata: SealedMetadata?) -> Item {
        var copy = self
        copy.fields = fields.with(title: title, persons: persons, tags: tags, sealedMetadata: .some(sealedMetadata))
        return copy
    }

    /// Every stored field of the item in one canonical byte string, for the hub's seal: id, kind, unit, level,
    /// owner, pusher, content type, the payload's SHA-256 and size, the time, what it answers, and its content
    /// (title, persons and tags, or for a confidential item their sealed ciphertext, which key rotation leaves alone).
    /// Each field is its length (4 bytes, big-endian) and its UTF-8 bytes.
    public func sealInput() -> [UInt8] {
        var out = Array("liaison-item-v1".utf8)
        out.reserveCapacity(256 + title.utf8.count + (sealedMetadata?.ciphertext.count ?? 0))
        // Byte by byte, with no array per field: a dossier checks 10,000 seals, and the input cost more than the HMAC.
        func field(_ bytes: UnsafeBufferPointer<UInt8>) {
            let count = UInt32(truncatingIfNeeded: bytes.count)
            out.append(UInt8(count >> 24))
            out.append(UInt8((count >> 16) & 0xff))
            out.append(UInt8((count >> 8) & 0xff))
            out.append(UInt8(count & 0xff))
            out.append(contentsOf: bytes)
        }
        func field(_ text: String) {
            var text = text
            text.withUTF8 { field($0) }
        }
        field(id)
        field(kind)
        field(unit)
        field(classification.rawValue)
        field(owner)
        field(pushedBy)
        field(contentType)
        field(sha256)
        field(String(size))
        field(String(createdAt.millisecondsSince1970))
        field(answers ?? "")
        if let sealedMetadata {
            field("sealed")
            sealedMetadata.ciphertext.withUnsafeBufferPointer { field($0) }
        } else {
            field("plain")
            field(title)
            for list in [persons, tags] {
                field(String(list.count))
                for entry in list { field(entry) }
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
