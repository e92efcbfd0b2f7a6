import Foundation
import LiaisonAPI
import LiaisonCore

/// A dossier with its items as the wire shows it (`Components.Schemas.Dossier`): the items, thousands of them, written
/// by `ItemJSON` (Foundation's JSONEncoder took most of the 0.2-0.3 s a 10,000-item manifest took to answer), the rest
/// of the object, small, by the generated layer's own encoder (`Wire.jsonEncoder`), so a field added to the contract is
/// written unchanged.
enum DossierJSON {
    typealias Key = Components.Schemas.Dossier.CodingKeys

    static func bytes(of dossier: Components.Schemas.Dossier) throws -> [UInt8] {
        var rest = dossier
        rest.items = nil
        let object = try Wire.jsonEncoder.encode(rest)
        guard let items = dossier.items else { return Array(object) }
        var out: [UInt8] = []
        out.reserveCapacity(object.count + 32 + 320 * items.count)
        out.append(UInt8(ascii: "{"))
        JSONText.appendString(Key.items.rawValue, to: &out)
        out.append(contentsOf: ":[".utf8)
        for (index, item) in items.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            ItemJSON.append(item, to: &out)
        }
        out.append(contentsOf: "],".utf8)
        // The rest of the object after its opening brace: it has members (the schema requires some), so the comma fits.
        out.append(contentsOf: object.dropFirst())
        return out
    }
}
