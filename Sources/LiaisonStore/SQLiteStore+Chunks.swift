public import Foundation
import LiaisonCore
import GRDB

extension SQLiteStore {
    public func appendChunks(_ chunks: [StoredChunk], of itemID: String, from index: Int, at time: Date) async throws {
        // The bytes first, flushed, outside the writer (a batch of pushes need not wait for megabytes); then the rows.
        let file = chunkFiles.flatMap { files in files.path(of: itemID).map { (files, $0) } }
        do {
            let spans = try file.map { files, path in try files.append(chunks, to: path) }
            try await writer.write { db in
                let insert = try db.cachedStatement(sql: "INSERT INTO payload_chunk (item_id, seq, bytes, tag, written_at, file_offset, file_length) VALUES (?, ?, ?, ?, ?, ?, ?)")
                for (offset, chunk) in chunks.enumerated() {
                    let span = spans?[offset]
                    try insert.execute(arguments: [itemID, index + offset, span == nil ? Data(chunk.bytes) : Data(), chunk.tag.map { Data($0) },
                                                   time.millisecondsSince1970, span?.offset, span?.length])
                }
            }
        } catch {
            // The push's first chunks, which its caller does not discard (none stored): their file goes now, not at the
            // next sweep, since a full disk is the likeliest cause.
            if index == 0 { chunkFiles?.remove(itemID) }
            throw error
        }
    }

    public func chunks(of itemID: String, from index: Int, limit: Int) async throws -> [StoredChunk] {
        var kept: [(bytes: [UInt8], tag: [UInt8]?, span: ChunkFiles.Span?)] = try readNow { db in
            // Read in place from SQLite's buffer: a fetched row would copy each megabyte once more on its way.
            let rows = try Row.fetchCursor(db.cachedStatement(sql: "SELECT bytes, tag, file_offset, file_length FROM payload_chunk WHERE item_id = ? AND seq >= ? ORDER BY seq LIMIT ?"),
                                           arguments: [itemID.storable, index, limit])
            var chunks: [(bytes: [UInt8], tag: [UInt8]?, span: ChunkFiles.Span?)] = []
            while let row = try rows.next() {
                let offset: Int64? = row[2]
                let length: Int? = row[3]
                chunks.append((try row.withUnsafeData(atIndex: 0) { $0.map(Array.init) ?? [] }, try row.withUnsafeData(atIndex: 1) { $0.map(Array.init) },
                               offset.flatMap { offset in length.map { ChunkFiles.Span(offset: offset, length: $0) } }))
            }
            return chunks
        }
        // Bytes kept in a file are read once the database's connection is given back; a chunk whose bytes are gone
        // ends the list, as a missing row would.
        for position in kept.indices {
            guard let span = kept[position].span else { continue }
            guard let files = chunkFiles, let path = files.path(of: itemID), let bytes = try files.read(span, at: path) else {
                kept.removeSubrange(position...)
                break
            }
            kept[position].bytes = bytes
        }
        return kept.map { StoredChunk(bytes: $0.bytes, tag: $0.tag) }
    }

    public func discardChunks(of itemID: String) async throws {
        let discarded = try await writer.write { db in
            // Only chunks no stored item owns: a replayed push's id is its own, never the first push's.
            guard try !Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM payload WHERE item_id = ?)", arguments: [itemID])! else { return false }
            try db.execute(sql: "DELETE FROM payload_chunk WHERE item_id = ?", arguments: [itemID])
            return true
        }
        if discarded { chunkFiles?.remove(itemID) }
    }

    public func sweepAbandonedChunks(before time: Date) async throws -> Int {
        let (swept, items) = try await writer.write { db in
            // Every push that stored chunks stored its chunk 0 first: one row per push is looked at, not every chunk.
            let items = try String.fetchAll(db, sql: """
                SELECT item_id FROM payload_chunk WHERE seq = 0 AND written_at < ? AND item_id NOT IN (SELECT item_id FROM payload)
                """, arguments: [time.millisecondsSince1970])
            let delete = try db.cachedStatement(sql: "DELETE FROM payload_chunk WHERE item_id = ?")
            var swept = 0
            for item in items {
                try delete.execute(arguments: [item])
                swept += db.changesCount
            }
            return (swept, items)
        }
        guard let chunkFiles else { return swept }
        for item in items { chunkFiles.remove(item) }
        // Files with no row at all: a push that stopped between flushing its first chunks and committing their rows.
        for file in chunkFiles.files(writtenBefore: time) {
            let owned = try readNow { db in
                try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM payload_chunk WHERE item_id = ?1) OR EXISTS (SELECT 1 FROM payload WHERE item_id = ?1)",
                                  arguments: [file])!
            }
            if !owned { chunkFiles.remove(file) }
        }
        return swept
    }
}
