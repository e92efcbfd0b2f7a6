public import LiaisonHub
public import Logging
public import ServiceLifecycle

/// Takes a shared ring's changes and finishes key rotations in the background: when the ring holds versions older than the current one,
/// rewraps every data key under the current version, then retires the old versions. Runs at start too,
/// so a rotation made offline (or cut short by a crash) completes once the hub serves again.
public struct KeyRewrapping: Service {
    let hub: Hub
    let interval: Duration
    let logger: Logger

    public init(hub: Hub, interval: Duration = .seconds(1), logger: Logger) {
        self.hub = hub
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // A shared ring changes on other hubs too: their rotations reach this one here, within `interval`
            // (an unreachable database is reported by the requests that need it).
            if hub.keys.isShared { try? await hub.keys.refresh() }
            // An in-memory check: nothing to do unless the ring holds an old version.
            if hub.keys.hasOldVersions {
                do {
                    while !Task.isShuttingDownGracefully, try await hub.keys.rewrapDataKeys() > 0 {}
                    if !Task.isShuttingDownGracefully { _ = try await hub.keys.retireUnusedKeyVersions() }
                } catch {
                    logger.error("could not rewrap data keys; will try again", metadata: ["error": "\(error)"])
                }
            }
            _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
