import GRDB

/// The ordered item lists of a dossier (`dossier_item`) and of an access request (`request_item`): rows of
/// (owner id, item id, position). A dossier of a 10,000-item unit files both, so the rows go in by hundreds per
/// statement instead of one statement, and one set of bound arguments, per row.
enum ItemListRows {
    /// Rows per statement: three variables each, far below SQLite's limit of 32,766.
    static let rowsPerStatement = 300

    static func insert(_ itemIDs: [String], of ownerID: String, into table: String, ownerColumn: String, in db: Database) throws {
        var start = 0
        while start < itemIDs.count {
            let end = min(start + rowsPerStatement, itemIDs.count)
            let sql = "INSERT INTO \(table) (\(ownerColumn), item_id, position) VALUES "
                + Array(repeating: "(?, ?, ?)", count: end - start).joined(separator: ", ")
            // Whole statements are cached; the shorter last one of a list is made for it alone (its length varies).
            let statement = end - start == rowsPerStatement ? try db.cachedStatement(sql: sql) : try db.makeStatement(sql: sql)
            var values: [DatabaseValue] = []
            values.reserveCapacity((end - start) * 3)
            for position in start..<end {
                values.append(ownerID.databaseValue)
                values.append(itemIDs[position].databaseValue)
                values.append(position.databaseValue)
            }
            try statement.execute(arguments: StatementArguments(values))
            start = end
        }
    }
}
