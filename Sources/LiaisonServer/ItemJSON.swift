import LiaisonAPI
import LiaisonCore

/// An item as the wire shows it (`Components.Schemas.Item`), written by hand: on a metadata read or a push,
/// Foundation's JSONEncoder cost more than the rest of the answer. Field names come from the generated
/// type's own coding keys, and a test decodes what this writes with the generated decoder.
enum ItemJSON {
    typealias Key = Components.Schemas.Item.CodingKeys

    /// How many fields the schema has; a test compares it with the generated type, so a field added to the
    /// contract cannot be left out here unnoticed.
    static let fieldCount = 16

    static func bytes(of item: Components.Schemas.Item) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(384)
        append(item, to: &out)
        return out
    }

    /// A page of a listing (`Components.Schemas.ItemPage`): its items, and the cursor of the next page if any.
    static func bytes(of page: Components.Schemas.ItemPage) -> [UInt8] {
        typealias PageKey = Components.Schemas.ItemPage.CodingKeys
        var out: [UInt8] = []
        out.reserveCapacity(32 + 384 * page.items.count)
        out.append(UInt8(ascii: "{"))
        JSONText.appendString(PageKey.items.rawValue, to: &out)
        out.append(contentsOf: ":[".utf8)
        for (index, item) in page.items.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            append(item, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        if let next = page.nextCursor {
            out.append(UInt8(ascii: ","))
            JSONText.appendString(PageKey.nextCursor.rawValue, to: &out)
            out.append(UInt8(ascii: ":"))
            JSONText.appendString(next, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// How many fields a page has (`items`, `next_cursor`), compared with the generated type like `fieldCount`.
    static let pageFieldCount = 2

    static func append(_ item: Components.Schemas.Item, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        // The id is always there and always first: every later member follows a comma.
        JSONText.appendString(Key.id.rawValue, to: &out)
        out.append(UInt8(ascii: ":"))
        JSONText.appendString(item.id, to: &out)
        member(.access, item.access.rawValue, &out)
        if let damaged = item.integrityError {
            name(.integrityError, &out)
            out.append(contentsOf: damaged ? Array("true".utf8) : Array("false".utf8))
        }
        if let answers = item.answers { member(.answers, answers, &out) }
        member(.kind, item.kind, &out)
        member(.classification, item.classification, &out)
        member(.owner, item.owner, &out)
        member(.unit, item.unit, &out)
        // The transcoder never throws on encoding; it is the one the generated layer uses.
        member(.createdAt, (try? MillisecondDateTranscoder().encode(item.createdAt)) ?? "", &out)
        if let title = item.title { member(.title, title, &out) }
        if let persons = item.persons { list(.persons, persons, &out) }
        if let tags = item.tags { list(.tags, tags, &out) }
        if let contentType = item.contentType { member(.contentType, contentType, &out) }
        if let sha256 = item.sha256 { member(.sha256, sha256, &out) }
        if let size = item.size {
            name(.size, &out)
            out.append(contentsOf: String(size).utf8)
        }
        if let pushedBy = item.pushedBy { member(.pushedBy, pushedBy, &out) }
        out.append(UInt8(ascii: "}"))
    }

    /// `,"key":`, a member after the id.
    private static func name(_ key: Key, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: ","))
        JSONText.appendString(key.rawValue, to: &out)
        out.append(UInt8(ascii: ":"))
    }

    private static func member(_ key: Key, _ value: String, _ out: inout [UInt8]) {
        name(key, &out)
        JSONText.appendString(value, to: &out)
    }

    private static func list(_ key: Key, _ values: [String], _ out: inout [UInt8]) {
        name(key, &out)
        out.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONText.appendString(value, to: &out)
        }
        out.append(UInt8(ascii: "]"))
    }
}
