import Foundation
public import LiaisonCore
import LiaisonStore

/// One page of a principal's feed; `cursor` is where the next page starts: the last event's, or past stored events
/// that were none of this principal's.
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

    /// Wakes the long-polls of those the wake lines name (`FeedEvent.wakeLine`; nil: of everyone): another hub
    /// committed events for them.
    public func wakeReaders(_ lines: [String]?, under policy: Policy) {
        guard let lines else { return waiters.notifyEveryone() }
        for line in lines { waiters.notify(FeedEvent.audience(wokenBy: line, under: policy)) }
    }

    /// The answer to a feed read whose client went away before it was read: nothing, at the cursor it asked from (or
    /// the oldest kept), as a long-poll with nothing new answers; for a client that closed its side but still reads.
    public func nothingNew(after: Int64?) async throws -> FeedPage {
        if let after { return FeedPage(events: [], cursor: after) }
        return FeedPage(events: [], cursor: try await store.feedBounds().horizon)
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
            let (horizon, latest) = try await store.feedBounds()
            let cursor = after ?? horizon
            if let after {
                guard after >= 0 else { throw HubError.invalidField("after", "the cursor must not be negative", hint: "Start with no cursor, or with one this hub returned") }
                guard after >= horizon else { throw HubError.cursorExpired(after, horizon: horizon, retention: limits.feedRetentionSeconds) }
                guard after <= latest else {
                    throw HubError.invalidField("after", "cursor \(after) is ahead of this hub's feed", hint: "Use a cursor this hub returned; a cursor of another hub means nothing here")
                }
            }
            let (events, through) = try await waiters.watching(reader.id) { version in
                var (events, through) = try await caughtUp(reader, after: cursor, limit: limit, policy: context.policy)
                if events.isEmpty && wait > 0 {
                    await waiters.wait(for: reader.id, after: version, timeout: .seconds(wait))
                    // Cancelled: the client went away (or the request was given up); nobody would read the page.
                    if Task.isCancelled { return (events, through) }
                    (events, through) = try await caughtUp(reader, after: through, limit: limit, policy: context.policy)
                }
                return (events, through)
            }
            // Only deliveries are traced: an empty poll discloses nothing, and long-polling clients would flood the trail.
            if let last = events.last {
                try await context.record(.readFeed, targets: events.compactMap { $0.event.item ?? $0.event.request ?? $0.event.grant },
                                 detail: ["after": String(cursor), "cursor": String(last.cursor), "count": String(events.count)])
            }
            return FeedPage(events: events, cursor: through)
        }
    }

    /// The reader's next events after `cursor`, skipping a scan at a time past stored events that are none of its
    /// own (a bounded number of scans, so one request stays short); with the cursor to go on from.
    func caughtUp(_ reader: Principal, after cursor: Int64, limit: Int, policy: Policy) async throws -> ([StoredFeedEvent], Int64) {
        var from = cursor
        for _ in 0..<Self.scansPerRequest {
            let (events, through) = try await page(reader, after: from, limit: limit, policy: policy)
            if !events.isEmpty || through == from { return (events, through) }
            from = through
        }
        return ([], from)
    }

    /// One page: the reader's own events, and the events stored for every reader whose item it may read, in
    /// cursor order; with the cursor up to which every stored event was looked at. The feed's end is read first:
    /// cursors are given out in commit order, so every event up to it has committed and both reads after it see
    /// them all, while an event committed between the reads is past it and left for the next page.
    func page(_ reader: Principal, after cursor: Int64, limit: Int, policy: Policy) async throws -> ([StoredFeedEvent], Int64) {
        let slice = try await store.feedSlice(for: reader.id, after: cursor, limit: limit, sharedLimit: Self.sharedScan)
        var complete = slice.latest
        guard complete > cursor else { return ([], cursor) }
        let (own, shared) = (slice.own, slice.shared)
        // Past the end of a full batch of either, the other may hold events not read yet: stop there too.
        if own.count == limit, let last = own.last { complete = min(complete, last.cursor) }
        if shared.count == Self.sharedScan, let last = shared.last { complete = min(complete, last.cursor) }
        let delivered = shared.compactMap { stored -> StoredFeedEvent? in
            guard stored.cursor <= complete, let event = stored.event.delivered(to: reader, under: policy) else { return nil }
            return StoredFeedEvent(cursor: stored.cursor, event: event)
        }
        let events = Array((own.filter { $0.cursor <= complete } + delivered).sorted { $0.cursor < $1.cursor }.prefix(limit))
        if events.count == limit, let last = events.last { return (events, last.cursor) }
        return (events, complete)
    }

    /// How many events stored for every reader one page looks at, and how many such pages one request may skip.
    static let sharedScan = 1_000
    static let scansPerRequest = 20

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
