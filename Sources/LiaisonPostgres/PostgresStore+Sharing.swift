public import Foundation
public import LiaisonCore
public import LiaisonStore
import PostgresNIO

/// Access requests, reviews and grants.
extension PostgresStore {
    static let requestColumns = "id, requester, agency, reason, unit, duration, created_at, expires_at, decision, decided_at, grant_id, item_ids, subjects"

    public func insertRequest(_ request: AccessRequest, audit: AuditRecord, events: [FeedEvent]) async throws {
        try await committed { write in
            let connection = write.connection
            try await self.execute("""
                INSERT INTO access_request (id, requester, agency, reason, unit, duration, created_at, expires_at, decision, item_ids, subjects)
                VALUES (\(request.id), \(request.requester), \(request.agency), \(request.reason), \(request.unit), \(request.duration.seconds),
                        \(request.createdAt.millisecondsSince1970), \(request.expiresAt.millisecondsSince1970), \(request.decision.rawValue),
                        \(StoredText.encode(list: request.itemIDs)), \(StoredText.encode(subjects: request.subjects)))
                """, on: connection)
            write.record([audit])
            write.publish(events)
        }
    }

    public func request(id: String) async throws -> AccessRequest? {
        try await snapshot { connection in try await self.fetchRequest(id: id.storable, on: connection) }
    }

    public func requests(matching query: RequestQuery) async throws -> [AccessRequest] {
        var clauses: [String] = []
        var binds = PostgresBindings()
        if let agency = query.agency { binds.append(agency); clauses.append("agency = $\(binds.count)") }
        if let open = query.openAt { binds.append(open.millisecondsSince1970); clauses.append("decision = 'pending' AND expires_at > $\(binds.count)") }
        if let before = query.before { binds.append(before.storable); clauses.append("id < $\(binds.count)") }
        let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        let sql = "SELECT \(Self.requestColumns) FROM access_request \(whereClause) ORDER BY id DESC LIMIT \(max(1, query.limit))"
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        return try await snapshot { connection in
            var requests: [AccessRequest] = []
            for row in try await self.rows(query, on: connection) { requests.append(try self.request(from: row)) }
            return requests
        }
    }

    public func reviews(requestID: String) async throws -> [Review] {
        try await snapshot { connection in try await self.fetchReviews(requestID: requestID.storable, on: connection) }
    }

    public func openRequestCount(at now: Date) async throws -> Int {
        let rows = try await rows("SELECT count(*) FROM access_request WHERE decision = 'pending' AND expires_at > \(now.millisecondsSince1970)")
        return Int(try rows.first?[0].decode(Int64.self) ?? 0)
    }

    public func review(_ review: Review, resolve: @escaping @Sendable (AccessRequest, [Review]) throws -> ReviewResolution) async throws -> ReviewResolution {
        try await committed { write in
            let connection = write.connection
            // The request's row is locked: two approvers on two hubs reviewing at once are serialised here.
            _ = try await self.rows("SELECT id FROM access_request WHERE id = \(review.requestID) FOR UPDATE", on: connection)
            guard let request = try await self.fetchRequest(id: review.requestID, on: connection) else {
                throw StoreError.corrupt("request \(review.requestID) vanished")
            }
            let resolution = try resolve(request, try await self.fetchReviews(requestID: review.requestID, on: connection))
            try await self.execute("""
                INSERT INTO review (request_id, reviewer, agency, decision, comment, time)
                VALUES (\(review.requestID), \(review.reviewer), \(review.agency), \(review.decision.rawValue), \(review.comment), \(review.time.millisecondsSince1970))
                """, on: connection)
            if resolution.decision != .pending {
                try await self.execute("""
                    UPDATE access_request SET decision = \(resolution.decision.rawValue), decided_at = \(review.time.millisecondsSince1970),
                        grant_id = \(resolution.grant?.id) WHERE id = \(review.requestID)
                    """, on: connection)
            }
            if let grant = resolution.grant {
                try await self.execute("""
                    INSERT INTO access_grant (id, request_id, agency, created_at, expires_at)
                    VALUES (\(grant.id), \(grant.requestID), \(grant.agency), \(grant.createdAt.millisecondsSince1970), \(grant.expiresAt.millisecondsSince1970))
                    """, on: connection)
                // One statement, as for the request's items (a grant of a dossier's request covers thousands).
                try await self.execute("""
                    INSERT INTO grant_item (grant_id, item_id, agency)
                    SELECT \(grant.id), item, \(grant.agency) FROM unnest(\(grant.itemIDs)::text[]) AS t(item)
                    """, on: connection)
            }
            write.record(resolution.audit)
            write.publish(resolution.events)
            return resolution
        }
    }

