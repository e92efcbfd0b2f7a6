public import Foundation
import GRDB
public import LiaisonCore

/// Access requests, their reviews and the grants they yield.
extension SQLiteStore {
    public func insertRequest(_ request: AccessRequest, audit: AuditRecord, events: [FeedEvent]) async throws {
        _ = try await committer.submit { db, tail in
            try db.execute(sql: """
                INSERT INTO access_request (id, requester, agency, reason, unit, duration, created_at, expires_at, decision, item_ids, subjects)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [request.id, request.requester, request.agency, request.reason, request.unit, request.duration.seconds,
                                 Self.millis(request.createdAt), Self.millis(request.expiresAt), request.decision.rawValue, StoredText.encode(list: request.itemIDs),
                                 StoredText.encode(subjects: request.subjects)])
            try tail.append(audit, db)
            try Self.append(events, in: db)
            return true
        }
    }

    public func request(id: String) async throws -> AccessRequest? {
        try readSnapshot { db in try Self.fetchRequest(id: id.storable, in: db) }
    }

    public func requests(matching query: RequestQuery) async throws -> [AccessRequest] {
        var clauses: [String] = []
        var arguments: StatementArguments = []
        if let agency = query.agency { clauses.append("agency = ?"); arguments += [agency] }
        if let open = query.openAt { clauses.append("decision = 'pending' AND expires_at > ?"); arguments += [Self.millis(open)] }
        if let before = query.before { clauses.append("id < ?"); arguments += [before.storable] }
        let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        let sql = "SELECT \(Self.requestColumns) FROM access_request \(whereClause) ORDER BY id DESC LIMIT \(max(1, query.limit))"
        let finalArguments = arguments
        return try readSnapshot { db in
            try Row.fetchAll(db, sql: sql, arguments: finalArguments).map(Self.request(from:))
        }
    }

    public func reviews(requestID: String) async throws -> [Review] {
        try readNow { db in try Self.fetchReviews(requestID: requestID.storable, in: db) }
    }

    public func items(ids: [String]) async throws -> [Item] {
        let wanted = ids.map(\.storable)
        // A few hundred ids per statement: a dossier or a request names up to 10,000 items, and a point read per item
        // cost more than decoding it.
        return try readSnapshot { db in
            var found: [String: Item] = [:]
            try Self.select(ids: wanted, "SELECT \(ItemRow.columns) FROM item WHERE id IN", in: db) { statement, some in
                for item in try ItemRow.items(statement, arguments: some) { found[item.id] = item }
            }
            return wanted.compactMap { found[$0] }
        }
    }

    /// Runs `sql` (ending in `IN`) with `ids` as its list, `idsPerStatement` at a time; `read` takes each statement
    /// with its arguments.
    static func select(ids: [String], _ sql: String, in db: Database, _ read: (Statement, StatementArguments) throws -> Void) throws {
        for start in stride(from: 0, to: ids.count, by: idsPerStatement) {
            let some = ids[start..<min(ids.count, start + idsPerStatement)]
            try read(try db.makeStatement(sql: "\(sql) (\(repeatElement("?", count: some.count).joined(separator: ",")))"), StatementArguments(some))
        }
    }

    /// Under SQLite's default limit of host parameters per statement (32,766), and small enough to prepare quickly.
    static let idsPerStatement = 500

    public func review(_ review: Review, resolve: @escaping @Sendable (AccessRequest, [Review]) throws -> ReviewResolution) async throws -> ReviewResolution {
        try await committer.submit { db, tail in
            // Re-read inside the transaction: two approvers reviewing at once are serialised here.
            guard let request = try Self.fetchRequest(id: review.requestID, in: db) else { throw StoreError.corrupt("request \(review.requestID) vanished") }
            let resolution = try resolve(request, try Self.fetchReviews(requestID: review.requestID, in: db))
            try db.execute(sql: "INSERT INTO review (request_id, reviewer, agency, decision, comment, time) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [review.requestID, review.reviewer, review.agency, review.decision.rawValue, review.comment, Self.millis(review.time)])
            if resolution.decision != .pending {
                try db.execute(sql: "UPDATE access_request SET decision = ?, decided_at = ?, grant_id = ? WHERE id = ?",
                               arguments: [resolution.decision.rawValue, Self.millis(review.time), resolution.grant?.id, review.requestID])
            }
            if let grant = resolution.grant { try Self.insert(grant, in: db) }
            for record in resolution.audit { try tail.append(record, db) }
            try Self.append(resolution.events, in: db)
            return resolution
        }
    }

    public func grant(id: String) async throws -> Grant? {
        try readSnapshot { db in try Self.fetchGrant(id: id.storable, in: db) }
    }

    public func grants(matching query: GrantQuery) async throws -> [Grant] {
        var clauses: [String] = []
        var arguments: StatementArguments = []
        if let agency = query.agency { clauses.append("agency = ?"); arguments += [agency] }
        if let live = query.liveAt { clauses.append("revoked_at IS NULL AND expires_at > ?"); arguments += [Self.millis(live)] }
        let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        let sql = "SELECT id FROM access_grant \(whereClause) ORDER BY id DESC LIMIT \(max(1, query.limit))"
        let finalArguments = arguments
        return try readSnapshot { db in
            try String.fetchAll(db, sql: sql, arguments: finalArguments).compactMap { try Self.fetchGrant(id: $0, in: db) }
        }
    }

    public func grantedItems(agency: String, at now: Date) async throws -> Set<String> {
        try readNow { db in
            Set(try String.fetchAll(db.cachedStatement(sql: """
                SELECT gi.item_id FROM grant_item gi JOIN access_grant g ON g.id = gi.grant_id
                WHERE gi.agency = ? AND g.revoked_at IS NULL AND g.expires_at > ?
                """), arguments: [agency, Self.millis(now)]))
        }
    }

    public func grantedItems(agency: String, among ids: [String], at now: Date) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        let live = "SELECT gi.item_id FROM grant_item gi JOIN access_grant g ON g.id = gi.grant_id WHERE gi.agency = ? AND g.revoked_at IS NULL AND g.expires_at > ?"
        let arguments: StatementArguments = [agency, Self.millis(now)]
        return try readNow { db in
            // Most agencies hold few granted items or none: all of them are read when they are no more than those asked about.
            let held = try String.fetchAll(db.cachedStatement(sql: live + " LIMIT ?"), arguments: arguments + [ids.count + 1])
            if held.count <= ids.count { return Set(held).intersection(ids) }
            var granted: Set<String> = []
            try Self.select(ids: ids.map(\.storable), live + " AND gi.item_id IN", in: db) { statement, some in
                granted.formUnion(try String.fetchAll(statement, arguments: arguments + some))
            }
            return granted
        }
    }

    public func hasLiveGrant(agency: String, item: String, at now: Date) async throws -> Bool {
        try readNow { db in
            try Bool.fetchOne(db.cachedStatement(sql: """
                SELECT EXISTS (SELECT 1 FROM grant_item gi JOIN access_grant g ON g.id = gi.grant_id
                WHERE gi.agency = ? AND gi.item_id = ? AND g.revoked_at IS NULL AND g.expires_at > ?)
                """), arguments: [agency, item, Self.millis(now)]) ?? false
        }
    }

    public func revokeGrant(id: String, by revoker: String, at now: Date, audit: AuditRecord, events: [FeedEvent]) async throws -> Bool {
        try await committer.submit { db, tail in
            try db.execute(sql: "UPDATE access_grant SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL",
                           arguments: [Self.millis(now), revoker, id])
            guard db.changesCount == 1 else { return false }
            try tail.append(audit, db)
            try Self.append(events, in: db)
            return true
        }
    }

    // MARK: rows

    static let requestColumns = "id, requester, agency, reason, unit, duration, created_at, expires_at, decision, decided_at, grant_id, item_ids, subjects"

    public func openRequestCount(at now: Date) async throws -> Int {
        try readNow { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM access_request WHERE decision = 'pending' AND expires_at > ?", arguments: [Self.millis(now)]) ?? 0
        }
    }

    public func liveGrantCount(at now: Date) async throws -> Int {
        try readNow { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM access_grant WHERE revoked_at IS NULL AND expires_at > ?", arguments: [Self.millis(now)]) ?? 0
        }
    }

    static func millis(_ date: Date) -> Int64 { date.millisecondsSince1970 }
    static func date(_ millis: Int64) -> Date { Date(millisecondsSince1970: millis) }

    static func fetchRequest(id: String, in db: Database) throws -> AccessRequest? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(requestColumns) FROM access_request WHERE id = ?"), arguments: [id]).map(request(from:))
    }

    static func request(from row: Row) throws -> AccessRequest {
        let id: String = row[0]
        let decisionText: String = row[8]
        guard let decision = AccessRequest.Status(rawValue: decisionText) else { throw StoreError.corrupt("request \(id) has decision \(decisionText)") }
        let items = try StoredText.itemIDs(row[11], of: "request \(id)")
        let decidedAt: Int64? = row[9]
        return AccessRequest(id: id, requester: row[1], agency: row[2], reason: row[3], itemIDs: items, unit: row[4], duration: Period(seconds: row[5]),
                             createdAt: date(row[6]), expiresAt: date(row[7]), decision: decision, decidedAt: decidedAt.map(date), grantID: row[10],
                             subjects: try StoredText.subjects(row[12], of: "request \(id)"))
    }

    static func fetchReviews(requestID: String, in db: Database) throws -> [Review] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT reviewer, agency, decision, comment, time FROM review WHERE request_id = ? ORDER BY time, reviewer"),
                         arguments: [requestID]).map { row in
            let text: String = row[2]
            guard let decision = Review.Decision(rawValue: text) else { throw StoreError.corrupt("review of \(requestID) has decision \(text)") }
            return Review(requestID: requestID, reviewer: row[0], agency: row[1], decision: decision, comment: row[3], time: date(row[4]))
        }
    }

    static func insert(_ grant: Grant, in db: Database) throws {
        try db.execute(sql: "INSERT INTO access_grant (id, request_id, agency, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                       arguments: [grant.id, grant.requestID, grant.agency, millis(grant.createdAt), millis(grant.expiresAt)])
        for item in grant.itemIDs {
            try db.cachedStatement(sql: "INSERT INTO grant_item (grant_id, item_id, agency) VALUES (?, ?, ?)").execute(arguments: [grant.id, item, grant.agency])
        }
    }

    static func fetchGrant(id: String, in db: Database) throws -> Grant? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT id, request_id, agency, created_at, expires_at, revoked_at, revoked_by FROM access_grant WHERE id = ?"),
                                         arguments: [id]) else { return nil }
        let items = try String.fetchAll(db.cachedStatement(sql: "SELECT item_id FROM grant_item WHERE grant_id = ? ORDER BY item_id"), arguments: [id])
        let revokedAt: Int64? = row[5]
        return Grant(id: row[0], requestID: row[1], agency: row[2], itemIDs: items, createdAt: date(row[3]), expiresAt: date(row[4]),
                     revokedAt: revokedAt.map(date), revokedBy: row[6])
    }
}
