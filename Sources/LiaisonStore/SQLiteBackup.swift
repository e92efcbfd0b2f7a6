import Foundation
import GRDB
public import LiaisonCore

/// What a database file holds, as a backup or restore reports it.
public struct StoreSummary: Sendable, Equatable {
    public let itemsByLevel: [Classification: Int]
    public let auditEntries: Int64
    public let auditHeadHash: String
    /// The sequence number the last signed head covers (0 when none was signed).
    public let signedThrough: Int64
    public let accessRequests: Int
    public let grants: Int
}

/// Consistent copies of a live hub's database: `VACUUM INTO` reads one snapshot (WAL lets the hub go on writing
/// meanwhile) and writes a compact, self-contained file with no `-wal` beside it.
public enum SQLiteBackup {
    /// Copies the database at `source` to `destination` (which must not exist), readable by its owner only; returns
    /// how many streamed payload chunks it put into the copy from their files.
    @discardableResult
    public static func copy(from source: String, to destination: String) throws -> Int {
        guard FileManager.default.fileExists(atPath: source) else { throw StoreError.durability("\(source) does not exist") }
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw StoreError.durability("\(destination) exists already; give a new file name (a backup never overwrites)")
        }
        let database = try ReadConnections.readOnly(source)
        // The copy is made with no access for group or others from its first byte.
        let previous = umask(0o077)
        defer { umask(previous) }
        try database.inDatabase { db in try db.execute(sql: "VACUUM INTO ?", arguments: [destination]) }
        try database.close()
        do {
            return try embedChunks(from: ChunkFiles(database: source), into: destination)
        } catch {
            // No half-made backup is left to be taken for a whole one.
            try? FileManager.default.removeItem(atPath: destination)
            throw error
        }
    }

    /// Puts into the copy at `path` the bytes of the chunks kept in files, so that a backup stays one self-contained
    /// file (a hub restored from it reads them from the database; its new pushes write files again). Chunks of pushes
    /// that never completed are left out, as a sweep would leave them. A stored chunk whose bytes are not there fails
    /// the backup: its payload could not be read back. Returns how many chunks it put in.
    static func embedChunks(from files: ChunkFiles, into path: String) throws -> Int {
        let backup = try DatabaseQueue(path: path)
        defer { try? backup.close() }
        let items = try backup.write { db in
            try db.execute(sql: "DELETE FROM payload_chunk WHERE item_id NOT IN (SELECT item_id FROM payload)")
            return try String.fetchAll(db, sql: "SELECT DISTINCT item_id FROM payload_chunk WHERE file_offset IS NOT NULL")
        }
        var embedded = 0
        for item in items {
            // One item per transaction, one chunk in memory at a time: a payload may be gigabytes.
            try backup.write { db in
                let spans = try Row.fetchAll(db, sql: "SELECT seq, file_offset, file_length FROM payload_chunk WHERE item_id = ? AND file_offset IS NOT NULL",
                                             arguments: [item])
                let update = try db.makeStatement(sql: "UPDATE payload_chunk SET bytes = ?, file_offset = NULL, file_length = NULL WHERE item_id = ? AND seq = ?")
                for span in spans {
                    let seq: Int = span[0]
                    guard let file = files.path(of: item), let place = ChunkFiles.Span(offset: span[1], length: span[2]),
                          let bytes = try files.read(place, at: file) else {
                        throw StoreError.corrupt("chunk \(seq) of item \(item) is missing from \(files.folder)")
                    }
                    try update.execute(arguments: [Data(bytes), item, seq])
                    embedded += 1
                }
            }
        }
        // Not compacted again: that would rewrite every payload just put in, for the few pages the rows left out held.
        return embedded
    }

    /// Moves the chunks that the database at `path` (a backup just restored) holds in its rows out to files beside
    /// it, as the hub keeps them (`ChunkFiles`): the restored database is as small as the one backed up, and its
    /// next backup does not copy the payloads twice. One chunk in memory at a time; an item's file is flushed once,
    /// before the transaction that says where its chunks went commits, and taken back whole if that fails. Returns
    /// how many chunks moved.
    public static func moveChunksToFiles(database path: String) throws -> Int {
        let files = ChunkFiles(database: path)
        let database = try DatabaseQueue(path: path)
        defer { try? database.close() }
        let items = try database.read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT item_id FROM payload_chunk WHERE file_offset IS NULL")
        }
        var moved = 0
        for item in items {
            guard let file = files.path(of: item) else { continue }
            // The item's first append: what taking back the whole item returns the file to.
            var first: ChunkFiles.Appended?
            do {
                moved += try database.write { db in
                    let place = try db.makeStatement(sql: "UPDATE payload_chunk SET bytes = X'', file_offset = ?, file_length = ? WHERE item_id = ? AND seq = ?")
                    var count = 0
                    for seq in try Int.fetchAll(db, sql: "SELECT seq FROM payload_chunk WHERE item_id = ? AND file_offset IS NULL ORDER BY seq", arguments: [item]) {
                        guard let bytes = try Data.fetchOne(db, sql: "SELECT bytes FROM payload_chunk WHERE item_id = ? AND seq = ?", arguments: [item, seq]) else { continue }
                        let appended = try files.append([StoredChunk(bytes: Array(bytes), tag: nil)], to: file, flushing: false)
                        if first == nil { first = appended }
                        try place.execute(arguments: [appended.spans[0].offset, appended.spans[0].length, item, seq])
                        count += 1
                    }
                    if count > 0 { try files.flush(file) }
                    return count
                }
            } catch {
                // The rows were rolled back: no row names what was written for this item.
                if let first { files.takeBack(first, at: file) }
                throw error
            }
        }
        if moved > 0 { try database.writeWithoutTransaction { db in try db.execute(sql: "VACUUM") } }
        return moved
    }

    /// What the database file at `path` holds, read without changing it.
    public static func summary(of path: String) throws -> StoreSummary {
        let database = try ReadConnections.readOnly(path)
        defer { try? database.close() }
        return try database.read { db in
            var levels: [Classification: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT classification, COUNT(*) FROM item GROUP BY classification") {
                if let level = Classification(rawValue: row[0]) { levels[level] = row[1] }
            }
            let tail = try AuditTail.load(db)
            return StoreSummary(itemsByLevel: levels, auditEntries: tail.seq, auditHeadHash: tail.hash,
                                signedThrough: try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM audit_head") ?? 0,
                                accessRequests: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM access_request") ?? 0,
                                grants: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM access_grant") ?? 0)
        }
    }
}
