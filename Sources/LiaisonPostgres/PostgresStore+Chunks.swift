public import Foundation
import LiaisonCore
public import LiaisonStore
import PostgresNIO

extension PostgresStore {
    public func appendChunks(_ chunks: [StoredChunk], of itemID: String, from index: Int, at time: Date) async throws {
        try await transaction { connection in
            for (offset, chunk) in chunks.enumerated() {
                try await self.execute("""
                    INSERT INTO payload_chunk (item_id, seq, bytes, tag, written_at)
                    VALUES (\(itemID), \(index + offset), \(Data(chunk.bytes)), \(chunk.tag.map { Data($0) }), \(time.millisecondsSince1970))
                    """, on: connection)
            }
        }
    }

    public func chunks(of itemID: String, from index: Int, limit: Int) async throws -> [StoredChunk] {
        let id = itemID.storable
        return try await rows("SELECT bytes, tag FROM payload_chunk WHERE item_id = \(id) AND seq >= \(index) ORDER BY seq LIMIT \(limit)").map { row in
            StoredChunk(bytes: Array(try row[0].decode(Data.self)), tag: try row[1].decode(Data?.self).map(Array.init))
        }
    }

    public func discardChunks(of itemID: String) async throws {
        _ = try await rows("DELETE FROM payload_chunk WHERE item_id = \(itemID) AND NOT EXISTS (SELECT 1 FROM payload WHERE item_id = \(itemID))")
    }

    public func sweepAbandonedChunks(before time: Date) async throws -> Int {
        // Hubs sharing the database may be streaming pushes now: only chunks older than `time` go.
        let swept = try await rows("""
            WITH gone AS (DELETE FROM payload_chunk WHERE item_id IN (
                              SELECT item_id FROM payload_chunk WHERE seq = 0 AND written_at < \(time.millisecondsSince1970)
                              AND NOT EXISTS (SELECT 1 FROM payload WHERE payload.item_id = payload_chunk.item_id)) RETURNING 1)
            SELECT count(*) FROM gone
            """)
        return try swept.first.map { Int(try $0[0].decode(Int64.self)) } ?? 0
    }
}
