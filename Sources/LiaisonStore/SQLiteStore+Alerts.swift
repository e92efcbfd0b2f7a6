import Foundation
public import LiaisonCore
import GRDB

/// Risk alerts (`risk_alert`, and who each went to in `risk_alert_reader`), and the items alert rules count.
extension SQLiteStore {
    /// The items of each key pushed since its date, read inside the push's transaction.
    static func watchedItems(_ keys: [AlertKey: Date], in db: Database) throws -> [AlertKey: [WatchedItem]] {
        var found: [AlertKey: [WatchedItem]] = [:]
        for (key, since) in keys {
            // Ids sort by time: the window is a range of the (mark, item) and (unit, id) indexes.
            let statement: Statement
            let value: String
            switch key {
            case .mark(let mark):
                statement = try db.cachedStatement(sql: """
                    SELECT i.id, i.kind, i.owner, i.unit, i.created_at FROM item_mark m JOIN item i ON i.id = m.item_id WHERE m.mark = ? AND m.item_id >= ?
                    """)
                value = mark
            case .unit(let unit):
                statement = try db.cachedStatement(sql: "SELECT id, kind, owner, unit, created_at FROM item WHERE unit = ? AND id >= ?")
                value = unit
            }
            found[key] = try Row.fetchAll(statement, arguments: [value, ItemIDGenerator.lowerBound(at: since)]).map { row in
                WatchedItem(id: row[0], kind: row[1], owner: row[2], unit: row[3], time: Date(millisecondsSince1970: row[4]))
            }
        }
        return found
    }

    static func insert(_ alert: RiskAlert, in db: Database) throws {
        try db.execute(sql: "INSERT INTO risk_alert (id, rule, time, trigger_item, items, owners, units, notified) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       arguments: [alert.id, alert.rule, alert.time.millisecondsSince1970, alert.trigger, StoredText.encode(list: alert.itemIDs),
                                   StoredText.encode(list: alert.owners), StoredText.encode(list: alert.units), StoredText.encode(list: alert.notified)])
        let reader = try db.cachedStatement(sql: "INSERT OR IGNORE INTO risk_alert_reader (principal, alert_id) VALUES (?, ?)")
        for principal in alert.notified { try reader.execute(arguments: [principal, alert.id]) }
    }

    public func alert(id: String) async throws -> RiskAlert? {
        try readNow { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.alertColumns) FROM risk_alert a WHERE a.id = ?", arguments: [id.storable]).map(Self.alert(from:))
        }
    }

    public func alerts(notifying principal: String?, limit: Int) async throws -> [RiskAlert] {
        try readNow { db in
            if let principal {
                return try Row.fetchAll(db, sql: """
                    SELECT \(Self.alertColumns) FROM risk_alert_reader r JOIN risk_alert a ON a.id = r.alert_id WHERE r.principal = ? ORDER BY r.alert_id DESC LIMIT ?
                    """, arguments: [principal.storable, max(1, limit)]).map(Self.alert(from:))
            }
            return try Row.fetchAll(db, sql: "SELECT \(Self.alertColumns) FROM risk_alert a ORDER BY a.id DESC LIMIT ?", arguments: [max(1, limit)]).map(Self.alert(from:))
        }
    }

    static let alertColumns = "a.id, a.rule, a.time, a.trigger_item, a.items, a.owners, a.units, a.notified"

    static func alert(from row: Row) -> RiskAlert {
        RiskAlert(id: row[0], rule: row[1], time: Date(millisecondsSince1970: row[2]), trigger: row[3], itemIDs: StoredText.list(row[4]),
                  owners: StoredText.list(row[5]), units: StoredText.list(row[6]), notified: StoredText.list(row[7]))
    }
}
