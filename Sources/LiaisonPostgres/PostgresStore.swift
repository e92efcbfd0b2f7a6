import Foundation
public import LiaisonCore
import LiaisonCrypto
public import LiaisonStore
public import Logging
public import PostgresNIO
import Synchronization

/// The store on PostgreSQL, for several hubs serving one database: every state change commits with its trail
/// entry, a hub's concurrent changes batched into one transaction (`PostgresGroupCommitter`), and the chain's end
/// (`audit_tail`) and the feed's cursor (`feed_tail`) are rows locked by the transaction that extends them, so the
/// chain is one and gapless and cursors grow in commit order, whichever hub commits. Commits are durable when
/// acknowledged (`synchronous_commit` on, PostgreSQL's default).
public final class PostgresStore: HubStore, CommitObservable {
    let client: PostgresClient
    let logger: Logger
    private let running: Task<Void, Never>
    /// How long an operation waits for the database before it is answered as unavailable.
    let deadline: Duration
    let progress = Progress()
    /// The requests for a connection not granted yet, given up by `watching` when they wait too long.
    private let waits = ConnectionWaits()
    /// What a request that waited `deadline` for a connection is answered, made once.
    private let noConnection: StoreError
    private let watching: Task<Void, Never>
    /// The channel of feed notices: one per schema, as hubs of different schemas share a database's channels.
    let feedChannel: String
    /// Told of every commit: the group committer's batches and the transactions of their own.
    private let observer: CommitObserver
    private let committer: PostgresGroupCommitter
    public var writeDemand: WriteDemand { committer.demand }

    /// Connects to `configuration` (the pool runs until `shutdown`) and migrates the schema. A database that does not
    /// answer within `startTimeout` is refused (the pool itself would keep trying to connect).
    public init(configuration: PostgresClient.Configuration, logger: Logger, startTimeout: Duration = .seconds(15), deadline: Duration = .seconds(10)) async throws {
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.logger = logger
        self.deadline = deadline
        noConnection = StoreError.unavailable("no connection to the database within \(deadline)")
        let observer = CommitObserver()
        self.observer = observer
        committer = PostgresGroupCommitter(observer: observer)
        // The pool runs from here on; its first lease waits until `run` has begun, as leasing earlier warns the log
        // that `run` was not called. `run` marks itself running before it first suspends, right after this task
        // finishes the stream, while this init is still to be resumed on another thread.
        let (begun, begin) = AsyncStream<Never>.makeStream()
        running = Task {
            begin.finish()
            await client.run()
        }
        for await _ in begun {}
        do {
            // Raced as a lease is (`withConnection`): a probe the pool never answers still ends at the timeout.
            let answered = try await FirstAnswer.finishes(within: startTimeout) { try await client.query("SELECT 1", logger: logger) }
            guard answered else {
                let server = "\(configuration.host ?? "the server"):\(configuration.port ?? 5432)"
                throw StoreError.unavailable("no answer from \(server) within \(startTimeout); check that PostgreSQL runs and listens on \(server) "
                                             + "and that this machine can reach it")
            }
            try await PostgresMigrations.migrate(client, logger: logger)
            let schema = try await client.query("SELECT current_schema()", logger: logger).collect().first?.decode(String.self) ?? "public"
            // A channel name is an identifier of at most 63 bytes.
            feedChannel = "liaison_feed:" + (schema.utf8.count <= 50 ? schema : String(Digest.sha256Hex(Array(schema.utf8)).prefix(32)))
        } catch {
            running.cancel()
            throw StoreError.from(postgres: error)
        }
        let (waits, progress) = (self.waits, self.progress)
        watching = Task { await waits.watch(deadline: deadline, busyWaits: Self.busyWaits, progress: progress) }
    }

    /// Closes the pool's connections.
    public func shutdown() async {
        watching.cancel()
        running.cancel()
        // Bounded: PostgresNIO's pool may keep trying to reach a database that went away (vapor/postgres-nio#599).
        let running = self.running
        let closed = try? await FirstAnswer.finishes(within: .seconds(5)) { await running.value }
        if closed != true { logger.warning("the database's connections did not close within 5 s; leaving them to the process's end") }
    }

