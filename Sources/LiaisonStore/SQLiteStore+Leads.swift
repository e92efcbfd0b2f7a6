import Foundation
import GRDB
public import LiaisonCore

/// Lead status and holder. A lead without a row is open and held by its owner.
extension SQLiteStore {
    public func lead(itemID: String) async throws -> Lead? {
        try readNow { db in try Self.fetchLead(itemID: itemID.storable, in: db) }
    }

    public func leadsHeld(by agency: String) async throws -> Set<String> {
        try readNow { db in Set(try String.fetchAll(db.cachedStatement(sql: "SELECT item_id FROM lead WHERE holder = ?"), arguments: [agency])) }
    }

    public func leads(concerning agency: String) async throws -> [(Item, Lead?)] {
        try readSnapshot { db in
            let ids = try String.fetchAll(db, sql: """
                SELECT id FROM item WHERE kind = 'lead' AND owner = ?
                UNION SELECT item_id FROM lead WHERE holder = ?
                ORDER BY 1 DESC LIMIT 1000
                """, arguments: [agency, agency])
            return try ids.compactMap { id in try Self.fetchItem(id: id, in: db).map { ($0, try Self.fetchLead(itemID: id, in: db)) } }
        }
    }

    public func moveLead(_ lead: Lead, from previous: Lead, audit: AuditRecord, events: [FeedEvent]) async throws -> Bool {
        try await committer.submit { db, tail in
            // Only from the state the caller saw: two concurrent moves cannot both apply.
            let current = try Self.fetchLead(itemID: lead.itemID, in: db)
            guard (current ?? Lead(itemID: lead.itemID, owner: previous.owner, holder: previous.owner, status: .open, updatedAt: previous.updatedAt)).status == previous.status,
                  (current?.holder ?? previous.owner) == previous.holder else { return false }
            try db.execute(sql: """
                INSERT INTO lead (item_id, owner, holder, status, disposition, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(item_id) DO UPDATE SET holder = excluded.holder, status = excluded.status, disposition = excluded.disposition,
                    updated_at = excluded.updated_at, updated_by = excluded.updated_by
                """, arguments: [lead.itemID, lead.owner, lead.holder, lead.status.rawValue, lead.disposition, Self.millis(lead.updatedAt), lead.updatedBy])
            try tail.append(audit, db)
            try Self.append(events, in: db)
            return true
        }
    }

    static func fetchLead(itemID: String, in db: Database) throws -> Lead? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT owner, holder, status, disposition, updated_at, updated_by FROM lead WHERE item_id = ?"),
                                         arguments: [itemID]) else { return nil }
        let text: String = row[2]
        guard let status = Lead.Status(rawValue: text) else { throw StoreError.corrupt("lead \(itemID) has status \(text)") }
        return Lead(itemID: itemID, owner: row[0], holder: row[1], status: status, disposition: row[3], updatedAt: date(row[4]), updatedBy: row[5])
    }
}
