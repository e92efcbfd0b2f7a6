public import Foundation
public import LiaisonCore
public import LiaisonStore
import PostgresNIO

/// Feeds, leads and dossiers.
extension PostgresStore: FeedEventBroadcast {
    /// Listens on a connection of its own; after each (re)connection every reader is woken once, since notices
    /// sent while nobody listened are lost.
    public func listenForFeedEvents(_ wake: @escaping @Sendable (_ principals: [String]?) -> Void) async {
        let (channel, logger) = (feedChannel, self.logger)
        while !Task.isCancelled {
            do {
                // The store's lease, bounded: a listener waiting for ever would keep the hub from stopping.
                try await withConnection { connection in
                    try await connection.listen(on: channel) { notices in
                        wake(nil)
                        for try await notice in notices {
                            wake(notice.payload.isEmpty ? nil : notice.payload.split(separator: "\n").map(String.init))
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("feed notices interrupted; listening again", metadata: ["error": "\(String(describing: StoreError.from(postgres: error)))"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    static func eventsQuery(for principal: String, after cursor: Int64, limit: Int) -> PostgresQuery {
        "SELECT seq, time, type, item, request, grant_id, detail FROM feed_event WHERE principal = \(principal) AND seq > \(cursor) ORDER BY seq LIMIT \(limit)"
    }

    static func event(from row: PostgresRandomAccessRow, of principal: String) throws -> StoredFeedEvent {
        let seq = try row[0].decode(Int64.self)
        let typeText = try row[2].decode(String.self)
        guard let kind = FeedEvent.Kind(rawValue: typeText) else { throw StoreError.corrupt("feed event \(seq) has type \(typeText)") }
        return StoredFeedEvent(cursor: seq, event: FeedEvent(principal: principal, kind: kind, time: Date(millisecondsSince1970: try row[1].decode(Int64.self)),
                                                              item: try row[3].decode(String?.self), request: try row[4].decode(String?.self),
                                                              grant: try row[5].decode(String?.self), detail: StoredText.detail(try row[6].decode(String.self))))
    }

    public func feedBounds() async throws -> (horizon: Int64, latest: Int64) {
        guard let row = try await rows("SELECT horizon, seq FROM feed_tail WHERE id = 1").first else { return (0, 0) }
        return (try row[0].decode(Int64.self), try row[1].decode(Int64.self))
    }

    public func feedSlice(for principal: String, after cursor: Int64, limit: Int, sharedLimit: Int) async throws -> FeedSlice {
        do {
            return try await withConnection { connection in
                // Sent back to back and run in this order: every event up to the cursor read first has committed (the
                // cursor moves under its row's lock, with the events, in their transaction).
                let latest = self.send("SELECT seq FROM feed_tail WHERE id = 1", on: connection)
                let own = self.send(Self.eventsQuery(for: principal, after: cursor, limit: limit), on: connection)
                let shared = self.send(Self.eventsQuery(for: FeedEvent.everyReader, after: cursor, limit: sharedLimit), on: connection)
                let events = { (result: PostgresQueryResult, principal: String) in
                    try result.rows.map { try Self.event(from: $0.makeRandomAccess(), of: principal) }
                }
                return FeedSlice(latest: try await latest.get().rows.first?.decode(Int64.self) ?? 0,
                                 own: try events(try await own.get(), principal), shared: try events(try await shared.get(), FeedEvent.everyReader))
            }
        } catch {
            throw StoreError.from(postgres: error)
        }
    }

    public func pruneEvents(before time: Date) async throws -> Int {
        var removed = 0
        while true {
            // One window per transaction (`FeedPruning`).
            let pruned = try await transaction { connection in
                guard let last = try await self.rows("""
                    SELECT max(seq) FROM (SELECT seq, time FROM feed_event ORDER BY seq LIMIT \(FeedPruning.window)) AS oldest
                    WHERE time < \(time.millisecondsSince1970)
                    """, on: connection).first?[0].decode(Int64?.self) else { return 0 }
                // Everything up to the newest old event goes, so that the horizon is one number for every principal.
                let deleted = try await self.rows("WITH gone AS (DELETE FROM feed_event WHERE seq <= \(last) RETURNING 1) SELECT count(*) FROM gone",
                                                  on: connection).first?[0].decode(Int64.self) ?? 0
                try await self.execute("UPDATE feed_tail SET horizon = greatest(horizon, \(last)) WHERE id = 1", on: connection)
                return Int(deleted)
            }
            removed += pruned
            if pruned < FeedPruning.window { return removed }
        }
    }

    // MARK: leads

    public func lead(itemID: String) async throws -> Lead? {
        try await rows("SELECT \(unescaped: PostgresRows.leadColumns) FROM lead WHERE item_id = \(itemID.storable)").first.map(PostgresRows.lead(from:))
    }

    public func leadsHeld(by agency: String) async throws -> Set<String> {
        Set(try await rows("SELECT item_id FROM lead WHERE holder = \(agency)").map { try $0[0].decode(String.self) })
    }

    public func leads(concerning agency: String) async throws -> [(Item, Lead?)] {
        let pairs: [Pair] = try await snapshot { connection in
            let ids = try await self.rows("""
                SELECT id FROM item WHERE kind = 'lead' AND owner = \(agency) UNION SELECT item_id FROM lead WHERE holder = \(agency) ORDER BY 1 DESC LIMIT 1000
                """, on: connection).map { try $0[0].decode(String.self) }
            var pairs: [Pair] = []
            for id in ids {
                guard let item = try await self.fetchItem(id: id, on: connection) else { continue }
                let lead = try await self.rows("SELECT \(unescaped: PostgresRows.leadColumns) FROM lead WHERE item_id = \(id)", on: connection).first.map(PostgresRows.lead(from:))
                pairs.append(Pair(item: item, lead: lead))
            }
            return pairs
        }
        return pairs.map { ($0.item, $0.lead) }
    }

    struct Pair: Sendable {
        let item: Item
        let lead: Lead?
    }

    public func moveLead(_ lead: Lead, from previous: Lead, audit: AuditRecord, events: [FeedEvent]) async throws -> Bool {
        try await committed { write in
            let connection = write.connection
            // Only from the state the caller saw: two moves at once, on one hub or two, cannot both apply.
            try await self.lock("lead:" + lead.itemID, on: connection)
            let current = try await self.rows("SELECT \(unescaped: PostgresRows.leadColumns) FROM lead WHERE item_id = \(lead.itemID)", on: connection)
                .first.map(PostgresRows.lead(from:))
            guard (current?.status ?? .open) == previous.status, (current?.holder ?? previous.owner) == previous.holder else { return false }
            try await self.execute("""
                INSERT INTO lead (item_id, owner, holder, status, disposition, updated_at, updated_by)
                VALUES (\(lead.itemID), \(lead.owner), \(lead.holder), \(lead.status.rawValue), \(lead.disposition), \(lead.updatedAt.millisecondsSince1970), \(lead.updatedBy))
                ON CONFLICT (item_id) DO UPDATE SET holder = excluded.holder, status = excluded.status, disposition = excluded.disposition,
                    updated_at = excluded.updated_at, updated_by = excluded.updated_by
                """, on: connection)
            write.record([audit])
            write.publish(events)
            return true
        }
    }

    // MARK: dossiers

    public func insertDossier(_ dossier: Dossier, audit: AuditRecord) async throws {
        try await committed { write in
            let connection = write.connection
            try await self.execute("""
                INSERT INTO dossier (id, unit, agency, requester, reason, request_id, created_at, item_ids)
                VALUES (\(dossier.id), \(dossier.unit), \(dossier.agency), \(dossier.requester), \(dossier.reason), \(dossier.requestID),
                        \(dossier.createdAt.millisecondsSince1970), \(StoredText.encode(list: dossier.itemIDs)))
                """, on: connection)
            write.record([audit])
        }
    }

    public func dossier(id: String) async throws -> Dossier? {
        try await snapshot { connection in
            guard let row = try await self.rows("SELECT id, unit, agency, requester, reason, request_id, created_at, item_ids FROM dossier WHERE id = \(id.storable)",
                                                on: connection).first
            else { return nil }
            let items = try StoredText.itemIDs(try row[7].decode(String.self), of: "dossier \(id)")
            return Dossier(id: try row[0].decode(String.self), unit: try row[1].decode(String.self), agency: try row[2].decode(String.self),
                           requester: try row[3].decode(String.self), reason: try row[4].decode(String.self), requestID: try row[5].decode(String?.self),
                           itemIDs: items, createdAt: Date(millisecondsSince1970: try row[6].decode(Int64.self)))
        }
    }
}
