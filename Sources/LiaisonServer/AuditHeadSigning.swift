public import LiaisonHub
public import Logging
public import ServiceLifecycle

/// Signs the audit chain's head every `everyEntries` entries or `interval`, whichever comes first,
/// and once more at shutdown. List it before the HTTP application in the service group, so that
/// it stops after the application and its last signature covers the last request.
public struct AuditHeadSigning: Service {
    let hub: Hub
    let everyEntries: Int64
    let interval: Duration
    let logger: Logger

    public init(hub: Hub, everyEntries: Int64, interval: Duration, logger: Logger) {
        self.hub = hub
        self.everyEntries = everyEntries
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        let clock = ContinuousClock()
        var lastSigning = clock.now
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // Checking costs two point reads, so once a second is cheap enough.
            _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            guard !Task.isShuttingDownGracefully, !Task.isCancelled else { break }
            do {
                let pending = try await hub.audit.unsignedEntries()
                if pending >= everyEntries || (pending > 0 && clock.now - lastSigning >= interval) {
                    try await hub.audit.signHead()
                    lastSigning = clock.now
                }
            } catch {
                logger.error("could not sign the audit head", metadata: ["error": "\(error)"])
            }
        }
        do {
            // In a task of its own: a shutdown that ran out of time cancels the service group, and this signature is
            // still wanted (a database that does not answer is given up on by the store's own deadline).
            let hub = hub
            if let head = try await Task(operation: { try await hub.audit.signHead() }).value {
                logger.notice("signed the audit head at shutdown", metadata: ["seq": "\(head.seq)"])
            }
        } catch {
            logger.error("could not sign the audit head at shutdown", metadata: ["error": "\(error)"])
        }
    }
}
