import Foundation
import LiaisonAPI
import LiaisonCore

/// A JSON push's body (`Components.Schemas.NewItem`) read by hand: Foundation's JSONDecoder was a twentieth of a
/// push. Only the plain form is read here (an object of strings and string arrays, each member of the right
/// shape, valid UTF-8, no key twice); anything else gives nil and goes to the generated decoder, which reads it
/// or refuses it with the message it always gave. Keys are the generated type's own; a test holds this reader
/// to the generated decoder on the same bodies.
enum NewItemJSON {
    typealias Key = Components.Schemas.NewItem.CodingKeys

    static func read(_ body: Data) -> Components.Schemas.NewItem? {
        guard let members = body.withUnsafeBytes({ JSONText.readPlainObject($0.assumingMemoryBound(to: UInt8.self)) }) else { return nil }
        // A known member of the wrong shape (a title given as a list, persons as one string) is the generated decoder's
        // to refuse; unknown members are ignored, as it ignores them.
        for (name, value) in members {
            guard let key = Key(rawValue: name) else { continue }
            let isList = key == .persons || key == .tags
            switch value {
            case .string where isList, .strings where !isList: return nil
            default: continue
            }
        }
        func text(_ key: Key) -> String? {
            if case .string(let value)? = members[key.rawValue] { return value }
            return nil
        }
        func list(_ key: Key) -> [String]? {
            if case .strings(let values)? = members[key.rawValue] { return values }
            return nil
        }
        guard let kind = text(.kind), let title = text(.title), let unit = text(.unit),
              let classification = text(.classification).flatMap(Components.Schemas.Classification.init(rawValue:)),
              let contentType = text(.contentType), let payload = text(.payload) else { return nil }
        var contentEncoding: Components.Schemas.NewItem.ContentEncodingPayload?
        if let encoding = text(.contentEncoding) {
            guard let known = Components.Schemas.NewItem.ContentEncodingPayload(rawValue: encoding) else { return nil }
            contentEncoding = known
        }
        return Components.Schemas.NewItem(kind: kind, title: title, unit: unit, classification: classification, contentType: contentType, payload: payload,
                                          answers: text(.answers), contentEncoding: contentEncoding, persons: list(.persons), tags: list(.tags))
    }
}
