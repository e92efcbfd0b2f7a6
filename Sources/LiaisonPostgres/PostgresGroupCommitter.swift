import LiaisonCore
import LiaisonStore
import PostgresNIO
import Synchronization

/// Batches this hub's concurrent writes into one transaction, as the SQLite store's committer does: the chain's
/// and the feed's locks are then taken once per batch, just before its commit, and one WAL flush acknowledges
/// every write of the batch, instead of each write holding the chain's lock across its own flush.
///
/// Each write runs its statements on the batch's connection and hands its trail entries, feed events and pushed
/// items to the batch (`PostgresWrite`), which appends them all in a few statements whatever their number: a
/// statement is a round trip while everyone in the batch waits. A batch none of whose writes ran a statement of its
/// own (most pushes, every audited read) is one statement, which also commits it (see `run`). A batch first runs
/// without savepoints; if a write throws, it is rolled back and runs again with a savepoint per write, so that one
/// failure undoes only its own write. A write that lost a race with another hub runs again in the next batch.
/// Every caller is resumed only after the transaction holding its write has committed. Before each batch the drain may
/// wait a little for more writes (`WriteDemand`): with two hubs taking turns on one database, each hub's batches were
/// otherwise half its clients, and each paid for the procedure call, its commit and its flush.
final class PostgresGroupCommitter: Sendable {
    typealias Write = @Sendable (PostgresWrite) async throws -> any Sendable
    private struct Pending {
        let write: Write
        let continuation: CheckedContinuation<any Sendable, any Error>
        var attempts = 1
    }
    private let queue = Mutex(BatchQueue<Pending>())
    /// Caps a batch so a burst cannot make one transaction, and everyone's latency, unbounded.
    private let maximumBatch = 256
    /// How often a write that lost a race with another hub's transaction is tried before its error is returned.
    private let maximumAttempts = 3
    /// The store's: told of each committed batch.
    private let observer: CommitObserver

    /// What a batch waits for before it starts.
    let demand = WriteDemand()

    init(observer: CommitObserver) {
        self.observer = observer
    }

