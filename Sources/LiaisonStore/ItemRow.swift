import Foundation
import GRDB
import GRDBSQLite
import LiaisonCore

/// Maps the `item` table to `Item`.
enum ItemRow {
    static let columns = "id, kind, title, unit, persons, tags, classification, owner, pushed_by, content_type, sha256, size, created_at, sealed_meta, meta_key, meta_key_version, answers, seal"

    /// The items a statement selects (`columns`), decoded from each row as the cursor steps on: a dossier reads a
    /// unit's 10,000 items, and copying every row first (`Row.fetchAll`) cost as much as decoding them.
    static func items(_ statement: Statement, arguments: StatementArguments) throws -> [Item] {
        var items: [Item] = []
        let cursor = try ItemCursor(statement, arguments: arguments)
        while let item = try cursor.next() { items.append(item) }
        return items
    }

    /// The one item a statement selects, if any.
    static func item(_ statement: Statement, arguments: StatementArguments) throws -> Item? {
        try ItemCursor(statement, arguments: arguments).next()
    }

    /// Items read straight from SQLite's columns by position, in the order of `columns`: a GRDB `Row` named its
    /// columns in a dictionary at every fetch (a sixtieth of an audited metadata read) and converted each value
    /// through a generic path.
    final class ItemCursor: DatabaseCursor {
        typealias Element = Item
        let _statement: Statement
        var _isDone = false

        init(_ statement: Statement, arguments: StatementArguments) throws {
            _statement = statement
            try statement.setArguments(arguments)
        }

        deinit {
            // Leaves the statement idle (a stepped one holds its read snapshot); what it returns is the last step's error.
            sqlite3_reset(_statement.sqliteStatement)
        }

        func _element(sqliteStatement row: SQLiteStatement) throws -> Item {
            let id = try text(row, 0)
            let levelText = try text(row, 6)
            guard let level = Classification(rawValue: levelText) else { throw StoreError.corrupt("item \(id) has level \(levelText)") }
            var item = Item(id: id, kind: try text(row, 1), title: try text(row, 2), unit: try text(row, 3), persons: StoredText.list(try text(row, 4)),
                            tags: StoredText.list(try text(row, 5)), classification: level, owner: try text(row, 7), pushedBy: try text(row, 8),
                            contentType: try text(row, 9), sha256: try text(row, 10), size: Int(sqlite3_column_int64(row, 11)),
                            createdAt: Date(millisecondsSince1970: sqlite3_column_int64(row, 12)))
            if let sealed = blob(row, 13), let key = blob(row, 14), sqlite3_column_type(row, 15) != SQLITE_NULL {
                item.sealedMetadata = SealedMetadata(ciphertext: sealed, wrappedKey: key, keyVersion: UInt32(truncatingIfNeeded: sqlite3_column_int64(row, 15)))
            }
            item.answers = sqlite3_column_type(row, 16) == SQLITE_NULL ? nil : try text(row, 16)
            item.seal = blob(row, 17)
            return item
        }

        /// A column's text; a NULL where the schema has none is a damaged row.
        private func text(_ row: SQLiteStatement, _ column: Int32) throws -> String {
            // The pointer first, then its length (SQLite's order: the length is of the text the pointer converted to).
            guard let start = sqlite3_column_text(row, column) else {
                throw StoreError.corrupt("an item row has no value in its column \(column + 1) (\(ItemRow.columns.split(separator: ",")[Int(column)]))")
            }
            return String(decoding: UnsafeBufferPointer(start: start, count: Int(sqlite3_column_bytes(row, column))), as: UTF8.self)
        }

        /// A column's bytes, nil when NULL.
        private func blob(_ row: SQLiteStatement, _ column: Int32) -> [UInt8]? {
            guard sqlite3_column_type(row, column) != SQLITE_NULL else { return nil }
            guard let start = sqlite3_column_blob(row, column) else { return [] }
            return Array(UnsafeRawBufferPointer(start: start, count: Int(sqlite3_column_bytes(row, column))))
        }
    }
}