    public func grant(id: String) async throws -> Grant? {
        try await snapshot { connection in try await self.fetchGrant(id: id.storable, on: connection) }
    }

    public func grants(matching query: GrantQuery) async throws -> [Grant] {
        var clauses: [String] = []
        var binds = PostgresBindings()
        if let agency = query.agency { binds.append(agency); clauses.append("agency = $\(binds.count)") }
        if let live = query.liveAt { binds.append(live.millisecondsSince1970); clauses.append("revoked_at IS NULL AND expires_at > $\(binds.count)") }
        let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        let query = PostgresQuery(unsafeSQL: "SELECT id FROM access_grant \(whereClause) ORDER BY id DESC LIMIT \(max(1, query.limit))", binds: binds)
        return try await snapshot { connection in
            var grants: [Grant] = []
            for row in try await self.rows(query, on: connection) {
                if let grant = try await self.fetchGrant(id: try row[0].decode(String.self), on: connection) { grants.append(grant) }
            }
            return grants
        }
    }

    public func grantedItems(agency: String, at now: Date) async throws -> Set<String> {
        Set(try await rows("""
            SELECT gi.item_id FROM grant_item gi JOIN access_grant g ON g.id = gi.grant_id
            WHERE gi.agency = \(agency) AND g.revoked_at IS NULL AND g.expires_at > \(now.millisecondsSince1970)
            """).map { try $0[0].decode(String.self) })
    }

