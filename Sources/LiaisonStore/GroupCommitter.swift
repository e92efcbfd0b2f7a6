import GRDB
import Synchronization

/// Batches concurrent writes into one transaction, so that one fsync acknowledges many pushes.
///
/// The first writer to find the committer idle schedules a drain on GRDB's writer queue; while a
/// batch commits, new writes queue up and go into the next batch. One failing write does not undo
/// the others (see `commit`); every caller is resumed only after the transaction holding its
/// write has committed.
final class GroupCommitter: Sendable {
    typealias Write = @Sendable (Database) throws -> InsertOutcome
    private struct Pending {
        let write: Write
        let continuation: CheckedContinuation<InsertOutcome, any Error>
    }
    private struct State {
        var queue: [Pending] = []
        var draining = false
    }

    private let pool: DatabasePool
    private let state = Mutex(State())
    /// Caps a batch so a burst cannot make one transaction, and everyone's latency, unbounded.
    private let maximumBatch = 512

    init(pool: DatabasePool) { self.pool = pool }

    func submit(_ write: @escaping Write) async throws -> InsertOutcome {
        try await withCheckedThrowingContinuation { continuation in
            let startDrain = state.withLock { state -> Bool in
                state.queue.append(Pending(write: write, continuation: continuation))
                guard !state.draining else { return false }
                state.draining = true
                return true
            }
            if startDrain { pool.asyncWriteWithoutTransaction { db in self.drain(db) } }
        }
    }

    private func drain(_ db: Database) {
        while true {
            let batch = state.withLock { state -> [Pending] in
                let count = min(state.queue.count, maximumBatch)
                let batch = Array(state.queue.prefix(count))
                state.queue.removeFirst(count)
                if batch.isEmpty { state.draining = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            commit(batch, db)
        }
    }

    /// Commits a batch in one transaction. Writes rarely fail (ids are unique, conflicts are values),
    /// so the batch first runs without savepoints; if one write throws, the transaction is rolled
    /// back and the batch runs again with a savepoint per write, isolating the failure.
    private func commit(_ batch: [Pending], _ db: Database) {
        var results: [Result<InsertOutcome, any Error>] = []
        do {
            try db.inTransaction(.immediate) {
                results = try batch.map { .success(try $0.write(db)) }
                return .commit
            }
        } catch {
            results = []
            do {
                try db.inTransaction(.immediate) {
                    for pending in batch {
                        var result: Result<InsertOutcome, any Error> = .failure(StoreError.durability("write did not run"))
                        do {
                            try db.inSavepoint {
                                result = .success(try pending.write(db))
                                return .commit
                            }
                        } catch {
                            result = .failure(error)
                        }
                        results.append(result)
                    }
                    return .commit
                }
            } catch {
                // The commit itself failed: nothing of this batch is stored.
                for pending in batch { pending.continuation.resume(throwing: error) }
                return
            }
        }
        for (pending, result) in zip(batch, results) { pending.continuation.resume(with: result) }
    }
}
