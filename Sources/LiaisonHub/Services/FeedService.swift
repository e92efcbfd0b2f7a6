public import Foundation
public import LiaisonCore
import LiaisonStore

/// One page of a principal's feed; `cursor` is the last event's, or the one asked after when there is none.
public struct FeedPage: Sendable, Equatable {
    public let events: [StoredFeedEvent]
    public let cursor: Int64
}

/// Feeds: each principal's events, read with a cursor (at-least-once: a client that crashes before saving a
/// cursor sees the events after it again), long-polled without a thread per waiter.
public struct FeedService: Sendable {
    let store: any FeedStore
    /// Long-polling feed readers, woken when an event for them commits.
    let waiters: FeedWaiters
    let limits: HubLimits
    let clock: @Sendable () -> Date

    /// How many feed requests are waiting for an event now.
    public var waitingReaders: Int { waiters.waiterCount }

    /// Wakes the long-polls of `principals` (nil: of everyone): another hub committed events for them.
    public func wakeReaders(_ principals: [String]?) {
        if let principals { waiters.notify(principals) } else { waiters.notifyEveryone() }
    }

    /// Ends every long-poll now and those to come with what they have: the hub is shutting down.
    public func releaseReaders() { waiters.releaseAll() }

    /// Events after `after` (from the oldest kept when nil). With `wait` > 0 and nothing new, holds the request
    /// until an event arrives or `wait` seconds pass.
    public func feed(after: Int64?, limit: Int, wait: Int, in context: HubContext) async throws -> FeedPage {
        try await context.traced(.readFeed) {
            let reader = context.principal
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
            let version = waiters.version(of: reader.id)
            var events = try await store.events(for: reader.id, after: cursor, limit: limit)
            if events.isEmpty && wait > 0 {
                await waiters.wait(for: reader.id, after: version, timeout: .seconds(wait))
                events = try await store.events(for: reader.id, after: cursor, limit: limit)
            }
            // Only deliveries are traced: an empty poll discloses nothing, and long-polling clients would flood the trail.
            if let last = events.last {
                try await context.record(.readFeed, targets: events.compactMap { $0.event.item ?? $0.event.request ?? $0.event.grant },
                                 detail: ["after": String(cursor), "cursor": String(last.cursor), "count": String(events.count)])
            }
            return FeedPage(events: events, cursor: events.last?.cursor ?? cursor)
        }
    }

    /// Drops events older than the retention; returns how many went.
    public func prune() async throws -> Int {
        try await store.pruneEvents(before: clock().addingTimeInterval(-Double(limits.feedRetentionSeconds)))
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
