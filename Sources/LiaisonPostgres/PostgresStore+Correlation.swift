import LiaisonStore
import PostgresNIO

/// The blind index of persons and tags (`item_mark`): marks only, never the names they mark.
extension PostgresStore {
    func insert(marks: [String], of itemID: String, on connection: PostgresConnection) async throws {
        guard !marks.isEmpty else { return }
        try await execute("INSERT INTO item_mark (mark, item_id) SELECT DISTINCT m, \(itemID) FROM unnest(\(marks)::text[]) AS m ON CONFLICT DO NOTHING", on: connection)
    }

    public func marks(of itemID: String) async throws -> [String] {
        try await rows("SELECT mark FROM item_mark WHERE item_id = \(itemID.storable) ORDER BY mark").map { try $0[0].decode(String.self) }
    }

    public func items(marked marks: [String], limit: Int) async throws -> [String: Set<String>] {
        guard !marks.isEmpty else { return [:] }
        // The newest items first (ids sort by time), then every mark of theirs among those asked.
        let rows = try await rows("""
            SELECT m.item_id, m.mark FROM item_mark m
            JOIN (SELECT DISTINCT item_id FROM item_mark WHERE mark = ANY(\(marks)) ORDER BY item_id DESC LIMIT \(max(1, limit))) newest ON newest.item_id = m.item_id
            WHERE m.mark = ANY(\(marks))
            """)
        var found: [String: Set<String>] = [:]
        for row in rows { found[try row[0].decode(String.self), default: []].insert(try row[1].decode(String.self)) }
        return found
    }

    public func unmarkedItems(limit: Int) async throws -> [String] {
        try await rows("SELECT item_id FROM item_unmarked ORDER BY item_id LIMIT \(max(1, limit))").map { try $0[0].decode(String.self) }
    }

    public func addMarks(_ marks: [String: [String]]) async throws {
        try await transaction { connection in
            for (itemID, itemMarks) in marks {
                try await self.insert(marks: itemMarks, of: itemID, on: connection)
                try await self.execute("DELETE FROM item_unmarked WHERE item_id = \(itemID)", on: connection)
            }
        }
    }
}
