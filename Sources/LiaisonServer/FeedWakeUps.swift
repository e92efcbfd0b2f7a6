public import LiaisonHub
public import LiaisonStore
public import ServiceLifecycle

/// Wakes this hub's long-polls for events other hubs of the same database commit (PostgreSQL's LISTEN/NOTIFY),
/// so that a reader waiting here hears of a push made there within moments, not at the end of its wait.
public struct FeedWakeUps: Service {
    let hub: Hub
    let source: any FeedEventBroadcast

    public init(hub: Hub, source: any FeedEventBroadcast) {
        self.hub = hub
        self.source = source
    }

    public func run() async throws {
        let hub = self.hub
        await cancelWhenGracefulShutdown {
            await source.listenForFeedEvents { hub.feeds.wakeReaders($0, under: hub.policy) }
        }
    }
}
