public import Foundation
import GRDB
public import LiaisonCore

/// Feeds: events per principal, appended in the transaction of the action that caused them.
extension SQLiteStore {
    static func append(_ events: [FeedEvent], in db: Database) throws {
        for event in events {
            try db.cachedStatement(sql: "INSERT INTO feed_event (principal, time, type, item, request, grant_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)")
                .execute(arguments: [event.principal, millis(event.time), event.kind.rawValue, event.item, event.request, event.grant, StoredText.encode(detail: event.detail)])
        }
    }

    static func events(for principal: String, after cursor: Int64, limit: Int, in db: Database) throws -> [StoredFeedEvent] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT seq, time, type, item, request, grant_id, detail FROM feed_event WHERE principal = ? AND seq > ? ORDER BY seq LIMIT ?
            """), arguments: [principal, cursor, limit]).map { row in
            let typeText: String = row[2]
            guard let kind = FeedEvent.Kind(rawValue: typeText) else { throw StoreError.corrupt("feed event \(row[0] as Int64) has type \(typeText)") }
            let detailText: String = row[6]
            let detail = StoredText.detail(detailText)
            return StoredFeedEvent(cursor: row[0], event: FeedEvent(principal: principal, kind: kind, time: Self.date(row[1]), item: row[3], request: row[4],
                                                                     grant: row[5], detail: detail))
        }
    }

    static func latestFeedCursor(in db: Database) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT seq FROM sqlite_sequence WHERE name = 'feed_event'")) ?? 0
    }

    public func feedBounds() async throws -> (horizon: Int64, latest: Int64) {
        // The horizon first: both only grow, so it is never past the end read after it.
        try readNow { db in
            (try Int64.fetchOne(db.cachedStatement(sql: "SELECT seq FROM feed_horizon WHERE id = 1")) ?? 0, try Self.latestFeedCursor(in: db))
        }
    }

    public func feedSlice(for principal: String, after cursor: Int64, limit: Int, sharedLimit: Int) async throws -> FeedSlice {
        // One read transaction: the events read are exactly those up to the cursor read with them.
        try readSnapshot { db in
            let latest = try Self.latestFeedCursor(in: db)
            guard latest > cursor else { return FeedSlice(latest: latest, own: [], shared: []) }
            return FeedSlice(latest: latest, own: try Self.events(for: principal, after: cursor, limit: limit, in: db),
                             shared: try Self.events(for: FeedEvent.everyReader, after: cursor, limit: sharedLimit, in: db))
        }
    }

    public func pruneEvents(before time: Date) async throws -> Int {
        let cutoff = Self.millis(time)
        var removed = 0
        while true {
            // One window per write (`FeedPruning`), so pushes wait for one window at most.
            let pruned = try await writer.write { db -> Int in
                guard let last = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM (SELECT seq, time FROM feed_event ORDER BY seq LIMIT ?) WHERE time < ?",
                                                    arguments: [FeedPruning.window, cutoff]) else { return 0 }
                // Everything up to the newest old event goes, so that the horizon is one number for every principal.
                try db.execute(sql: "DELETE FROM feed_event WHERE seq <= ?", arguments: [last])
                let deleted = db.changesCount
                try db.execute(sql: "UPDATE feed_horizon SET seq = max(seq, ?) WHERE id = 1", arguments: [last])
                return deleted
            }
            removed += pruned
            if pruned < FeedPruning.window { return removed }
        }
    }

    public func grantsDue(notice: GrantNotice, at now: Date) async throws -> [Grant] {
        let (threshold, level) = notice == .expiring ? (Self.millis(now.addingTimeInterval(86_400)), 1) : (Self.millis(now), 2)
        return try readSnapshot { db in
            try String.fetchAll(db, sql: "SELECT id FROM access_grant WHERE revoked_at IS NULL AND expires_at <= ? AND expiry_notice < ?",
                                arguments: [threshold, level]).compactMap { try Self.fetchGrant(id: $0, in: db) }
        }
    }

    public func noteGrant(_ id: String, notice: GrantNotice, events: [FeedEvent]) async throws -> Bool {
        let level = notice == .expiring ? 1 : 2
        return try await committer.submit { db, _ in
            try db.execute(sql: "UPDATE access_grant SET expiry_notice = ? WHERE id = ? AND expiry_notice < ?", arguments: [level, id, level])
            guard db.changesCount == 1 else { return false }
            try Self.append(events, in: db)
            return true
        }
    }
}
