import Foundation
import GRDB
public import LiaisonCore

/// Dossiers, and the link from rectification items to the feedback they answer.
extension SQLiteStore {
    public func insertDossier(_ dossier: Dossier, audit: AuditRecord) async throws {
        _ = try await committer.submit { db, tail in
            try db.execute(sql: "INSERT INTO dossier (id, unit, agency, requester, reason, request_id, created_at, item_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           arguments: [dossier.id, dossier.unit, dossier.agency, dossier.requester, dossier.reason, dossier.requestID, Self.millis(dossier.createdAt),
                                       StoredText.encode(list: dossier.itemIDs)])
            try tail.append(audit, db)
            return true
        }
    }

    public func dossier(id: String) async throws -> Dossier? {
        let id = id.storable
        return try readSnapshot { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT id, unit, agency, requester, reason, request_id, created_at, item_ids FROM dossier WHERE id = ?", arguments: [id])
            else { return nil }
            return Dossier(id: row[0], unit: row[1], agency: row[2], requester: row[3], reason: row[4], requestID: row[5],
                           itemIDs: try StoredText.itemIDs(row[7], of: "dossier \(id)"), createdAt: Self.date(row[6]))
        }
    }

    public func rectifications(answering feedback: [String]) async throws -> [Item] {
        guard !feedback.isEmpty else { return [] }
        return try readNow { db in
            let marks = Array(repeating: "?", count: feedback.count).joined(separator: ",")
            return try ItemRow.items(db.makeStatement(sql: "SELECT \(ItemRow.columns) FROM item WHERE answers IN (\(marks)) ORDER BY id"),
                                     arguments: StatementArguments(feedback))
        }
    }
}
