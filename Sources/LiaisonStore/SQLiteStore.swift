import Foundation
public import GRDB
public import LiaisonCore

/// The embedded store: one SQLite file in WAL mode with `synchronous=FULL`, so that an
/// acknowledged push survives a crash or power loss. Pushes go through a group commit.
public final class SQLiteStore: HubStore, CommitObservable {
    let writer: any DatabaseWriter
    let committer: GroupCommitter
    /// The synchronous reads' connections, for a database file (a pool); other writers read through GRDB.
    let readers: ReadConnections?
    /// Where streamed payloads' chunks are written, for a database file; nil keeps them in the database.
    let chunkFiles: ChunkFiles?

    /// The store over `writer` (injected, as in GRDB's demo `AppDatabase`), migrated. `legacySeal` seals the items
    /// stored before item seals existed, once, in the migration that adds them (the daemon passes its key ring's);
    /// without it such items would read as damaged.
    public init(writer: any DatabaseWriter, legacySeal: (@Sendable (Item) -> [UInt8])? = nil) throws {
        self.writer = writer
        try Self.migrator(legacySeal: legacySeal).migrate(writer)
        // A pool is a database in WAL mode, whose log is copied into the file beside the commits (`WALCheckpointer`).
        var afterCommit: (@Sendable () -> Void)? = nil
        if let pool = writer as? DatabasePool {
            let checkpointer = try WALCheckpointer(path: pool.path)
            afterCommit = { checkpointer.committed() }
            readers = ReadConnections(pool: pool)
            chunkFiles = ChunkFiles(database: pool.path)
        } else {
            readers = nil
            chunkFiles = nil
        }
        committer = GroupCommitter(writer: writer, afterCommit: afterCommit)
    }

    /// Calls `observe` after each group commit with the number of writes it held and how long it took (for metrics).
    public func observeCommits(_ observe: @escaping @Sendable (_ writes: Int, _ duration: Duration) -> Void) {
        committer.observe(observe)
    }

    public var writeDemand: WriteDemand { committer.demand }

    /// Opens (creating if needed) the database file at `path`, durably, and migrates it.
    public convenience init(path: String, legacySeal: (@Sendable (Item) -> [UInt8])? = nil) throws {
        try self.init(writer: try Self.openDurable(path: path), legacySeal: legacySeal)
    }

