public import LiaisonHub
public import Logging
public import ServiceLifecycle
import UnixSignals

/// Reloads the policy folder on SIGHUP. An invalid policy is refused with every problem logged,
/// and the policy in force stays; both outcomes are audit entries.
public struct PolicyReloading: Service {
    let hub: Hub
    let directory: String
    let logger: Logger

    public init(hub: Hub, directory: String, logger: Logger) {
        self.hub = hub
        self.directory = directory
        self.logger = logger
    }

    public func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            do {
                let policy = try await hub.reloadPolicy(from: directory)
                logger.notice("policy reloaded", metadata: ["folder": "\(directory)", "principals": "\(policy.principalIDs.count)"])
            } catch {
                logger.error("policy reload refused; the previous policy stays in force", metadata: ["folder": "\(directory)", "problems": "\(error)"])
            }
        }
    }
}
