import Foundation
public import LiaisonCore
import LiaisonStore
import PostgresNIO

/// Risk alerts (`risk_alert`, and who each went to in `risk_alert_reader`), and the items alert rules count.
extension PostgresStore {
    /// The items of each key pushed since its date, read inside the push's transaction once the push holds the
    /// key's lock: a push of another hub watching the same key waits for this transaction and then sees its item,
    /// so each occurrence is raised by exactly one of them. Keys are locked in order, so two pushes of one hub's
    /// batch never wait for each other; pushes of two hubs that deadlock run again (`PostgresGroupCommitter`).
    func watchedItems(_ keys: [AlertKey: Date], on connection: PostgresConnection) async throws -> [AlertKey: [WatchedItem]] {
        var found: [AlertKey: [WatchedItem]] = [:]
        for (key, since) in keys.sorted(by: { $0.key < $1.key }) {
            let lowest = ItemIDGenerator.lowerBound(at: since)
            let rows: [PostgresRandomAccessRow]
            switch key {
            case .mark(let mark):
                try await lock("alert:mark:" + mark, on: connection)
                rows = try await self.rows("""
                    SELECT i.id, i.kind, i.owner, i.unit, i.created_at FROM item_mark m JOIN item i ON i.id = m.item_id WHERE m.mark = \(mark) AND m.item_id >= \(lowest)
                    """, on: connection)
            case .unit(let unit):
                try await lock("alert:unit:" + unit, on: connection)
                rows = try await self.rows("SELECT id, kind, owner, unit, created_at FROM item WHERE unit = \(unit) AND id >= \(lowest)", on: connection)
            }
            found[key] = try rows.map { row in
                WatchedItem(id: try row[0].decode(String.self), kind: try row[1].decode(String.self), owner: try row[2].decode(String.self),
                            unit: try row[3].decode(String.self), time: Date(millisecondsSince1970: try row[4].decode(Int64.self)))
            }
        }
        return found
    }

    func insert(_ alert: RiskAlert, on connection: PostgresConnection) async throws {
        try await execute("""
            INSERT INTO risk_alert (id, rule, time, trigger_item, items, owners, units, notified)
            VALUES (\(alert.id), \(alert.rule), \(alert.time.millisecondsSince1970), \(alert.trigger), \(StoredText.encode(list: alert.itemIDs)),
                    \(StoredText.encode(list: alert.owners)), \(StoredText.encode(list: alert.units)), \(StoredText.encode(list: alert.notified)))
            """, on: connection)
        guard !alert.notified.isEmpty else { return }
        try await execute("INSERT INTO risk_alert_reader (principal, alert_id) SELECT DISTINCT p, \(alert.id) FROM unnest(\(alert.notified)::text[]) AS p ON CONFLICT DO NOTHING",
                          on: connection)
    }

    public func alert(id: String) async throws -> RiskAlert? {
        try await rows("SELECT \(unescaped: Self.alertColumns) FROM risk_alert a WHERE a.id = \(id.storable)").first.map(Self.alert(from:))
    }

    public func alerts(notifying principal: String?, limit: Int) async throws -> [RiskAlert] {
        let limit = max(1, limit)
        if let principal {
            return try await rows("""
                SELECT \(unescaped: Self.alertColumns) FROM risk_alert_reader r JOIN risk_alert a ON a.id = r.alert_id
                WHERE r.principal = \(principal.storable) ORDER BY r.alert_id DESC LIMIT \(limit)
                """).map(Self.alert(from:))
        }
        return try await rows("SELECT \(unescaped: Self.alertColumns) FROM risk_alert a ORDER BY a.id DESC LIMIT \(limit)").map(Self.alert(from:))
    }

    static let alertColumns = "a.id, a.rule, a.time, a.trigger_item, a.items, a.owners, a.units, a.notified"

    static func alert(from row: PostgresRandomAccessRow) throws -> RiskAlert {
        RiskAlert(id: try row[0].decode(String.self), rule: try row[1].decode(String.self), time: Date(millisecondsSince1970: try row[2].decode(Int64.self)),
                  trigger: try row[3].decode(String.self), itemIDs: StoredText.list(try row[4].decode(String.self)),
                  owners: StoredText.list(try row[5].decode(String.self)), units: StoredText.list(try row[6].decode(String.self)),
                  notified: StoredText.list(try row[7].decode(String.self)))
    }
}
