import Foundation
import Logging
import Synchronization

/// Says once, not once per refused request, that the hub cannot store because its disk is full; while
/// the spell lasts it repeats at most once a minute with how many requests it refused meanwhile.
final class StorageAlarm: Sendable {
    private struct State {
        var lastLine: ContinuousClock.Instant?
        var refusedSinceLine = 0
    }
    private let state = Mutex(State())
    private let logger: Logger
    /// The folder whose filesystem holds the database (for the free space in the line), if known.
    private let dataDirectory: String?
    private let interval: Duration = .seconds(60)

    init(logger: Logger, dataDirectory: String?) {
        self.logger = logger
        self.dataDirectory = dataDirectory
    }

    func noteRefusal() {
        let now = ContinuousClock.now
        let refused: Int? = state.withLock { state in
            state.refusedSinceLine += 1
            if let last = state.lastLine, now - last < interval { return nil }
            state.lastLine = now
            defer { state.refusedSinceLine = 0 }
            return state.refusedSinceLine
        }
        guard let refused else { return }
        var metadata: Logger.Metadata = ["refused": "\(refused)"]
        if let dataDirectory {
            metadata["data"] = "\(dataDirectory)"
            if let free = StorageSpace.freeBytes(at: dataDirectory) { metadata["free_bytes"] = "\(free)" }
        }
        logger.critical("the disk under the hub's data folder is full: writes get 503 storage_full until space is freed; reads go on", metadata: metadata)
    }
}
