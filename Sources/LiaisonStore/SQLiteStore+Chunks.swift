public import Foundation
import LiaisonCore
import GRDB

extension SQLiteStore {
    public func appendChunks(_ chunks: [StoredChunk], of itemID: String, from index: Int, at time: Date) async throws {
        // The bytes first, flushed, outside the writer (a batch of pushes need not wait for megabytes); then the rows.
        let file = chunkFiles.flatMap { files in files.path(of: itemID).map { (files, $0) } }
        let appended = try file.map { files, path in try files.append(chunks, to: path) }
        do {
            try await writer.write { db in
                let insert = try db.cachedStatement(sql: "INSERT INTO payload_chunk (item_id, seq, bytes, tag, written_at, file_offset, file_length) VALUES (?, ?, ?, ?, ?, ?, ?)")
                for (offset, chunk) in chunks.enumerated() {
                    let span = appended?.spans[offset]
                    try insert.execute(arguments: [itemID, index + offset, span == nil ? Data(chunk.bytes) : Data(), chunk.tag.map { Data($0) },
                                                   time.millisecondsSince1970, span?.offset, span?.length])
                }
            }
        } catch {
            // No row names these bytes: they go now, as a failed append leaves nothing (see `ChunkFiles.append`).
            if let (files, path) = file, let appended { files.takeBack(appended, at: path) }
            throw error
        }
    }

    public func chunks(of itemID: String, from index: Int, limit: Int) async throws -> [StoredChunk] {
        var kept: [(bytes: [UInt8], tag: [UInt8]?, place: ChunkPlace)] = try readNow { db in
            // Read in place from SQLite's buffer: a fetched row would copy each megabyte once more on its way.
            let rows = try Row.fetchCursor(db.cachedStatement(sql: "SELECT bytes, tag, file_offset, file_length FROM payload_chunk WHERE item_id = ? AND seq >= ? ORDER BY seq LIMIT ?"),
                                           arguments: [itemID.storable, index, limit])
            var chunks: [(bytes: [UInt8], tag: [UInt8]?, place: ChunkPlace)] = []
            while let row = try rows.next() {
                let place: ChunkPlace = row.hasNull(atIndex: 2) ? .row : ChunkFiles.Span(offset: row[2], length: row[3]).map { .file($0) } ?? .nowhere
                chunks.append((try row.withUnsafeData(atIndex: 0) { $0.map(Array.init) ?? [] }, try row.withUnsafeData(atIndex: 1) { $0.map(Array.init) }, place))
            }
            return chunks
        }
        // Bytes kept in a file are read once the database's connection is given back; a chunk whose bytes are gone
        // (or whose row names no place a chunk can have) ends the list, as a missing row would.
        for position in kept.indices {
            let bytes: [UInt8]?
            switch kept[position].place {
            case .row: continue
            case .file(let span): bytes = try chunkFiles.flatMap { files in try files.path(of: itemID).flatMap { try files.read(span, at: $0) } }
            case .nowhere: bytes = nil
            }
            guard let bytes else {
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
        for item in items { chunkFiles?.remove(item) }
        return swept
    }

    /// Removes the chunk files that no row names (a push stopped between flushing its first chunks and committing
    /// their rows: only a crash leaves one, as a failed append takes its bytes back). For a hub's start, while no push
    /// runs: it looks at every file once. Returns how many it removed.
    public func removeUnownedChunkFiles() throws -> Int {
        guard let chunkFiles else { return 0 }
        var removed = 0
        for item in chunkFiles.items() {
            let owned = try readNow { db in
                try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM payload_chunk WHERE item_id = ?1) OR EXISTS (SELECT 1 FROM payload WHERE item_id = ?1)",
                                  arguments: [item])!
            }
            if !owned {
                chunkFiles.remove(item)
                removed += 1
            }
        }
        return removed
    }
}

/// Where a chunk's bytes are, as its row says.
private enum ChunkPlace {
    case row
    case file(ChunkFiles.Span)
    /// A place no chunk can have: a damaged or edited row.
    case nowhere
}