    /// Runs `write` in the next batch `store` commits (the store that owns this committer).
    func submit<T: Sendable>(to store: PostgresStore, _ write: @escaping @Sendable (PostgresWrite) async throws -> T) async throws -> T {
        let result = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<any Sendable, any Error>) in
            let (startDrain, wake) = queue.withLock { $0.add(Pending(write: { try await write($0) }, continuation: continuation)) }
            // The drain is a task of its own: a caller cancelled while its write is queued does not stop the batch.
            if startDrain { Task { await self.drain(store) } }
            wake?.wake()
        }
        return result as! T
    }

    private func drain(_ store: PostgresStore) async {
        while true {
            await gather()
            let batch = queue.withLock { $0.next(maximum: maximumBatch) }
            guard !batch.isEmpty else { return }
            let started = ContinuousClock.now
            var results = await commit(batch, store)
            if results.count != batch.count { results = batch.map { _ in .failure(StoreError.durability("the batch's results went missing")) } }
            let took = ContinuousClock.now - started
            demand.committed(in: took)
            observer.committed(writes: batch.count, duration: took)
            var again: [Pending] = []
            for (pending, result) in zip(batch, results) {
                if case .failure(let error) = result, Self.lostARace(error) || error is RunsAgain, pending.attempts < maximumAttempts {
                    var retry = pending
                    retry.attempts += 1
                    again.append(retry)
                } else {
                    pending.continuation.resume(with: result.mapError { ($0 as? RunsAgain)?.underlying ?? $0 })
                }
            }
            if !again.isEmpty { queue.withLock { $0.retry(again) } }
        }
    }

    /// Waits until the batch holds as many writes as `demand` says or its time is up. The timer's task sleeps its whole
    /// time even when writes end the wait sooner; it then finds the wait over and does nothing.
    private func gather() async {
        guard let (writes, within) = demand.gathering() else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waker = BatchQueue<Pending>.Waker { continuation.resume() }
            guard let id = queue.withLock({ $0.gather(min(writes, maximumBatch), waker: waker) }) else { return continuation.resume() }
            Task {
                try? await Task.sleep(for: within)
                if self.queue.withLock({ $0.stopGathering(id) }) { continuation.resume() }
            }
        }
    }

    /// The batch's results in order; all of them failures if the transaction did not commit.
    private func commit(_ batch: [Pending], _ store: PostgresStore) async -> [Result<any Sendable, any Error>] {
        do {
            return try await store.withConnection { connection in
                if let results = try await self.run(batch, store, on: connection, isolated: false) { return Results(results) }
                return Results(try await self.run(batch, store, on: connection, isolated: true) ?? [])
            }.values
        } catch {
            let failure = StoreError.from(postgres: error)
            return batch.map { _ in .failure(failure) }
        }
    }

    /// Runs the batch in one transaction and commits it. Without isolation, the first failing write rolls the
    /// transaction back and the answer is nil; with it, a failing write is rolled back to its savepoint and
    /// answered with its error. A failure of the transaction itself (its trail, its commit) is thrown.
    ///
    /// The transaction begins on the server only when a write first runs a statement of its own (`PostgresWrite`).
    /// A batch whose writes only handed over rows, trail entries and events goes as one call that stores them all
    /// and commits (`liaison_commit_batch`): one round trip instead of four, none of them under the chain's lock.
    private func run(_ batch: [Pending], _ store: PostgresStore, on connection: PostgresConnection, isolated: Bool) async throws -> [Result<any Sendable, any Error>]? {
        let logger = store.logger
        let transaction = PostgresBatchTransaction(store: store, connection: connection)
        if isolated { _ = transaction.begin() }
        var results: [Result<any Sendable, any Error>] = []
        var audit: [AuditRecord] = []
        var events: [FeedEvent] = []
        let items = PostgresItemRows(store: store)
        for pending in batch {
            let write = PostgresWrite(transaction: transaction, items: items, isolated: isolated)
            if isolated { try await connection.query("SAVEPOINT write", logger: logger) }
            do {
                let value = try await pending.write(write)
                if isolated {
                    try await items.settle(on: connection)
                    try await connection.query("RELEASE SAVEPOINT write", logger: logger)
                }
                results.append(.success(value))
                audit += write.audit
                events += write.events
            } catch {
                if isolated {
                    items.discard()
                    try await connection.query("ROLLBACK TO SAVEPOINT write", logger: logger)
                    let failure = StoreError.from(postgres: error)
                    results.append(.failure(Self.claimTakenMeanwhile(error) ? RunsAgain(underlying: failure) : failure))
                } else {
                    if transaction.begun != nil { try await connection.query("ROLLBACK", logger: logger) }
                    return nil
                }
            }
        }
        if transaction.begun == nil {
            var arguments = PostgresArguments()
            if items.take(into: &arguments) {
                store.addTrail(audit, events, to: &arguments)
                do {
                    _ = try await store.send(arguments.statement("CALL", "liaison_commit_batch"), on: connection).get()
                } catch {
                    // Nothing of the batch is stored. A write's own failure (a row, a retired key version) is found by
                    // running the batch again isolated; a lost race and a lost connection are the whole batch's.
                    if Self.lostARace(StoreError.from(postgres: error)) || (error as? PSQLError)?.serverInfo == nil { throw error }
                    return nil
                }
                return results
            }
        }
        // The batch's rows, its trail (which takes the trail's locks on the server) and its commit, queued back to back.
        let begun = transaction.begin()
        let settled = items.send(on: connection)
        let appended = store.sendTrail(audit, events, on: connection)
        let committed = store.send("COMMIT", on: connection)
        var rowsFailed = false
        do {
            _ = try await begun.get()
            for answer in settled { try await answer.get() }
        } catch {
            // Without isolation, the pushes' rows went in together here: a failure is one write's, found by running
            // again isolated. The trail and the COMMIT after it were then refused or rolled back by the server.
            rowsFailed = true
        }
        do {
            try await appended?.get()
            // COMMIT in a transaction a statement failed in rolls it back, answering so rather than failing.
            guard try await committed.get().metadata.command == "COMMIT" else { throw StoreError.durability("the batch's transaction was rolled back") }
        } catch {
            // The connection may still be usable: leave it without a transaction open (it is closed if not).
            _ = try? await connection.query("ROLLBACK", logger: logger)
            if rowsFailed { return nil }
            throw error
        }
        return results
    }

    /// A deadlock with, or a serialisation failure against, another hub's transaction: running again can succeed.
    private static func lostARace(_ error: any Error) -> Bool {
        guard case .postgres(let state, _) = error as? StoreError else { return false }
        return state == "40P01" || state == "40001"
    }

    /// Whether a write's own failure, in an isolated run, is an idempotency claim another transaction took after the
    /// write looked for it: a claim pushed on two hubs at once, this hub finding it free under its lock while the
    /// other hub's batch, which inserts new claims without the lock, committed it first. Run again, the write finds
    /// that push and replays it. (Another unique key, an item's id, fails the same way each time: not run again.)
    private static func claimTakenMeanwhile(_ error: any Error) -> Bool {
        guard let info = (error as? PSQLError)?.serverInfo else { return false }
        return info[.sqlState] == "23505" && info[.constraintName] == "idempotency_pkey"
    }

    /// A write's failure that running it again in the next batch may undo, the caller given `underlying` otherwise.
    private struct RunsAgain: Error {
        let underlying: any Error
    }

    /// Results carried out of the connection's closure (a result of `any Sendable` values is not itself Sendable).
    private struct Results: @unchecked Sendable {
        let values: [Result<any Sendable, any Error>]
        init(_ values: [Result<any Sendable, any Error>]) { self.values = values }
    }
}

