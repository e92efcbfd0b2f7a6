import Foundation
import GRDB
import LiaisonCore

/// Maps the `item` table to `Item`.
enum ItemRow {
    static let columns = "id, kind, title, unit, persons, tags, classification, owner, pushed_by, content_type, sha256, size, created_at, sealed_meta, meta_key, meta_key_version, answers, seal"

    /// The items a statement selects (`columns`), decoded from each row as the cursor steps on: a dossier reads a
    /// unit's 10,000 items, and copying every row first (`Row.fetchAll`) cost as much as decoding them.
    static func items(_ statement: Statement, arguments: StatementArguments) throws -> [Item] {
        try ColumnCursor.all(statement, arguments: arguments, decode: item(from:))
    }

    /// The one item a statement selects, if any.
    static func item(_ statement: Statement, arguments: StatementArguments) throws -> Item? {
        try ColumnCursor.first(statement, arguments: arguments, decode: item(from:))
    }

    /// Reads by position, in the order of `columns`.
    static func item(from columns: Columns) throws -> Item {
        /// A column the schema holds NOT NULL; a NULL there is a damaged row.
        func text(_ column: Int32) throws -> String {
            guard let text = columns.text(column) else {
                throw StoreError.corrupt("an item row has no \(ItemRow.columns.split(separator: ",")[Int(column)].trimmingCharacters(in: .whitespaces))")
            }
            return text
        }
        let id = try text(0)
        let levelText = try text(6)
        guard let level = Classification(rawValue: levelText) else { throw StoreError.corrupt("item \(id) has level \(levelText)") }
        var item = Item(id: id, kind: try text(1), title: try text(2), unit: try text(3), persons: StoredText.list(try text(4)),
                        tags: StoredText.list(try text(5)), classification: level, owner: try text(7), pushedBy: try text(8),
                        contentType: try text(9), sha256: try text(10), size: Int(columns.int64(11)),
                        createdAt: Date(millisecondsSince1970: columns.int64(12)))
        if let sealed = columns.blob(13), let key = columns.blob(14), let version = try columns.keyVersion(15) {
            item.sealedMetadata = SealedMetadata(ciphertext: sealed, wrappedKey: key, keyVersion: version)
        }
        item.answers = columns.text(16)
        item.seal = columns.blob(17)
        return item
    }
}
