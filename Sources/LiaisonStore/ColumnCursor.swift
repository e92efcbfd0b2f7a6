import GRDB
import GRDBSQLite

/// Values decoded straight from SQLite's columns as a statement steps, by position: a GRDB `Row` named its columns
/// in a dictionary at every fetch (a sixtieth of an audited metadata read) and converted each value through a
/// generic path, and `Row.fetchOne` copied the row (a payload's kilobytes) before it was read.
final class ColumnCursor<Element>: DatabaseCursor {
    let _statement: Statement
    var _isDone = false
    private let decode: (Columns) throws -> Element

    init(_ statement: Statement, arguments: StatementArguments, decode: @escaping (Columns) throws -> Element) throws {
        _statement = statement
        self.decode = decode
        try statement.setArguments(arguments)
    }

    deinit {
        // Leaves the statement idle (a stepped one holds its read snapshot); what it returns is the last step's error.
        sqlite3_reset(_statement.sqliteStatement)
    }

    func _element(sqliteStatement: SQLiteStatement) throws -> Element {
        try decode(Columns(row: sqliteStatement))
    }

    /// Every value the statement selects.
    static func all(_ statement: Statement, arguments: StatementArguments, decode: @escaping (Columns) throws -> Element) throws -> [Element] {
        var all: [Element] = []
        let cursor = try ColumnCursor(statement, arguments: arguments, decode: decode)
        while let next = try cursor.next() { all.append(next) }
        return all
    }

    /// The first value the statement selects, if any.
    static func first(_ statement: Statement, arguments: StatementArguments, decode: @escaping (Columns) throws -> Element) throws -> Element? {
        try ColumnCursor(statement, arguments: arguments, decode: decode).next()
    }
}

/// The columns of the row a statement stands on, valid until it steps on.
struct Columns {
    let row: SQLiteStatement

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(row, column) == SQLITE_NULL }

    /// A column's text, nil when NULL.
    func text(_ column: Int32) -> String? {
        // The pointer first, then its length (SQLite's order: the length is of the text the pointer converted to).
        guard let start = sqlite3_column_text(row, column) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: start, count: Int(sqlite3_column_bytes(row, column))), as: UTF8.self)
    }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(row, column) }

    /// A column's integer, nil when NULL.
    func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }

    /// A key version, nil when NULL (`StoredPayload.keyVersion(stored:)`).
    func keyVersion(_ column: Int32) throws -> UInt32? { try optionalInt64(column).map(StoredPayload.keyVersion(stored:)) }

    /// A column's bytes, nil when NULL.
    func blob(_ column: Int32) -> [UInt8]? {
        guard !isNull(column) else { return nil }
        guard let start = sqlite3_column_blob(row, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: start, count: Int(sqlite3_column_bytes(row, column))))
    }
}
