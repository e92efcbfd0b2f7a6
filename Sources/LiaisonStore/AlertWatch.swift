public import Foundation
public import LiaisonCore
import Synchronization

/// What the items an alert rule counts together have in common: a blind-index mark (a person or tag), or a unit.
public enum AlertKey: Hashable, Sendable, Comparable {
    case mark(String)
    case unit(String)
}

/// An alert raised inside a push's transaction, with its trail entry and feed events, which commit with the push.
public struct RaisedAlert: Sendable, Equatable {
    public let alert: RiskAlert
    public let audit: AuditRecord
    public let events: [FeedEvent]

    public init(alert: RiskAlert, audit: AuditRecord, events: [FeedEvent]) {
        self.alert = alert
        self.audit = audit
        self.events = events
    }
}

/// What a push asks its store to look at for risk alerts. Inside the push's transaction, once the item is stored,
/// the store reads the items of each key pushed since its date (the new one among them) and calls `raise` with
/// them; the alerts it returns are stored with the push. Writes that watch one key run one after another (SQLite
/// has one writer; PostgreSQL takes a lock per key), so each sees the others' items and an occurrence that two
/// concurrent pushes start is raised exactly once.
public final class AlertWatch: Sendable {
    public let keys: [AlertKey: Date]
    private let decide: @Sendable ([AlertKey: [WatchedItem]]) -> [RaisedAlert]
    /// What the run of the transaction that committed raised (a batch that runs again replaces it).
    private let last = Mutex<[RaisedAlert]>([])

    public init(keys: [AlertKey: Date], raise: @escaping @Sendable ([AlertKey: [WatchedItem]]) -> [RaisedAlert]) {
        self.keys = keys
        self.decide = raise
    }

    /// Called by the store inside the transaction.
    public func raise(_ found: [AlertKey: [WatchedItem]]) -> [RaisedAlert] {
        let raised = decide(found)
        last.withLock { $0 = raised }
        return raised
    }

    /// The alerts the committed push raised; read once the insert has returned.
    public var raised: [RaisedAlert] { last.withLock { $0 } }
}
