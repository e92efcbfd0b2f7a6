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
        func text(_ key: Key) -> String?? {
            switch members[key.rawValue] {
            case nil: return .some(nil)
            case .string(let value)?: return .some(value)
            case .strings?: return nil
            }
        }
        func list(_ key: Key) -> [String]?? {
            switch members[key.rawValue] {
            case nil: return .some(nil)
            case .strings(let values)?: return .some(values)
            case .string?: return nil
            }
        }
        guard let kind = text(.kind) ?? nil, let title = text(.title) ?? nil, let unit = text(.unit) ?? nil,
              let classification = (text(.classification) ?? nil).flatMap(Components.Schemas.Classification.init(rawValue:)),
              let contentType = text(.contentType) ?? nil, let payload = text(.payload) ?? nil,
              let answers = text(.answers), let encoding = text(.contentEncoding), let persons = list(.persons), let tags = list(.tags) else { return nil }
        var contentEncoding: Components.Schemas.NewItem.ContentEncodingPayload?
        if let encoding {
            guard let known = Components.Schemas.NewItem.ContentEncodingPayload(rawValue: encoding) else { return nil }
            contentEncoding = known
        }
        return Components.Schemas.NewItem(kind: kind, title: title, unit: unit, classification: classification, contentType: contentType, payload: payload,
                                          answers: answers, contentEncoding: contentEncoding, persons: persons, tags: tags)
    }
}
