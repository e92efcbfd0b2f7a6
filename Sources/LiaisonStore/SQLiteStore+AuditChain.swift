import GRDB
import GRDBSQLite
import LiaisonCore

/// The trail's compact form written straight from SQLite's rows: no entry, string or dictionary is built for an
/// entry on the way, which is what decoding cost an auditor's verification of a long trail.
extension SQLiteStore {
    public func auditChain(after: Int64, limit: Int) async throws -> (text: [UInt8], count: Int) {
        try readNow { db in
            let statement = try db.makeStatement(sql: "SELECT \(AuditRow.columns) FROM audit WHERE seq > ? ORDER BY seq LIMIT ?")
            try statement.setArguments([after, max(1, limit)])
            let row = statement.sqliteStatement
            // A column's bytes, valid until the next step.
            func text(_ column: Int32) -> UnsafeBufferPointer<UInt8> {
                UnsafeBufferPointer(start: sqlite3_column_text(row, column), count: Int(sqlite3_column_bytes(row, column)))
            }
            var out: [UInt8] = []
            out.reserveCapacity(min(limit, 100_000) * 384)
            var count = 0
            while true {
                let code = sqlite3_step(row)
                if code == SQLITE_DONE { break }
                guard code == SQLITE_ROW else { throw StoreError.durability("reading the trail failed: \(String(cString: sqlite3_errmsg(sqlite3_db_handle(row))))") }
                // Columns as in AuditRow.columns: seq, time, actor, action, targets, unit, outcome, detail, prev_hash, hash.
                AuditChainText.append(hash: text(9), previousHash: text(8), seq: sqlite3_column_int64(row, 0), timeMs: sqlite3_column_int64(row, 1),
                                      actor: text(2), action: text(3), targets: text(4), unit: sqlite3_column_type(row, 5) == SQLITE_NULL ? nil : text(5),
                                      outcome: text(6), detail: text(7), to: &out)
                count += 1
            }
            return (out, count)
        }
    }
}