/// The transaction of a batch's writes, begun on the server when a write first asks for the connection.
final class PostgresBatchTransaction: @unchecked Sendable {
    // Unchecked: a batch's writes run one at a time, and the batch reads `begun` only between them.
    private let store: PostgresStore
    private let plainConnection: PostgresConnection
    /// The answer to the BEGIN, once sent.
    private(set) var begun: EventLoopFuture<PostgresQueryResult>?

    init(store: PostgresStore, connection: PostgresConnection) {
        self.store = store
        plainConnection = connection
    }

    /// The batch's connection, its transaction begun (the BEGIN is queued before anything sent after it).
    var connection: PostgresConnection {
        _ = begin()
        return plainConnection
    }

    /// Sends the BEGIN unless it was sent; its answer.
    func begin() -> EventLoopFuture<PostgresQueryResult> {
        if let begun { return begun }
        let sent = store.send("BEGIN", on: plainConnection)
        begun = sent
        return sent
    }
}

/// One write of a batch: its statements run on the batch's connection, in the batch's transaction, and its trail
/// entries, feed events and pushed items are handed to the batch, which appends them with the rest of the batch's
/// (dropped if the write is rolled back).
final class PostgresWrite: @unchecked Sendable {
    // Unchecked: a write is run by one task at a time, the batch awaiting it before it reads what the write handed over.
    private let transaction: PostgresBatchTransaction
    private let items: PostgresItemRows
    private(set) var audit: [AuditRecord] = []
    private(set) var events: [FeedEvent] = []
    /// The batch runs again, a savepoint per write, after a failure: what a write may have left to the database's
    /// constraints to catch (a claim taken since it looked) it must now check itself.
    let isolated: Bool

    init(transaction: PostgresBatchTransaction, items: PostgresItemRows, isolated: Bool) {
        self.transaction = transaction
        self.items = items
        self.isolated = isolated
    }

    /// The batch's connection, for this write's own statements: asking for it begins the batch's transaction, so a
    /// write that runs none should not ask.
    var connection: PostgresConnection { transaction.connection }

    func record(_ records: [AuditRecord]) { audit += records }
    func publish(_ events: [FeedEvent]) { self.events += events }

    /// Stores a pushed item with its payload, idempotency claim and marks when the batch settles its items.
    func store(_ item: Item, payload: StoredPayload, claim: IdempotencyClaim?, marks: [String]) {
        items.add(item, payload: payload, claim: claim, marks: marks)
    }

    /// Inserts the items the batch's writes stored so far: before reading what they may have stored.
    func settleItems() async throws { try await items.settle(on: connection) }
}