    /// The database at `path` in WAL mode with `synchronous=FULL` (an acknowledged write survives power loss),
    /// readable by its owner only.
    public static func openDurable(path: String) throws -> DatabasePool {
        try restrictToOwner(path)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.maximumReaderCount = 8
        let pool = try DatabasePool(path: path, configuration: configuration)
        // DatabasePool sets synchronous=NORMAL when it enables WAL; acknowledged writes need FULL.
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            let level = try Int.fetchOne(db, sql: "PRAGMA synchronous")
            guard level == 2 else { throw StoreError.durability("SQLite refused synchronous=FULL (got \(level ?? -1))") }
        }
        return pool
    }

    /// Creates the database file readable by its owner only (SQLite gives `-wal` and `-shm` the same mode),
    /// and takes group and others' access away from files an older hub made 0644.
    static func restrictToOwner(_ path: String) throws {
        let descriptor = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw StoreError.durability("cannot create \(path): \(String(cString: strerror(errno)))") }
        close(descriptor)
        for file in [path, path + "-wal", path + "-shm"] {
            var info = stat()
            guard stat(file, &info) == 0, info.st_mode & 0o077 != 0 else { continue }
            guard chmod(file, 0o600) == 0 else { throw StoreError.durability("cannot make \(file) private (chmod 600): \(String(cString: strerror(errno)))") }
        }
    }

    public func insert(_ item: Item, payload: StoredPayload, claim: IdempotencyClaim?, audit: AuditRecord, events: [FeedEvent], marks: [String],
                       watch: AlertWatch?) async throws -> InsertOutcome {
        try await committer.submit { db, tail in
            let outcome = try Self.insert(item, payload: payload, claim: claim, in: db)
            var entry = audit
            var raised: [RaisedAlert] = []
            switch outcome {
            case .created:
                try Self.insert(marks: marks, of: item.id, in: db)
                try Self.append(events, in: db)
                // One writer: the pushes before this one in the batch are visible, those after it are not yet stored.
                if let watch { raised = watch.raise(try Self.watchedItems(watch.keys, in: db)) }
            case .replayed(let first):
                entry.targets = [first.id]
                entry.outcome = "replayed"
            case .conflict(let existingID):
                entry.targets = [existingID]
                entry.outcome = "refused"
                entry.detail["code"] = "idempotency_conflict"
            }
            try tail.append(entry, db)
            for alert in raised {
                try Self.insert(alert.alert, in: db)
                try Self.append(alert.events, in: db)
                try tail.append(alert.audit, db)
            }
            return outcome
        }
    }

    public func record(_ audit: AuditRecord) async throws {
        _ = try await committer.submit { db, tail in try tail.append(audit, db) }
    }

    public func auditHead() async throws -> (seq: Int64, hash: String) {
        let tail = try readNow { db in try AuditTail.load(db) }
        return (tail.seq, tail.hash)
    }

    public func saveSignedHead(_ head: SignedHead) async throws {
        try await writer.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO audit_head (seq, hash, time, signature, signer) VALUES (?, ?, ?, ?, ?)",
                           arguments: [head.seq, head.hash, head.timeMs, Data(head.signature), head.signer])
        }
    }

    public func saveSigner(fingerprint: String, certificate: String) async throws {
        try await writer.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO audit_signer (fingerprint, certificate) VALUES (?, ?)", arguments: [fingerprint, certificate])
        }
    }

    public func signers(_ fingerprints: Set<String>) async throws -> [String: String] {
        guard !fingerprints.isEmpty else { return [:] }
        return try readNow { db in
            let marks = Array(repeating: "?", count: fingerprints.count).joined(separator: ",")
            let rows = try Row.fetchAll(db, sql: "SELECT fingerprint, certificate FROM audit_signer WHERE fingerprint IN (\(marks))",
                                        arguments: StatementArguments(Array(fingerprints)))
            return Dictionary(rows.map { ($0[0], $0[1]) }, uniquingKeysWith: { first, _ in first })
        }
    }

    public func signedHeads(after seq: Int64, limit: Int) async throws -> [SignedHead] {
        try readNow { db in
            try Row.fetchAll(db, sql: "SELECT seq, hash, time, signature, signer FROM audit_head WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [seq, limit])
                .map(Self.signedHead(from:))
        }
    }

    public func latestSignedHead() async throws -> SignedHead? {
        try readNow { db in
            try Row.fetchOne(db, sql: "SELECT seq, hash, time, signature, signer FROM audit_head ORDER BY seq DESC LIMIT 1").map(Self.signedHead(from:))
        }
    }

    static func signedHead(from row: Row) -> SignedHead {
        let signature: Data = row[3]
        return SignedHead(seq: row[0], hash: row[1], timeMs: row[2], signature: Array(signature), signer: row[4])
    }

    public func auditEntries(matching query: AuditQuery) async throws -> [AuditEntry] {
        var clauses = ["seq > ?"]
        var arguments: StatementArguments = [query.after]
        if let actor = query.actor { clauses.append("actor = ?"); arguments += [actor.storable] }
        if let action = query.action { clauses.append("action = ?"); arguments += [action.storable] }
        if let unit = query.unit { clauses.append("unit = ?"); arguments += [unit.storable] }
        if let item = query.item { clauses.append("(',' || targets || ',') LIKE ?"); arguments += ["%," + item.storable + ",%"] }
        if let since = query.since { clauses.append("time >= ?"); arguments += [since.millisecondsSince1970] }
        if let until = query.until { clauses.append("time < ?"); arguments += [until.millisecondsSince1970] }
        let sql = "SELECT \(AuditRow.columns) FROM audit WHERE \(clauses.joined(separator: " AND ")) ORDER BY seq LIMIT \(max(1, query.limit))"
        let finalArguments = arguments
        return try readNow { db in try Row.fetchAll(db.cachedStatement(sql: sql), arguments: finalArguments).map(AuditRow.entry(from:)) }
    }

    /// One push inside the group's transaction.
    static func insert(_ item: Item, payload: StoredPayload, claim: IdempotencyClaim?, in db: Database) throws -> InsertOutcome {
        if let claim {
            let lookup = try db.cachedStatement(sql: "SELECT fingerprint, item_id FROM idempotency WHERE principal = ? AND key = ?")
            if let row = try Row.fetchOne(lookup, arguments: [claim.principal, claim.key]) {
                let itemID: String = row["item_id"]
                guard row["fingerprint"] == claim.fingerprint else { return .conflict(existingID: itemID) }
                guard let first = try fetchItem(id: itemID, in: db) else { throw StoreError.corrupt("idempotency key points to missing item \(itemID)") }
                return .replayed(first)
            }
        }
        // Cached statements: the SQL is parsed once per connection, not once per push.
        try db.cachedStatement(sql: """
            INSERT INTO item (id, kind, title, unit, persons, tags, classification, owner, pushed_by, content_type, sha256, size, created_at,
                              sealed_meta, meta_key, meta_key_version, answers, seal)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [item.id, item.kind, item.title, item.unit, StoredText.encode(list: item.persons), StoredText.encode(list: item.tags),
                        item.classification.rawValue, item.owner, item.pushedBy, item.contentType, item.sha256, item.size,
                        item.createdAt.millisecondsSince1970,
                        item.sealedMetadata.map { Data($0.ciphertext) }, item.sealedMetadata.map { Data($0.wrappedKey) },
                        item.sealedMetadata.map { Int64($0.keyVersion) }, item.answers, item.seal.map { Data($0) }])
        try db.cachedStatement(sql: "INSERT INTO payload (item_id, bytes, wrapped_key, key_version, chunks) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [item.id, Data(payload.bytes), payload.wrappedKey.map { Data($0) }, payload.keyVersion.map { Int64($0) }, payload.chunks])
        if let claim {
            try db.cachedStatement(sql: "INSERT INTO idempotency (principal, key, fingerprint, item_id) VALUES (?, ?, ?, ?)").execute(arguments: [claim.principal, claim.key, claim.fingerprint, item.id])
        }
        return .created(item)
    }

    static func fetchItem(id: String, in db: Database) throws -> Item? {
        try ItemRow.item(db.cachedStatement(sql: "SELECT \(ItemRow.columns) FROM item WHERE id = ?"), arguments: [id])
    }

    // Reads are synchronous on purpose: a point read takes microseconds, far less than the two
    // thread hops of GRDB's async read, which cost a quarter of the read rate in scripts/bench.
    // A read of one SELECT runs outside a transaction (no BEGIN/COMMIT per read): the only update
    // rows see (a rewrap of the data key) changes a wrapped key and its version together in one row,
    // so a statement's own snapshot is consistent enough. Reads of several statements take a snapshot.

    /// A synchronous read of one statement, without a transaction; from an async function the compiler would pick
    /// GRDB's async overload.
    func readNow<T>(_ body: (Database) throws -> T) throws -> T {
        // Not `readers?.read(body) ?? …`: optional chaining would flatten a nil result into a second read.
        guard let readers else { return try writer.unsafeRead(body) }
        return try readers.read(body)
    }

    /// A synchronous read of several statements in one snapshot (a read transaction), so that a commit between
    /// them cannot show half of it (a request without the items it was stored with, a grant without its items).
    func readSnapshot<T>(_ body: (Database) throws -> T) throws -> T {
        guard let readers else { return try writer.read(body) }
        return try readers.snapshot(body)
    }

    public func item(id: String) async throws -> Item? {
        try readNow { db in try Self.fetchItem(id: id.storable, in: db) }
    }

    public func payload(id: String) async throws -> StoredPayload? {
        try readNow { db in
            try ColumnCursor.first(db.cachedStatement(sql: "SELECT bytes, wrapped_key, key_version, chunks FROM payload WHERE item_id = ?"),
                                   arguments: [id.storable], decode: Self.payload(from:))
        }
    }

    public func payloads(ids: [String]) async throws -> [String: StoredPayload] {
        let wanted = ids.map(\.storable)
        return try readSnapshot { db in
            var found: [String: StoredPayload] = [:]
            try Self.select(ids: wanted, "SELECT bytes, wrapped_key, key_version, chunks, item_id FROM payload WHERE item_id IN", in: db) { statement, some in
                let pairs = try ColumnCursor.all(statement, arguments: some) { columns in
                    guard let id = columns.text(4) else { throw StoreError.corrupt("a payload row has no item id") }
                    return (id: id, payload: try Self.payload(from: columns))
                }
                for pair in pairs { found[pair.id] = pair.payload }
            }
            return found
        }
    }

    /// A payload from the columns bytes, wrapped_key, key_version and chunks, in that order.
    static func payload(from columns: Columns) throws -> StoredPayload {
        guard let bytes = columns.blob(0) else { throw StoreError.corrupt("a payload row has no bytes") }
        return StoredPayload(bytes: bytes, wrappedKey: columns.blob(1), keyVersion: try columns.keyVersion(2), chunks: columns.optionalInt64(3).map { Int($0) })
    }

    public func items(matching query: ItemQuery) async throws -> [Item] {
        var clauses: [String] = []
        var arguments: StatementArguments = []
        if let unit = query.unit { clauses.append("unit = ?"); arguments += [unit.storable] }
        if let kind = query.kind { clauses.append("kind = ?"); arguments += [kind.storable] }
        if let level = query.classification { clauses.append("classification = ?"); arguments += [level.rawValue] }
        if let owner = query.owner { clauses.append("owner = ?"); arguments += [owner.storable] }
        if let before = query.before { clauses.append("id < ?"); arguments += [before.storable] }
        let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        let sql = "SELECT \(ItemRow.columns) FROM item \(whereClause) ORDER BY id DESC LIMIT \(max(1, query.limit))"
        let finalArguments = arguments
        return try readNow { db in try ItemRow.items(db.cachedStatement(sql: sql), arguments: finalArguments) }
    }

    public func dataKeyCounts() async throws -> [UInt32: Int] {
        try readNow { db in
            let rows = try Row.fetchAll(db, sql: "SELECT key_version, count(*) FROM payload WHERE key_version IS NOT NULL GROUP BY key_version")
            return Dictionary(uniqueKeysWithValues: try rows.map { row in (try StoredPayload.keyVersion(stored: row[0]), row[1] as Int) })
        }
    }

    public func dataKeys(notUnder version: UInt32, limit: Int) async throws -> [StoredDataKey] {
        try readNow { db in
            try Row.fetchAll(db, sql: """
                SELECT item_id, wrapped_key, key_version FROM payload
                WHERE key_version IS NOT NULL AND key_version != ? LIMIT ?
                """, arguments: [Int64(version), limit]).map { row in
                let wrapped: Data = row[1]
                return StoredDataKey(itemID: row[0], version: try StoredPayload.keyVersion(stored: row[2]), wrappedKey: Array(wrapped))
            }
        }
    }

    public func replaceDataKeys(_ rewraps: [DataKeyRewrap]) async throws -> Int {
        try await writer.write { db in
            var replaced = 0
            for rewrap in rewraps {
                // Only a key still under the version it was read under: a concurrent rewrap is not undone.
                try db.cachedStatement(sql: "UPDATE payload SET wrapped_key = ?, key_version = ? WHERE item_id = ? AND key_version = ?")
                    .execute(arguments: [Data(rewrap.wrappedKey), Int64(rewrap.version), rewrap.itemID, Int64(rewrap.previousVersion)])
                guard db.changesCount == 1 else { continue }
                replaced += 1
                try db.cachedStatement(sql: "UPDATE item SET meta_key = ?, meta_key_version = ? WHERE id = ? AND meta_key_version = ?")
                    .execute(arguments: [Data(rewrap.wrappedKey), Int64(rewrap.version), rewrap.itemID, Int64(rewrap.previousVersion)])
            }
            return replaced
        }
    }
}
