import Dispatch
import GRDB
import Synchronization

/// Batches concurrent writes into one transaction, so that one fsync acknowledges many of them.
///
/// The first writer to find the committer idle schedules a drain on GRDB's writer queue; while a
/// batch commits, new writes queue up and go into the next batch. One failing write does not undo
/// the others (see `commit`); every caller is resumed only after the transaction holding its
/// write has committed. Every write may append to the audit chain, whose tail lives here. Before each batch the drain
/// may wait a little for more writes (`WriteDemand`).
final class GroupCommitter: Sendable {
    typealias Write = @Sendable (Database, inout AuditTail) throws -> any Sendable
    private struct Pending {
        let write: Write
        let continuation: CheckedContinuation<any Sendable, any Error>
    }
    private let writer: any DatabaseWriter
    private let queue = Mutex(BatchQueue<Pending>())
    /// The committed end of the chain; read and written only on GRDB's writer queue (inside `drain`).
    private let tail = Mutex<AuditTail?>(nil)
    /// Caps a batch so a burst cannot make one transaction, and everyone's latency, unbounded.
    private let maximumBatch = 512

    /// Told of each committed batch: how many writes it held and how long its transaction took.
    private let observer = CommitObserver()

    /// Told after each committed batch (the log's checkpointer).
    private let afterCommit: (@Sendable () -> Void)?

    /// What a batch waits for before it starts.
    let demand = WriteDemand()
    /// Signalled when the writes a batch waits for are queued.
    private let gathered = DispatchSemaphore(value: 0)
    private let wakeDrain: BatchQueue<Pending>.Waker

    init(writer: any DatabaseWriter, afterCommit: (@Sendable () -> Void)? = nil) {
        self.writer = writer
        self.afterCommit = afterCommit
        wakeDrain = BatchQueue.Waker { [gathered] in gathered.signal() }
    }

    func observe(_ observe: @escaping @Sendable (_ writes: Int, _ duration: Duration) -> Void) {
        observer.set(observe)
    }

    func submit<T: Sendable>(_ write: @escaping @Sendable (Database, inout AuditTail) throws -> T) async throws -> T {
        let result = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<any Sendable, any Error>) in
            let (startDrain, wake) = queue.withLock { $0.add(Pending(write: { db, tail in try write(db, &tail) }, continuation: continuation)) }
            if startDrain { writer.asyncWriteWithoutTransaction { db in self.drain(db) } }
            wake?.wake()
        }
        return result as! T
    }

    private func drain(_ db: Database) {
        while true {
            gather()
            let batch = queue.withLock { $0.next(maximum: maximumBatch) }
            guard !batch.isEmpty else { return }
            let started = ContinuousClock.now
            let results = commit(batch, db)
            let took = ContinuousClock.now - started
            demand.committed(in: took)
            // Told before anyone is answered: a caller that reads the metrics next finds its commit counted.
            observer.committed(writes: batch.count, duration: took)
            for (pending, result) in zip(batch, results) { pending.continuation.resume(with: result) }
            afterCommit?()
        }
    }

    /// Waits, on the writer's queue, until the batch holds as many writes as `demand` says or its time is up.
    private func gather() {
        guard let (writes, within) = demand.gathering(),
              let id = queue.withLock({ $0.gather(min(writes, maximumBatch), waker: wakeDrain) }) else { return }
        // At most `WriteDemand.longestWait`: the nanoseconds fit an Int.
        let deadline = DispatchTime.now() + .nanoseconds(Int(within / .nanoseconds(1)))
        // A write that woke the drain just as its time ran out has signalled, or is about to: taken here, or the next wait would end on it.
        if gathered.wait(timeout: deadline) == .timedOut, !queue.withLock({ $0.stopGathering(id) }) { gathered.wait() }
    }

    /// Commits a batch in one transaction. Writes rarely fail (ids are unique, conflicts are values),
    /// so the batch first runs without savepoints; if one write throws, the transaction is rolled
    /// back and the batch runs again with a savepoint per write, isolating the failure. Returns each write's result.
    private func commit(_ batch: [Pending], _ db: Database) -> [Result<any Sendable, any Error>] {
        let start: AuditTail
        do {
            start = try tail.withLock { $0 } ?? AuditTail.load(db)
        } catch {
            return batch.map { _ in .failure(StoreError.from(error)) }
        }
        var results: [Result<any Sendable, any Error>] = []
        var end = start
        do {
            try db.inTransaction(.immediate) {
                results = try batch.map { .success(try $0.write(db, &end)) }
                return .commit
            }
        } catch {
            results = []
            end = start
            do {
                try db.inTransaction(.immediate) {
                    for pending in batch {
                        var result: Result<any Sendable, any Error> = .failure(StoreError.durability("write did not run"))
                        let before = end
                        do {
                            try db.inSavepoint {
                                result = .success(try pending.write(db, &end))
                                return .commit
                            }
                        } catch {
                            end = before
                            result = .failure(StoreError.from(error))
                        }
                        results.append(result)
                    }
                    return .commit
                }
            } catch {
                // The commit itself failed: nothing of this batch is stored, and the chain did not move.
                tail.withLock { $0 = nil }
                return batch.map { _ in .failure(StoreError.from(error)) }
            }
        }
        tail.withLock { $0 = end }
        return results
    }
}
