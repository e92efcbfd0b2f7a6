import Foundation
import GRDB
import LiaisonCore

/// Maps the `item` table to `Item`.
enum ItemRow {
    static let columns = "id, kind, title, unit, persons, tags, classification, owner, pushed_by, content_type, sha256, size, created_at"

    static func item(from row: Row) throws -> Item {
        let levelText: String = row["classification"]
        guard let level = Classification(rawValue: levelText) else { throw StoreError.corrupt("item \(row["id"] as String) has level \(levelText)") }
        let millis: Int64 = row["created_at"]
        return Item(id: row["id"], kind: row["kind"], title: row["title"], unit: row["unit"],
                    persons: decodeList(row["persons"]), tags: decodeList(row["tags"]), classification: level,
                    owner: row["owner"], pushedBy: row["pushed_by"], contentType: row["content_type"], sha256: row["sha256"],
                    size: row["size"], createdAt: Date(timeIntervalSince1970: Double(millis) / 1000))
    }

    /// Lists are kept as JSON arrays of strings.
    static func encodeList(_ list: [String]) -> String {
        guard !list.isEmpty, let data = try? JSONEncoder().encode(list) else { return "[]" }
        return String(decoding: data, as: UTF8.self)
    }

    static func decodeList(_ text: String) -> [String] {
        guard text != "[]" else { return [] }
        return (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }
}