    // MARK: transactions

    public func observeCommits(_ observe: @escaping @Sendable (_ writes: Int, _ duration: Duration) -> Void) {
        observer.set(observe)
    }

    /// Runs `body` in the next batch of this hub's writes, one transaction (see `PostgresGroupCommitter`); its trail
    /// entries and feed events are handed to `write`. A failure undoes only this write and is a `StoreError`.
    func committed<T: Sendable>(_ body: @escaping @Sendable (PostgresWrite) async throws -> T) async throws -> T {
        try await committer.submit(to: self, body)
    }

    /// Runs `body` in a transaction of its own (for writes that leave no trail); a failure rolls everything back and
    /// is a `StoreError`. Commits of writes (`observed`) are told to the commit observer.
    func transaction<T: Sendable>(observed: Bool = true, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        do {
            let started = ContinuousClock.now
            let logger = self.logger
            let result = try await withConnection { connection in try await connection.withTransaction(logger: logger) { connection in try await body(connection) } }
            if observed { observer.committed(writes: 1, duration: ContinuousClock.now - started) }
            return result
        } catch let error as PostgresTransactionError {
            throw StoreError.from(postgres: error.closureError ?? error.commitError ?? error.beginError ?? error)
        } catch {
            throw StoreError.from(postgres: error)
        }
    }

