import Dispatch
import GRDB
import Synchronization

/// Copies the write-ahead log into the database file on a connection of its own, beside the group commits.
///
/// Left to itself, SQLite checkpoints on the committing connection once the log passes 1,000 pages: that
/// commit then also writes those pages into the database file and flushes it, and every write of its batch,
/// and every write queued behind it, waits (10-25 ms on this kind of machine: the p99 of a push). Copied here
/// at most once per `interval`, the commit that passes the mark finds the log copied but for its last pages,
/// and the log restarts from its beginning as before. A passive checkpoint never waits for the writer or the
/// readers; what it cannot copy yet, the next one does.
final class WALCheckpointer: Sendable {
    private let connection: DatabaseQueue
    private let queue = DispatchQueue(label: "liaison.checkpoint")
    /// Whether a checkpoint is waiting to run, and when the last one started.
    private let state = Mutex<(scheduled: Bool, last: ContinuousClock.Instant?)>((false, nil))
    private static let interval = Duration.milliseconds(20)

    init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        connection = try DatabaseQueue(path: path, configuration: configuration)
        // The checkpoint flushes the database file before the log may restart over what it copied: FULL, as the writer.
        try connection.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
    }

    /// After a commit: a checkpoint runs one interval after the last one started (at once if that is past),
    /// so the pages of the last commit of a burst are copied too.
    func committed() {
        let now = ContinuousClock.now
        let delay: Duration? = state.withLock { state in
            guard !state.scheduled else { return nil }
            state.scheduled = true
            guard let last = state.last else { return .zero }
            return max(.zero, Self.interval - (now - last))
        }
        guard let delay else { return }
        queue.asyncAfter(deadline: .now() + delay / .seconds(1)) { self.run() }
    }

    private func run() {
        state.withLock { $0 = (false, ContinuousClock.now) }
        // A checkpoint that fails (a full disk) is left to the next one, and to the writer's own at the mark, as before.
        try? connection.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
    }
}
