import Foundation
import LiaisonAPI
import LiaisonCore

/// A dossier with its items as the wire shows it (`Components.Schemas.Dossier`): the items, thousands of them, written
/// by `ItemJSON` (Foundation's JSONEncoder took most of the 0.2-0.3 s a 10,000-item manifest took to answer), the rest
/// of the object, small, by the generated layer's own encoder, so a field added to the contract is written unchanged.
enum DossierJSON {
    typealias Key = Components.Schemas.Dossier.CodingKeys

    static func bytes(of dossier: Components.Schemas.Dossier) throws -> [UInt8] {
        var rest = dossier
        rest.items = nil
        let object = try encoder.encode(rest)
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

    /// The generated layer's JSON encoder, as `Wire.configuration` sets it (its converter keeps its own private).
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        let options = Wire.configuration.jsonEncodingOptions
        var formatting: JSONEncoder.OutputFormatting = []
        if options.contains(.sortedKeys) { formatting.insert(.sortedKeys) }
        if options.contains(.prettyPrinted) { formatting.insert(.prettyPrinted) }
        if options.contains(.withoutEscapingSlashes) { formatting.insert(.withoutEscapingSlashes) }
        encoder.outputFormatting = formatting
        let transcoder = Wire.configuration.dateTranscoder
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(try transcoder.encode(date))
        }
        return encoder
    }()
}
