import Foundation
import LiaisonCore

/// How both stores keep lists (persons, tags) and details (audit entries, feed events) as text: JSON, the
/// details written and read by `JSONText`, off Foundation's JSON coders: details are
/// written for every audited request and read for every entry an auditor pages through.
public enum StoredText {
    /// A list as a JSON array of strings.
    public static func encode(list: [String]) -> String { JSONText.array(list) }

    public static func list(_ text: String) -> [String] {
        guard text != "[]" else { return [] }
        return JSONText.readList(text) ?? []
    }

    /// The ordered item list of a request or a dossier, kept as one list on its row: a dossier of a 10,000-item unit
    /// and its request stored a row each per item, which took half the time of building the dossier.
    public static func itemIDs(_ text: String, of owner: @autoclosure () -> String) throws -> [String] {
        guard text != "[]" else { return [] }
        guard let ids = JSONText.readList(text) else { throw StoreError.corrupt("\(owner())'s item list is not a JSON list of ids") }
        return ids
    }

    /// A detail as a flat JSON object of strings, its keys sorted.
    public static func encode(detail: [String: String]) -> String { JSONText.object(detail) }

    public static func detail(_ text: String) -> [String: String] {
        guard text != "{}" else { return [:] }
        return JSONText.readObject(text) ?? [:]
    }
}
