public import Foundation

/// An item's metadata as stored. The payload lives apart and is fetched only when read.
///
/// The fields live behind one reference: an item is copied into pages, views, stubs and requests many times per
/// request, and a copy of a dozen strings and lists cost a dozen retains and releases (a 10,000-item dossier spent
/// a sixth of its time on them). A field set anew gets a fresh box, so every item stays a value.
public struct Item: Sendable, Equatable {
    /// Every field, as one value; equal items have equal values.
    private struct Values: Sendable, Equatable {
        var id: String
        var kind: String
        var title: String
        var unit: String
        var persons: [String]
        var tags: [String]
        var classification: Classification
        var owner: String
        var pushedBy: String
        var contentType: String
        var sha256: String
        var size: Int
        var createdAt: Date
        var sealedMetadata: SealedMetadata? = nil
        var answers: String? = nil
        var seal: [UInt8]? = nil
    }

    /// The one reference an item holds; never changed once made, so it is shared freely between copies and threads.
    private final class Box: Sendable {
        let values: Values
        init(_ values: Values) { self.values = values }
    }

    private var box: Box

    /// Sets fields in a fresh box: the old one may be shared by copies of this item.
    private mutating func update(_ change: (inout Values) -> Void) {
        var values = box.values
        change(&values)
        box = Box(values)
    }

    public var id: String { box.values.id }
    public var kind: String { box.values.kind }
    public var title: String { box.values.title }
    public var unit: String { box.values.unit }
    public var persons: [String] { box.values.persons }
    public var tags: [String] { box.values.tags }
    public var classification: Classification { box.values.classification }
    /// The agency that pushed it.
    public var owner: String { box.values.owner }
    /// The principal (agency or person) whose certificate pushed it.
    public var pushedBy: String { box.values.pushedBy }
    public var contentType: String { box.values.contentType }
    public var sha256: String { box.values.sha256 }
    public var size: Int { box.values.size }
    public var createdAt: Date { box.values.createdAt }
    /// For items whose level keeps content encrypted at rest: title, persons and tags sealed under the
    /// item's data key. While set, `title`, `persons` and `tags` are empty until the hub opens it.
    public var sealedMetadata: SealedMetadata? {
        get { box.values.sealedMetadata }
        set { update { $0.sealedMetadata = newValue } }
    }
    /// For a rectification: the feedback item it answers.
    public var answers: String? {
        get { box.values.answers }
        set { update { $0.answers = newValue } }
    }
    /// The hub's seal over `sealInput()` as stored: an item whose row was edited no longer matches it.
    public var seal: [UInt8]? {
        get { box.values.seal }
        set { update { $0.seal = newValue } }
    }

    public init(id: String, kind: String, title: String, unit: String, persons: [String], tags: [String], classification: Classification,
                owner: String, pushedBy: String, contentType: String, sha256: String, size: Int, createdAt: Date) {
        box = Box(Values(id: id, kind: kind, title: title, unit: unit, persons: persons, tags: tags, classification: classification, owner: owner,
                         pushedBy: pushedBy, contentType: contentType, sha256: sha256, size: size, createdAt: createdAt))
    }

    public static func == (lhs: Item, rhs: Item) -> Bool {
        lhs.box === rhs.box || lhs.box.values == rhs.box.values
    }

    public var subject: ItemSubject { ItemSubject(owner: owner, unit: unit, classification: classification, kind: kind) }

    /// The same item with other content fields (to seal them away, or after opening them).
    public func with(title: String, persons: [String], tags: [String], sealedMetadata: SealedMetadata?) -> Item {
        var copy = self
        copy.update {
            $0.title = title
            $0.persons = persons
            $0.tags = tags
            $0.sealedMetadata = sealedMetadata
        }
        return copy
    }

    /// Every stored field of the item in one canonical byte string, for the hub's seal: id, kind, unit, level,
    /// owner, pusher, content type, the payload's SHA-256 and size, the time, what it answers, and its content
    /// (title, persons and tags, or for a confidential item their sealed ciphertext, which key rotation leaves alone).
    /// Each field is its length (4 bytes, big-endian) and its UTF-8 bytes.
    public func sealInput() -> [UInt8] {
        var out = Self.sealMagic
        out.reserveCapacity(256 + title.utf8.count + (sealedMetadata?.ciphertext.count ?? 0))
        // Appended through `inout` helpers, not closures over `out`: a captured variable is checked for exclusive
        // access at run time on every append, which made the input dearer than the HMAC (a listing checks a seal per
        // item, a dossier 10,000).
        for text in [id, kind, unit, classification.rawValue, owner, pushedBy, contentType, sha256, String(size),
                     String(createdAt.millisecondsSince1970), answers ?? ""] {
            Self.appendField(text, to: &out)
        }
        if let sealedMetadata {
            Self.appendField("sealed", to: &out)
            Self.appendLength(sealedMetadata.ciphertext.count, to: &out)
            out.append(contentsOf: sealedMetadata.ciphertext)
        } else {
            Self.appendField("plain", to: &out)
            Self.appendField(title, to: &out)
            for list in [persons, tags] {
                Self.appendField(String(list.count), to: &out)
                for entry in list { Self.appendField(entry, to: &out) }
            }
        }
        return out
    }

    private static let sealMagic = Array("liaison-item-v1".utf8)

    private static func appendField(_ text: String, to out: inout [UInt8]) {
        appendLength(text.utf8.count, to: &out)
        out.append(contentsOf: text.utf8)
    }

    private static func appendLength(_ count: Int, to out: inout [UInt8]) {
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: count).bigEndian) { out.append(contentsOf: $0) }
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
