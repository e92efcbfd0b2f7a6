public import LiaisonHub
public import Logging
public import ServiceLifecycle

/// Keeps the feeds: gives grant holders their "expiring" and "expired" events as the time comes,
/// and drops events older than the retention; and removes chunks of streamed pushes that never completed.
public struct FeedUpkeep: Service {
    let hub: Hub
    let interval: Duration
    let logger: Logger

    public init(hub: Hub, interval: Duration = .seconds(60), logger: Logger) {
        self.hub = hub
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await hub.noteGrantDeadlines()
                let pruned = try await hub.feeds.prune()
                if pruned > 0 { logger.info("pruned old feed events", metadata: ["count": "\(pruned)"]) }
                // A streamed push takes at most hours; a day leaves every push still streaming alone.
                let swept = try await hub.sweepAbandonedChunks(olderThan: 86_400)
                if swept > 0 { logger.notice("removed chunks of streamed pushes that never completed", metadata: ["chunks": "\(swept)"]) }
            } catch {
                logger.error("feed upkeep failed; will try again", metadata: ["error": "\(error)"])
            }
            _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
