import Foundation
import GRDB
import LiaisonCore

/// Maps the `item` table to `Item`.
enum ItemRow {
    static let columns = "id, kind, title, unit, persons, tags, classification, owner, pushed_by, content_type, sha256, size, created_at, sealed_meta, meta_key, meta_key_version, answers, seal"

    /// The items a statement selects (`columns`), decoded from each row as the cursor steps on: a dossier reads a
    /// unit's 10,000 items, and copying every row first (`Row.fetchAll`) cost as much as decoding them.
    static func items(_ statement: Statement, arguments: StatementArguments) throws -> [Item] {
        var items: [Item] = []
        let rows = try Row.fetchCursor(statement, arguments: arguments)
        while let row = try rows.next() { items.append(try item(from: row)) }
        return items
    }

    /// Reads by position, in the order of `columns` (by name costs a case-insensitive search per field).
    static func item(from row: Row) throws -> Item {
        let levelText: String = row[6]
        guard let level = Classification(rawValue: levelText) else { throw StoreError.corrupt("item \(row[0] as String) has level \(levelText)") }
        let millis: Int64 = row[12]
        var item = Item(id: row[0], kind: row[1], title: row[2], unit: row[3], persons: StoredText.list(row[4]), tags: StoredText.list(row[5]),
                        classification: level, owner: row[7], pushedBy: row[8], contentType: row[9], sha256: row[10],
                        size: row[11], createdAt: Date(millisecondsSince1970: millis))
        if let sealed: Data = row[13], let key: Data = row[14], let version: Int64 = row[15] {
            item.sealedMetadata = SealedMetadata(ciphertext: Array(sealed), wrappedKey: Array(key), keyVersion: UInt32(version))
        }
        item.answers = row[16]
        if let seal: Data = row[17] { item.seal = Array(seal) }
        return item
    }
}
