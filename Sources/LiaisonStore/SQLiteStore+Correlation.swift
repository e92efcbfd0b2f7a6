import GRDB

/// The blind index of persons and tags (`item_mark`): marks only, never the names they mark.
extension SQLiteStore {
    static func insert(marks: [String], of itemID: String, in db: Database) throws {
        let statement = try db.cachedStatement(sql: "INSERT OR IGNORE INTO item_mark (mark, item_id) VALUES (?, ?)")
        for mark in Set(marks) { try statement.execute(arguments: [mark, itemID]) }
    }

    public func marks(of itemID: String) async throws -> [String] {
        try readNow { db in try String.fetchAll(db.cachedStatement(sql: "SELECT mark FROM item_mark WHERE item_id = ? ORDER BY mark"), arguments: [itemID.storable]) }
    }

    public func items(marked marks: [String], limit: Int) async throws -> [String: Set<String>] {
        guard !marks.isEmpty else { return [:] }
        return try readSnapshot { db in
            let places = Array(repeating: "?", count: marks.count).joined(separator: ", ")
            // The newest items first (ids sort by time), then every mark of theirs among those asked.
            let ids = try String.fetchAll(db, sql: "SELECT DISTINCT item_id FROM item_mark WHERE mark IN (\(places)) ORDER BY item_id DESC LIMIT \(max(1, limit))",
                                          arguments: StatementArguments(marks))
            guard !ids.isEmpty else { return [:] }
            var found: [String: Set<String>] = [:]
            let rows = try Row.fetchAll(db, sql: """
                SELECT item_id, mark FROM item_mark WHERE mark IN (\(places)) AND item_id IN (\(Array(repeating: "?", count: ids.count).joined(separator: ", ")))
                """, arguments: StatementArguments(marks + ids))
            for row in rows { found[row[0], default: []].insert(row[1]) }
            return found
        }
    }

    public func unmarkedItems(limit: Int) async throws -> [String] {
        try readNow { db in try String.fetchAll(db, sql: "SELECT item_id FROM item_unmarked ORDER BY item_id LIMIT \(max(1, limit))") }
    }

    public func addMarks(_ marks: [String: [String]]) async throws {
        _ = try await committer.submit { db, _ in
            for (itemID, itemMarks) in marks {
                try Self.insert(marks: itemMarks, of: itemID, in: db)
                try db.execute(sql: "DELETE FROM item_unmarked WHERE item_id = ?", arguments: [itemID])
            }
            return true
        }
    }
}
