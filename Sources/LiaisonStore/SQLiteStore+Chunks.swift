public import Foundation
import LiaisonCore
import GRDB

extension SQLiteStore {
    public func appendChunks(_ chunks: [StoredChunk], of itemID: String, from index: Int, at time: Date) async throws {
        try await writer.write { db in
            let insert = try db.cachedStatement(sql: "INSERT INTO payload_chunk (item_id, seq, bytes, tag, written_at) VALUES (?, ?, ?, ?, ?)")
            for (offset, chunk) in chunks.enumerated() {
                try insert.execute(arguments: [itemID, index + offset, Data(chunk.bytes), chunk.tag.map { Data($0) }, time.millisecondsSince1970])
            }
        }
    }

    public func chunks(of itemID: String, from index: Int, limit: Int) async throws -> [StoredChunk] {
        try readNow { db in
            // Read in place from SQLite's buffer: a fetched row would copy each megabyte once more on its way.
            let rows = try Row.fetchCursor(db.cachedStatement(sql: "SELECT bytes, tag FROM payload_chunk WHERE item_id = ? AND seq >= ? ORDER BY seq LIMIT ?"),
                                           arguments: [itemID.storable, index, limit])
            var chunks: [StoredChunk] = []
            while let row = try rows.next() {
                chunks.append(StoredChunk(bytes: try row.withUnsafeData(atIndex: 0) { $0.map(Array.init) ?? [] },
                                          tag: try row.withUnsafeData(atIndex: 1) { $0.map(Array.init) }))
            }
            return chunks
        }
    }

    public func discardChunks(of itemID: String) async throws {
        try await writer.write { db in
            // Only chunks no stored item owns: a replayed push's id is its own, never the first push's.
            try db.execute(sql: "DELETE FROM payload_chunk WHERE item_id = ? AND NOT EXISTS (SELECT 1 FROM payload WHERE item_id = ?)", arguments: [itemID, itemID])
        }
    }

    public func sweepAbandonedChunks(before time: Date) async throws -> Int {
        try await writer.write { db in
            // Every push that stored chunks stored its chunk 0 first: one row per push is looked at, not every chunk.
            try db.execute(sql: """
                DELETE FROM payload_chunk WHERE item_id IN (
                    SELECT item_id FROM payload_chunk WHERE seq = 0 AND written_at < ? AND item_id NOT IN (SELECT item_id FROM payload))
                """, arguments: [time.millisecondsSince1970])
            return db.changesCount
        }
    }
}