    public func grantedItems(agency: String, among ids: [String], at now: Date) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        // Most agencies hold few granted items or none: all of them are read when they are no more than those asked about.
        let held = try await rows("""
            SELECT gi.item_id FROM grant_item gi JOIN access_grant g ON g.id = gi.grant_id
            WHERE gi.agency = \(agency) AND g.revoked_at IS NULL AND g.expires_at > \(now.millisecondsSince1970) LIMIT \(ids.count + 1)
            """).map { try $0[0].decode(String.self) }
        if held.count <= ids.count { return Set(held).intersection(ids) }
        return Set(try await rows("""
            SELECT gi.item_id FROM grant_item gi JOIN access_grant g ON g.id = gi.grant_id
            WHERE gi.agency = \(agency) AND gi.item_id = ANY(\(ids.map(\.storable))) AND g.revoked_at IS NULL AND g.expires_at > \(now.millisecondsSince1970)
            """).map { try $0[0].decode(String.self) })
    }

    public func hasLiveGrant(agency: String, item: String, at now: Date) async throws -> Bool {
        !(try await rows("""
            SELECT 1 FROM grant_item gi JOIN access_grant g ON g.id = gi.grant_id
            WHERE gi.agency = \(agency) AND gi.item_id = \(item) AND g.revoked_at IS NULL AND g.expires_at > \(now.millisecondsSince1970) LIMIT 1
            """)).isEmpty
    }

    public func liveGrantCount(at now: Date) async throws -> Int {
        let rows = try await rows("SELECT count(*) FROM access_grant WHERE revoked_at IS NULL AND expires_at > \(now.millisecondsSince1970)")
        return Int(try rows.first?[0].decode(Int64.self) ?? 0)
    }

    public func revokeGrant(id: String, by revoker: String, at now: Date, audit: AuditRecord, events: [FeedEvent]) async throws -> Bool {
        try await committed { write in
            let connection = write.connection
            let changed = try await self.rows("""
                UPDATE access_grant SET revoked_at = \(now.millisecondsSince1970), revoked_by = \(revoker) WHERE id = \(id) AND revoked_at IS NULL RETURNING 1
                """, on: connection)
            guard !changed.isEmpty else { return false }
            write.record([audit])
            write.publish(events)
            return true
        }
    }

    public func grantsDue(notice: GrantNotice, at now: Date) async throws -> [Grant] {
        let (threshold, level) = notice == .expiring ? (now.addingTimeInterval(86_400).millisecondsSince1970, 1) : (now.millisecondsSince1970, 2)
        return try await snapshot { connection in
            var grants: [Grant] = []
            for row in try await self.rows("""
                SELECT id FROM access_grant WHERE revoked_at IS NULL AND expires_at <= \(threshold) AND expiry_notice < \(level)
                """, on: connection) {
                if let grant = try await self.fetchGrant(id: try row[0].decode(String.self), on: connection) { grants.append(grant) }
            }
            return grants
        }
    }

    public func noteGrant(_ id: String, notice: GrantNotice, events: [FeedEvent]) async throws -> Bool {
        let level = notice == .expiring ? 1 : 2
        return try await committed { write in
            let connection = write.connection
            let changed = try await self.rows("UPDATE access_grant SET expiry_notice = \(level) WHERE id = \(id) AND expiry_notice < \(level) RETURNING 1",
                                              on: connection)
            guard !changed.isEmpty else { return false }
            write.publish(events)
            return true
        }
    }

    // MARK: rows

    func fetchRequest(id: String, on connection: PostgresConnection) async throws -> AccessRequest? {
        guard let row = try await rows("SELECT \(unescaped: Self.requestColumns) FROM access_request WHERE id = \(id)", on: connection).first else { return nil }
        return try request(from: row)
    }

    func request(from row: PostgresRandomAccessRow) throws -> AccessRequest {
        let id = try row[0].decode(String.self)
        let decisionText = try row[8].decode(String.self)
        guard let decision = AccessRequest.Status(rawValue: decisionText) else { throw StoreError.corrupt("request \(id) has decision \(decisionText)") }
        let items = try StoredText.itemIDs(try row[11].decode(String.self), of: "request \(id)")
        return AccessRequest(id: id, requester: try row[1].decode(String.self), agency: try row[2].decode(String.self), reason: try row[3].decode(String.self),
                             itemIDs: items, unit: try row[4].decode(String?.self), duration: Period(seconds: try row[5].decode(Int64.self)),
                             createdAt: Date(millisecondsSince1970: try row[6].decode(Int64.self)), expiresAt: Date(millisecondsSince1970: try row[7].decode(Int64.self)),
                             decision: decision, decidedAt: try row[9].decode(Int64?.self).map(Date.init(millisecondsSince1970:)), grantID: try row[10].decode(String?.self),
                             subjects: try StoredText.subjects(try row[12].decode(String.self), of: "request \(id)"))
    }

    func fetchReviews(requestID: String, on connection: PostgresConnection) async throws -> [Review] {
        try await rows("SELECT reviewer, agency, decision, comment, time FROM review WHERE request_id = \(requestID) ORDER BY time, reviewer", on: connection).map { row in
            let text = try row[2].decode(String.self)
            guard let decision = Review.Decision(rawValue: text) else { throw StoreError.corrupt("review of \(requestID) has decision \(text)") }
            return Review(requestID: requestID, reviewer: try row[0].decode(String.self), agency: try row[1].decode(String.self), decision: decision,
                          comment: try row[3].decode(String.self), time: Date(millisecondsSince1970: try row[4].decode(Int64.self)))
        }
    }

    func fetchGrant(id: String, on connection: PostgresConnection) async throws -> Grant? {
        guard let row = try await rows("""
            SELECT id, request_id, agency, created_at, expires_at, revoked_at, revoked_by FROM access_grant WHERE id = \(id)
            """, on: connection).first else { return nil }
        let items = try await rows("SELECT item_id FROM grant_item WHERE grant_id = \(id) ORDER BY item_id", on: connection).map { try $0[0].decode(String.self) }
        return Grant(id: try row[0].decode(String.self), requestID: try row[1].decode(String.self), agency: try row[2].decode(String.self), itemIDs: items,
                     createdAt: Date(millisecondsSince1970: try row[3].decode(Int64.self)), expiresAt: Date(millisecondsSince1970: try row[4].decode(Int64.self)),
                     revokedAt: try row[5].decode(Int64?.self).map(Date.init(millisecondsSince1970:)), revokedBy: try row[6].decode(String?.self))
    }
}
