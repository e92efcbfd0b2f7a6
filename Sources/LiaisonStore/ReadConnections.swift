import GRDB
import Synchronization

/// Read-only connections of the store's own for its synchronous reads, taken from a free list under a lock.
///
/// A read through GRDB's pool takes a reader through a barrier queue and a semaphore, enters the reader's own
/// queue, and asks `PRAGMA schema_version` (an extra SQLite read) before running the statement: measured with perf,
/// that was about three quarters of each point read, and two such reads were a sixth of a payload read's CPU. The
/// hub's schema is migrated before it serves and does not change while it runs, and its statements are plain SQL,
/// so GRDB's schema cache has nothing to refresh here. A read takes a free connection, or opens one while fewer than
/// `limit` are open; when all are busy it goes through GRDB's pool (`fallback`) rather than wait.
final class ReadConnections: Sendable {
    private let path: String
    private let fallback: DatabasePool
    private let limit: Int
    private let state = Mutex<(free: [DatabaseQueue], opened: Int)>(([], 0))

    init(pool: DatabasePool, limit: Int = 8) {
        self.path = pool.path
        self.fallback = pool
        self.limit = limit
    }

    /// How many connections are open (for tests: never more than `limit`).
    var opened: Int { state.withLock { $0.opened } }

    /// `body` on one connection, each statement in a snapshot of its own (no transaction around them).
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        guard let connection = try take() else { return try fallback.unsafeRead(body) }
        defer { give(connection) }
        return try connection.inDatabase(body)
    }

    /// `body` on one connection, all of it in one snapshot (a deferred read transaction).
    func snapshot<T>(_ body: (Database) throws -> T) throws -> T {
        guard let connection = try take() else { return try fallback.read(body) }
        defer { give(connection) }
        return try connection.inDatabase { db in
            var result: T?
            try db.inTransaction(.deferred) {
                result = try body(db)
                return .commit
            }
            return result!
        }
    }

    /// A free connection, a newly opened one, or nil when `limit` are open and all are in use.
    private func take() throws -> DatabaseQueue? {
        enum Turn { case free(DatabaseQueue), open, busy }
        let turn: Turn = state.withLock { state in
            if let connection = state.free.popLast() { return .free(connection) }
            guard state.opened < limit else { return .busy }
            state.opened += 1
            return .open
        }
        switch turn {
        case .free(let connection): return connection
        case .busy: return nil
        case .open:
            // Opened outside the lock, so that reads finding a free connection do not wait for it.
            do {
                return try open()
            } catch {
                state.withLock { $0.opened -= 1 }
                throw error
            }
        }
    }

    private func give(_ connection: DatabaseQueue) {
        state.withLock { $0.free.append(connection) }
    }

    private func open() throws -> DatabaseQueue { try Self.readOnly(path) }

    /// A read-only connection to the database at `path`, which waits up to 10 s for a lock as the writer does
    /// (the store's reads, and backups and summaries of a live hub's file).
    static func readOnly(_ path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        return try DatabaseQueue(path: path, configuration: configuration)
    }
}
