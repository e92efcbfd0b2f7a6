import Foundation
import GRDB
public import LiaisonCore
import LiaisonCrypto

/// The end of the audit chain, as the writer knows it. Only the group committer, on GRDB's
/// writer queue, holds and advances it; a batch that rolls back restores the tail it started from.
struct AuditTail: Sendable, Equatable {
    var seq: Int64
    var hash: String

    static func load(_ db: Database) throws -> AuditTail {
        guard let row = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1") else {
            return AuditTail(seq: 0, hash: AuditEntry.genesisHash)
        }
        return AuditTail(seq: row[0], hash: row[1])
    }

    /// Appends one entry inside the current transaction and advances the tail.
    @discardableResult
    mutating func append(_ given: AuditRecord, _ db: Database) throws -> AuditEntry {
        // Text from a request (an id in a path, a query value) may hold NUL, which SQLite text would cut
        // off after hashing; the entry records U+FFFD in its place, hashed and stored alike.
        let record = given.withoutNUL()
        let seq = seq + 1
        let hash = Digest.sha256Hex(AuditEntry.hashInput(previousHash: self.hash, seq: seq, record: record))
        try db.cachedStatement(sql: """
            INSERT INTO audit (seq, time, actor, action, targets, unit, outcome, detail, prev_hash, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [seq, record.time.millisecondsSince1970, record.actor, record.action,
                                     record.targets.joined(separator: ","), record.unit, record.outcome, StoredText.encode(detail: record.detail),
                                     self.hash, hash])
        let entry = AuditEntry(seq: seq, record: record, previousHash: self.hash, hash: hash)
        self.seq = seq
        self.hash = hash
        return entry
    }
}

extension AuditRecord {
    /// The record with every NUL character replaced by U+FFFD: database text cannot hold NUL (SQLite cuts it off, PostgreSQL refuses it).
    public func withoutNUL() -> AuditRecord {
        func hasNUL(_ text: String) -> Bool { text.utf8.contains(0) }
        // Nearly every record has none: return it as is rather than rebuild it on the writer's queue.
        guard hasNUL(actor) || hasNUL(action) || targets.contains(where: hasNUL) || unit.map(hasNUL) == true || hasNUL(outcome)
                || detail.contains(where: { hasNUL($0.key) || hasNUL($0.value) }) else { return self }
        func clean(_ text: String) -> String { hasNUL(text) ? text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : text }
        var record = self
        record.actor = clean(actor)
        record.action = clean(action)
        record.targets = targets.map(clean)
        record.unit = unit.map(clean)
        record.outcome = clean(outcome)
        record.detail = Dictionary(detail.map { (clean($0.key), clean($0.value)) }, uniquingKeysWith: { first, _ in first })
        return record
    }
}

/// Maps the `audit` table to `AuditEntry`.
enum AuditRow {
    static let columns = "seq, time, actor, action, targets, unit, outcome, detail, prev_hash, hash"

    static func entry(from row: Row) -> AuditEntry {
        let targets: String = row[4]
        let millis: Int64 = row[1]
        let record = AuditRecord(time: Date(millisecondsSince1970: millis), actor: row[2], action: row[3],
                                 targets: targets.isEmpty ? [] : targets.split(separator: ",", omittingEmptySubsequences: false).map(String.init), unit: row[5],
                                 outcome: row[6], detail: StoredText.detail(row[7]))
        return AuditEntry(seq: row[0], record: record, previousHash: row[8], hash: row[9])
    }
}
