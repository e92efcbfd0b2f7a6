import Foundation
public import LiaisonCore
import LiaisonStore

/// One page of a principal's feed; `cursor` is the last event's, or the one asked after when there is none.
public struct FeedPage: Sendable, Equatable {
    public let events: [StoredFeedEvent]
    public let cursor: Int64
}

/// Feeds (DESIGN.md §7): each principal's events, read with a cursor, long-polled without a thread per waiter.
extension Hub {
    /// How many feed requests are waiting for an event now.
    public var waitingFeedReaders: Int { feedWaiters.waiterCount }

    /// Ends every long-poll now and those to come with what they have: the hub is shutting down.
    public func releaseFeedReaders() { feedWaiters.releaseAll() }

    /// Events after `after` (from the oldest kept when nil). With `wait` > 0 and nothing new, holds the request
    /// until an event arrives or `wait` seconds pass.
    public func feed(after: Int64?, limit: Int, wait: Int, by reader: Principal) async throws -> FeedPage {
        try await traced(reader.id, "readFeed") {
            guard (1...1000).contains(limit) else { throw HubError.invalidField("limit", "limit must be between 1 and 1000", hint: "Page through with the returned cursor") }
            guard (0...limits.feedWaitSeconds).contains(wait) else {
                throw HubError.invalidField("wait", "wait must be between 0 and \(limits.feedWaitSeconds) seconds", hint: "Poll again with the same cursor after an empty answer")
            }
            let horizon = try await store.feedHorizon()
            let cursor = after ?? horizon
            if let after {
                guard after >= 0 else { throw HubError.invalidField("after", "the cursor must not be negative", hint: "Start with no cursor, or with one this hub returned") }
                guard after >= horizon else { throw HubError.cursorExpired(after, horizon: horizon, retention: limits.feedRetentionSeconds) }
                guard after <= (try await store.latestFeedCursor()) else {
                    throw HubError.invalidField("after", "cursor \(after) is ahead of this hub's feed", hint: "Use a cursor this hub returned; a cursor of another hub means nothing here")
                }
            }
            let version = feedWaiters.version(of: reader.id)
            var events = try await store.events(for: reader.id, after: cursor, limit: limit)
            if events.isEmpty && wait > 0 {
                await feedWaiters.wait(for: reader.id, after: version, timeout: .seconds(wait))
                events = try await store.events(for: reader.id, after: cursor, limit: limit)
            }
            // Only deliveries are traced: an empty poll discloses nothing, and long-polling clients would flood the trail.
            if let last = events.last {
                try await record(reader.id, "readFeed", targets: events.compactMap { $0.event.item ?? $0.event.request ?? $0.event.grant },
                                 detail: ["after": String(cursor), "cursor": String(last.cursor), "count": String(events.count)])
            }
            return FeedPage(events: events, cursor: events.last?.cursor ?? cursor)
        }
    }

    /// Gives each live grant's holders their "expires within 24 h" and "expired" events, once each.
    public func noteGrantDeadlines() async throws {
        let now = clock()
        for notice in [GrantNotice.expiring, .expired] {
            for grant in try await store.grantsDue(notice: notice, at: now) {
                let kind: FeedEvent.Kind = notice == .expiring ? .grantExpiring : .grantExpired
                let events = principals(of: grant.agency).map {
                    FeedEvent(principal: $0, kind: kind, time: now, request: grant.requestID, grant: grant.id,
                              detail: ["expires_at": ISO8601DateFormatter().string(from: grant.expiresAt), "items": String(grant.itemIDs.count)])
                }
                if try await store.noteGrant(grant.id, notice: notice, events: events) { feedWaiters.notify(events.map(\.principal)) }
            }
        }
    }

    /// Drops events older than the retention; returns how many went.
    public func pruneFeed() async throws -> Int {
        try await store.pruneEvents(before: clock().addingTimeInterval(-Double(limits.feedRetentionSeconds)))
    }

    /// Every declared principal acting for `agency`: the agency itself and its people.
    func principals(of agency: String) -> [String] {
        let policy = self.policy
        return policy.principalIDs.filter { policy.principal($0)?.agency.id == agency }
    }

    /// "Item readable" events for everyone but the pusher whom the policy lets read a new item.
    func pushEvents(_ item: Item, by pusher: Principal) -> [FeedEvent] {
        let policy = self.policy
        return policy.principalIDs.compactMap { id in
            guard id != pusher.id, let reader = policy.principal(id), policy.access(of: reader, to: item.subject, at: item.createdAt) == .read else { return nil }
            return FeedEvent(principal: id, kind: .itemReadable, time: item.createdAt, item: item.id, detail: Self.stub(item, via: "push"))
        }
    }

    /// What an event may say about an item: the fields of a withheld stub.
    static func stub(_ item: Item, via: String) -> [String: String] {
        ["kind": item.kind, "classification": item.classification.rawValue, "owner": item.owner, "unit": item.unit, "via": via]
    }
}

extension HubError {
    static func cursorExpired(_ cursor: Int64, horizon: Int64, retention: Int64) -> HubError {
        HubError(.gone, code: "cursor_expired",
                 message: "cursor \(cursor) is older than this hub's feed: events up to \(horizon) were removed after \(Period(seconds: retention))",
                 hint: "Resynchronise: list what you can read (`liaison list`, `liaison requests`, `liaison grants`), then follow the feed again without a cursor (`liaison watch --reset`)",
                 field: "after")
    }
}