    /// Runs `body` on a connection of the pool, unless none is had within `deadline`: while the database is
    /// unreachable the pool keeps trying to connect and a request would wait indefinitely; it gets 503
    /// `database_unavailable` instead. Only the wait for a connection is bounded: once `body` has begun it runs
    /// to its end (a transaction is never abandoned half-way, so a 503 always means nothing was done).
    ///
    /// The lease is a task of its own, raced (`FirstAnswer`) with the store's watch over waiting requests
    /// (`ConnectionWaits`), not a child the caller must outlive: should the pool lose the request, the caller still
    /// gets its 503, and only that task is left waiting.
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let (client, progress, waits, noConnection) = (self.client, self.progress, self.waits, self.noConnection)
        let state = ConnectionWait()
        let lease = LeaseTask()
        return try await withTaskCancellationHandler {
            // The lease starts once the caller waits, so that no answer can come before it.
            try await FirstAnswer<T>().wait { first in
                let id = waits.add {
                    guard state.move(to: .gaveUp) else { return }
                    first.answer(.failure(noConnection))
                    // Withdrawn from the pool's queue, if the pool still knows of it.
                    lease.cancel()
                }
                lease.start {
                    let result: Result<T, any Error>
                    do {
                        result = .success(try await client.withConnection { connection in
                            guard state.move(to: .begun) else { throw noConnection }
                            let result = try await body(connection)
                            progress.note()
                            return result
                        })
                    } catch {
                        result = .failure(error)
                    }
                    waits.remove(id)
                    first.answer(result)
                }
            }
        } onCancel: {
            lease.cancel()
        }
    }

    /// The task of one lease, cancelled even if asked before it started.
    final class LeaseTask: Sendable {
        private let task = Mutex<(task: Task<Void, Never>?, cancelled: Bool)>((nil, false))

        func start(_ operation: sending @escaping @isolated(any) () async -> Void) {
            let started = Task(operation: operation)
            let cancelled = task.withLock { task in
                task.task = started
                return task.cancelled
            }
            if cancelled { started.cancel() }
        }

        func cancel() {
            let started = task.withLock { task in
                task.cancelled = true
                return task.task
            }
            started?.cancel()
        }
    }

    /// How many deadlines a request may wait for a connection while other operations complete.
    static let busyWaits = 3

    /// When an operation last completed.
    final class Progress: Sendable {
        private let instant = Mutex(ContinuousClock.now)
        var last: ContinuousClock.Instant { instant.withLock { $0 } }
        func note() { instant.withLock { $0 = .now } }
    }

    /// Whether the body began or the wait was given up: whichever comes first decides, once.
    final class ConnectionWait: Sendable {
        enum Stage { case waiting, begun, gaveUp }
        private let stage = Mutex(Stage.waiting)

        /// Moves from waiting to `next`; false if something else was decided first.
        func move(to next: Stage) -> Bool {
            stage.withLock { stage in
                guard stage == .waiting else { return false }
                stage = next
                return true
            }
        }
    }

    /// Runs several reads in one snapshot.
    func snapshot<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let logger = self.logger
        return try await transaction(observed: false) { connection in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            return try await body(connection)
        }
    }

    /// One query, its rows collected.
    func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        do {
            let logger = self.logger
            return try await withConnection { connection in
                var rows: [PostgresRandomAccessRow] = []
                for try await row in try await connection.query(query, logger: logger) { rows.append(row.makeRandomAccess()) }
                return rows
            }
        } catch {
            throw StoreError.from(postgres: error)
        }
    }

    func rows(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> [PostgresRandomAccessRow] {
        var rows: [PostgresRandomAccessRow] = []
        for try await row in try await connection.query(query, logger: logger) { rows.append(row.makeRandomAccess()) }
        return rows
    }

    func execute(_ query: PostgresQuery, on connection: PostgresConnection) async throws {
        try await connection.query(query, logger: logger)
    }

    /// Sends `query`, its answer to come. PostgresNIO queues statements sent one after another on the connection
    /// and sends each once the one before is answered, on its event loop: they cost a round trip each still, but
    /// not a task's resumption after every answer, which under load is most of what a statement costs.
    func send(_ query: PostgresQuery, on connection: PostgresConnection) -> EventLoopFuture<PostgresQueryResult> {
        connection.query(query, logger: logger)
    }

    /// Appends `records` to the chain and `events` to the feed: one call of `liaison_append_trail`, whatever their
    /// number (the rows go in column by column), nil when there is nothing to append. The function locks the chain's
    /// end and the feed's cursor until the transaction ends (always in that order), so every other writer waits for
    /// what follows it: the chain stays one, and cursors grow in commit order. It numbers and hashes the entries from
    /// the end it finds there, so the hub sends nothing it must wait for under the lock but the COMMIT (a round trip
    /// that `liaison_commit_batch` spares the batches that can take it).
    func sendTrail(_ records: [AuditRecord], _ events: [FeedEvent], on connection: PostgresConnection) -> EventLoopFuture<Void>? {
        guard !records.isEmpty || !events.isEmpty else { return nil }
        var arguments = PostgresArguments()
        addTrail(records, events, to: &arguments)
        return send(arguments.statement("SELECT", "liaison_append_trail"), on: connection).map { _ in }
    }

    /// `liaison_append_trail`'s arguments for `records` and `events`, column by column.
    func addTrail(_ records: [AuditRecord], _ events: [FeedEvent], to arguments: inout PostgresArguments) {
        var columns = (times: [Int64](), actors: [String](), actions: [String](), targets: [String](), units: [String](), hasUnit: [Bool](),
                       outcomes: [String](), details: [String](), fields: [ByteBuffer]())
        for given in records {
            let record = given.withoutNUL()
            columns.times.append(record.time.millisecondsSince1970)
            columns.actors.append(record.actor)
            columns.actions.append(record.action)
            columns.targets.append(record.targets.joined(separator: ","))
            // A unit may be given empty (a refusal names what was sent): only a missing one is NULL.
            columns.units.append(record.unit ?? "")
            columns.hasUnit.append(record.unit != nil)
            columns.outcomes.append(record.outcome)
            columns.details.append(StoredText.encode(detail: record.detail))
            columns.fields.append(ByteBuffer(bytes: AuditEntry.canonicalFields(of: record)))
        }
        arguments.add(columns.times)
        for texts in [columns.actors, columns.actions, columns.targets, columns.units] { arguments.add(texts) }
        arguments.add(columns.hasUnit)
        for texts in [columns.outcomes, columns.details] { arguments.add(texts) }
        arguments.add(columns.fields)
        // Delivered to every listening hub when the transaction commits (and not at all if it rolls back), one line
        // per principal or, for an event of every reader, what its readers follow from. A notice holds at most
        // 8,000 bytes: past that, an empty one wakes every waiting reader.
        let principals = Set(events.map(\.wakeLine)).sorted().joined(separator: "\n")
        // Ids are never empty, so an empty string stands for NULL.
        arguments.add(events.map(\.principal))
        arguments.add(events.map { $0.time.millisecondsSince1970 })
        for texts in [events.map(\.kind.rawValue), events.map { $0.item ?? "" }, events.map { $0.request ?? "" }, events.map { $0.grant ?? "" },
                      events.map { StoredText.encode(detail: $0.detail) }] {
            arguments.add(texts)
        }
        arguments.add(feedChannel)
        arguments.add(principals.utf8.count < 7_900 ? principals : "")
    }

    /// Takes a lock named by `text` until the transaction ends (for rows that may not exist yet: a claim, a lead).
    func lock(_ text: String, on connection: PostgresConnection) async throws {
        // Advisory locks belong to the whole database: the schema's name keeps hubs of other schemas out of the way.
        try await execute("SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ':' || \(text), 0))", on: connection)
    }

    // MARK: audit

    public func record(_ audit: AuditRecord) async throws {
        try await committed { write in write.record([audit]) }
    }

    public func auditEntries(matching query: AuditQuery) async throws -> [AuditEntry] {
        var sql = "SELECT \(PostgresRows.auditColumns) FROM audit WHERE seq > $1"
        var binds = PostgresBindings()
        binds.append(query.after)
        func filter(_ clause: String, _ value: String) {
            binds.append(value.storable)
            sql += " AND " + clause.replacingOccurrences(of: "?", with: "$\(binds.count)")
        }
        func filter(_ clause: String, _ value: Int64) {
            binds.append(value)
            sql += " AND " + clause.replacingOccurrences(of: "?", with: "$\(binds.count)")
        }
        if let actor = query.actor { filter("actor = ?", actor) }
        if let action = query.action { filter("action = ?", action) }
        if let unit = query.unit { filter("unit = ?", unit) }
        if let item = query.item { filter("(',' || targets || ',') LIKE ?", "%," + item + ",%") }
        if let since = query.since { filter("time >= ?", since.millisecondsSince1970) }
        if let until = query.until { filter("time < ?", until.millisecondsSince1970) }
        sql += " ORDER BY seq LIMIT \(max(1, query.limit))"
        return try await rows(PostgresQuery(unsafeSQL: sql, binds: binds)).map(PostgresRows.entry(from:))
    }

    public func auditHead() async throws -> (seq: Int64, hash: String) {
        guard let row = try await rows("SELECT seq, hash FROM audit_tail WHERE id = 1").first else { throw StoreError.corrupt("audit_tail has no row") }
        return (try row[0].decode(Int64.self), try row[1].decode(String.self))
    }

    public func saveSignedHead(_ head: SignedHead) async throws {
        _ = try await rows("""
            INSERT INTO audit_head (seq, hash, time, signature, signer) VALUES (\(head.seq), \(head.hash), \(head.timeMs), \(Data(head.signature)), \(head.signer))
            ON CONFLICT (seq) DO NOTHING
            """)
    }

    public func saveSigner(fingerprint: String, certificate: String) async throws {
        _ = try await rows("INSERT INTO audit_signer (fingerprint, certificate) VALUES (\(fingerprint), \(certificate)) ON CONFLICT (fingerprint) DO NOTHING")
    }

    public func signers(_ fingerprints: Set<String>) async throws -> [String: String] {
        guard !fingerprints.isEmpty else { return [:] }
        let rows = try await rows("SELECT fingerprint, certificate FROM audit_signer WHERE fingerprint = ANY(\(Array(fingerprints)))")
        return Dictionary(try rows.map { (try $0[0].decode(String.self), try $0[1].decode(String.self)) }, uniquingKeysWith: { first, _ in first })
    }

    public func signedHeads(after seq: Int64, limit: Int) async throws -> [SignedHead] {
        try await rows("SELECT seq, hash, time, signature, signer FROM audit_head WHERE seq > \(seq) ORDER BY seq LIMIT \(limit)").map(PostgresRows.signedHead(from:))
    }

    public func latestSignedHead() async throws -> SignedHead? {
        try await rows("SELECT seq, hash, time, signature, signer FROM audit_head ORDER BY seq DESC LIMIT 1").first.map(PostgresRows.signedHead(from:))
    }

    // MARK: items

    public func insert(_ item: Item, payload: StoredPayload, claim: IdempotencyClaim?, audit: AuditRecord, events: [FeedEvent], marks: [String],
                       watch: AlertWatch?) async throws -> InsertOutcome {
        // A claim is looked up first, outside the batch. One seen before is answered in the batch from its row, under its
        // lock. A new one (nearly every claim) is only inserted with the item, so that the batch can still be one call:
        // should a push of the same claim commit first (here or on another hub), the claim's key is taken, the call
        // fails, and the batch runs again isolated, where every claim is looked up under its lock.
        let seen = try await claimTaken(claim)
        return try await committed { write in
            var entry = audit
            if let claim, seen || write.isolated {
                let connection = write.connection
                // An earlier push of this batch may hold the same claim.
                try await write.settleItems()
                // Two hubs taking the same claim at once: the second waits here, then finds the first's push.
                try await self.lock("idempotency:" + claim.principal + "\u{1f}" + claim.key, on: connection)
                if let row = try await self.rows("SELECT fingerprint, item_id FROM idempotency WHERE principal = \(claim.principal) AND key = \(claim.key)",
                                                 on: connection).first {
                    let itemID = try row[1].decode(String.self)
                    if try row[0].decode(String.self) != claim.fingerprint {
                        entry.targets = [itemID]
                        entry.outcome = "refused"
                        entry.detail["code"] = "idempotency_conflict"
                        write.record([entry])
                        return .conflict(existingID: itemID)
                    }
                    guard let first = try await self.fetchItem(id: itemID, on: connection) else {
                        throw StoreError.corrupt("idempotency key points to missing item \(itemID)")
                    }
                    entry.targets = [first.id]
                    entry.outcome = "replayed"
                    write.record([entry])
                    return .replayed(first)
                }
            }
            // Inserted with the batch's other pushes (`PostgresItemRows`), the key versions checked then.
            write.store(item, payload: payload, claim: claim, marks: marks)
            write.record([entry])
            write.publish(events)
            if let watch {
                // The watch reads the items of its keys, this one and the batch's earlier pushes among them.
                let connection = write.connection
                try await write.settleItems()
                for alert in watch.raise(try await self.watchedItems(watch.keys, on: connection)) {
                    try await self.insert(alert.alert, on: connection)
                    write.record([alert.audit])
                    write.publish(alert.events)
                }
            }
            return .created(item)
        }
    }

    /// Whether a push has taken `claim` (false for none).
    private func claimTaken(_ claim: IdempotencyClaim?) async throws -> Bool {
        guard let claim else { return false }
        return try await !rows("SELECT 1 FROM idempotency WHERE principal = \(claim.principal) AND key = \(claim.key)").isEmpty
    }

    func fetchItem(id: String, on connection: PostgresConnection) async throws -> Item? {
        try await rows("SELECT \(unescaped: PostgresRows.itemColumns) FROM item WHERE id = \(id)", on: connection).first.map(PostgresRows.item(from:))
    }

    public func item(id: String) async throws -> Item? {
        let id = id.storable
        return try await rows("SELECT \(unescaped: PostgresRows.itemColumns) FROM item WHERE id = \(id)").first.map(PostgresRows.item(from:))
    }

    public func payload(id: String) async throws -> StoredPayload? {
        let id = id.storable
        return try await rows("SELECT bytes, wrapped_key, key_version, chunks FROM payload WHERE item_id = \(id)").first.map(Self.payload(from:))
    }

    public func payloads(ids: [String]) async throws -> [String: StoredPayload] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await rows("SELECT bytes, wrapped_key, key_version, chunks, item_id FROM payload WHERE item_id = ANY(\(ids.map(\.storable)))")
        var found: [String: StoredPayload] = [:]
        for row in rows { found[try row[4].decode(String.self)] = try Self.payload(from: row) }
        return found
    }

    /// A payload from the columns bytes, wrapped_key, key_version and chunks, in that order.
    static func payload(from row: PostgresRandomAccessRow) throws -> StoredPayload {
        StoredPayload(bytes: Array(try row[0].decode(Data.self)), wrappedKey: try row[1].decode(Data?.self).map(Array.init),
                      keyVersion: try row[2].decode(Int64?.self).map(StoredPayload.keyVersion(stored:)), chunks: try row[3].decode(Int?.self))
    }

    public func items(matching query: ItemQuery) async throws -> [Item] {
        var clauses: [String] = []
        var binds = PostgresBindings()
        func filter(_ column: String, _ operation: String, _ value: String) {
            binds.append(value.storable)
            clauses.append("\(column) \(operation) $\(binds.count)")
        }
        if let unit = query.unit { filter("unit", "=", unit) }
        if let kind = query.kind { filter("kind", "=", kind) }
        if let level = query.classification { filter("classification", "=", level.rawValue) }
        if let owner = query.owner { filter("owner", "=", owner) }
        if let before = query.before { filter("id", "<", before) }
        let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        let sql = "SELECT \(PostgresRows.itemColumns) FROM item \(whereClause) ORDER BY id DESC LIMIT \(max(1, query.limit))"
        return try await rows(PostgresQuery(unsafeSQL: sql, binds: binds)).map(PostgresRows.item(from:))
    }

    public func items(ids: [String]) async throws -> [Item] {
        guard !ids.isEmpty else { return [] }
        let found = try await rows("SELECT \(unescaped: PostgresRows.itemColumns) FROM item WHERE id = ANY(\(ids.map(\.storable)))").map(PostgresRows.item(from:))
        let byID = Dictionary(found.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        return ids.compactMap { byID[$0] }
    }

    public func rectifications(answering feedback: [String]) async throws -> [Item] {
        guard !feedback.isEmpty else { return [] }
        return try await rows("SELECT \(unescaped: PostgresRows.itemColumns) FROM item WHERE answers = ANY(\(feedback)) ORDER BY id").map(PostgresRows.item(from:))
    }

    // MARK: data keys

    public func dataKeyCounts() async throws -> [UInt32: Int] {
        var counts: [UInt32: Int] = [:]
        for row in try await rows("SELECT key_version, count(*) FROM payload WHERE key_version IS NOT NULL GROUP BY key_version") {
            counts[try StoredPayload.keyVersion(stored: try row[0].decode(Int64.self))] = Int(try row[1].decode(Int64.self))
        }
        return counts
    }

    public func dataKeys(notUnder version: UInt32, limit: Int) async throws -> [StoredDataKey] {
        try await rows("""
            SELECT item_id, wrapped_key, key_version FROM payload WHERE key_version IS NOT NULL AND key_version != \(Int64(version)) LIMIT \(limit)
            """).map { row in
            StoredDataKey(itemID: try row[0].decode(String.self), version: try StoredPayload.keyVersion(stored: try row[2].decode(Int64.self)), wrappedKey: Array(try row[1].decode(Data.self)))
        }
    }

    public func replaceDataKeys(_ rewraps: [DataKeyRewrap]) async throws -> Int {
        try await transaction { connection in
            try await self.requireKeptVersions(Array(Set(rewraps.map(\.version))), on: connection)
            var replaced = 0
            for rewrap in rewraps {
                // Only a key still under the version it was read under: a rewrap by another hub is not undone.
                let changed = try await self.rows("""
                    UPDATE payload SET wrapped_key = \(Data(rewrap.wrappedKey)), key_version = \(Int64(rewrap.version))
                    WHERE item_id = \(rewrap.itemID) AND key_version = \(Int64(rewrap.previousVersion)) RETURNING 1
                    """, on: connection)
                guard !changed.isEmpty else { continue }
                replaced += 1
                try await self.execute("""
                    UPDATE item SET meta_key = \(Data(rewrap.wrappedKey)), meta_key_version = \(Int64(rewrap.version))
                    WHERE id = \(rewrap.itemID) AND meta_key_version = \(Int64(rewrap.previousVersion))
                    """, on: connection)
            }
            return replaced
        }
    }
}
