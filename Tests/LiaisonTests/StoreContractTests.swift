import Foundation
import GRDB
import LiaisonCore
import LiaisonCrypto
import LiaisonPostgres
import LiaisonStore
import Synchronization
import Testing

/// The two stores, each on storage of its own for one test: a SQLite file, or a new database on the test cluster.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    var testDescription: String { rawValue }

    /// The store the end-to-end tests' hubs use: SQLite, or PostgreSQL when LIAISON_TEST_STORE=postgres
    /// (scripts/test runs the end-to-end suites a second time so).
    static var defaultForHubs: StoreKind {
        ProcessInfo.processInfo.environment["LIAISON_TEST_STORE"].flatMap(StoreKind.init(rawValue:)) ?? .sqlite
    }

    /// Runs `body` with a store on fresh storage.
    func with<T>(_ body: (StoreUnderTest) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            let path = try Paths.temporaryDirectory("store") + "/db.sqlite"
            let store = try SQLiteStore(path: path)
            // One SQLite file is served by one hub (the data folder's lock sees to it): its peer is itself.
            return try await body(StoreUnderTest(store: store, peer: { store }, reopen: { try SQLiteStore(path: path) },
                                                 edit: { sql in try await DatabaseQueue(path: path).write { try $0.execute(sql: sql) } }))
        case .postgres:
            let (store, database) = try await TestPostgres.shared.freshStore()
            let opened = OpenedStores()
            let open: @Sendable () async throws -> any HubStore = {
                let other = try await PostgresStore(configuration: try database.testConfiguration(), logger: TestPostgres.quietLogger)
                opened.add(other)
                return other
            }
            do {
                let result = try await body(StoreUnderTest(store: store, peer: open, reopen: open, edit: { sql in try await TestPostgres.shared.execute(sql, in: database) }))
                await opened.shutdown(also: store)
                return result
            } catch {
                await opened.shutdown(also: store)
                throw error
            }
        }
    }
}

extension Trait where Self == ConditionTrait {
    /// For end-to-end tests that open or edit the hub's SQLite file themselves (tampering with the trail, reading
    /// the file's bytes): they run when the hubs use SQLite, and are skipped in the PostgreSQL pass, whose
    /// tampering is tested against the store itself.
    static var sqliteFile: Self {
        .enabled(if: StoreKind.defaultForHubs == .sqlite, "opens the hub's SQLite file itself; this pass keeps the hubs' data in PostgreSQL")
    }
}

/// A store under test, and others on the same storage.
struct StoreUnderTest: Sendable {
    let store: any HubStore
    /// A second hub's store on the same data, used at the same time (PostgreSQL); the same store for SQLite.
    let peer: @Sendable () async throws -> any HubStore
    /// The storage opened again, as after a restart.
    let reopen: @Sendable () async throws -> any HubStore
    /// Runs SQL on the storage behind the store's back, as someone with access to the database could.
    let edit: @Sendable (String) async throws -> Void
}

/// PostgreSQL stores a test opened, shut down when it ends.
final class OpenedStores: Sendable {
    private let stores = Mutex<[PostgresStore]>([])
    func add(_ store: PostgresStore) { stores.withLock { $0.append(store) } }
    func shutdown(also store: PostgresStore) async {
        for other in stores.withLock({ $0 }) where other !== store { await other.shutdown() }
        await store.shutdown()
    }
}

/// What every store must do, run against SQLite and PostgreSQL alike.
@Suite("Store contract")
struct StoreContractTests {
    let audit = AuditRecord(time: Date(timeIntervalSince1970: 1_800_000_000), actor: "stationed-finance", action: "pushItem", outcome: "ok")
    let payload = StoredPayload(bytes: [1], wrappedKey: nil, keyVersion: nil)

    func item(_ id: String, owner: String = "stationed-finance", unit: String = "finance-bureau", level: Classification = .general, kind: String = "report") -> Item {
        Item(id: id, kind: kind, title: "报告 \(id)", unit: unit, persons: ["张三"], tags: ["工程"], classification: level, owner: owner,
             pushedBy: owner, contentType: "text/plain", sha256: "00", size: 3, createdAt: Date(timeIntervalSince1970: 1_800_000_000.123))
    }

    @Test(arguments: StoreKind.allCases)
    func insertThenReadBackExactly(_ kind: StoreKind) async throws {
        try await kind.with { storage in
            let store = storage.store
            var original = item("01A")
            original.seal = [7, 7, 7]
            original.answers = "00Z"
            #expect(try await store.insert(original, payload: StoredPayload(bytes: [1, 2, 3], wrappedKey: nil, keyVersion: nil), claim: nil, audit: audit, events: []) == .created(original))
            #expect(try await store.item(id: "01A") == original)
            #expect(try await store.payload(id: "01A") == StoredPayload(bytes: [1, 2, 3], wrappedKey: nil, keyVersion: nil))
            #expect(try await store.item(id: "nope") == nil)
            var sealed = item("01B", level: .confidential).with(title: "", persons: [], tags: [], sealedMetadata: SealedMetadata(ciphertext: [1, 2], wrappedKey: [3], keyVersion: 2))
            sealed.seal = [9]
            _ = try await store.insert(sealed, payload: StoredPayload(bytes: [4], wrappedKey: [5, 6], keyVersion: 2), claim: nil, audit: audit, events: [])
            #expect(try await store.item(id: "01B") == sealed)
            #expect(try await store.payload(id: "01B") == StoredPayload(bytes: [4], wrappedKey: [5, 6], keyVersion: 2))
            #expect(try await store.items(ids: ["01B", "nope", "01A"]).map(\.id) == ["01B", "01A"])
            #expect(try await store.rectifications(answering: ["00Z"]).map(\.id) == ["01A"])
            // A key version edited beyond any a ring can hold is a corrupt row: refused, not truncated or trapped on.
            try await storage.edit("UPDATE payload SET key_version = 4294967298 WHERE item_id = '01B'")
            await #expect(throws: StoreError.self) { try await store.payload(id: "01B") }
            try await storage.edit("UPDATE item SET meta_key_version = -1 WHERE id = '01B'")
            await #expect(throws: StoreError.self) { try await store.item(id: "01B") }
            #expect(try await store.item(id: "01A") == original)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func manyItemsAndTheirPayloadsReadByIDComeBackAsAsked(_ kind: StoreKind) async throws {
        try await kind.with { storage in
            let store = storage.store
            // More ids than one statement takes, stored together.
            let stored = (0..<1_234).map { item(String(format: "02%05d", $0)) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for one in stored {
                    // Each payload its own: plain bytes of the item's number, or (every third) a wrapped key and a chunk count.
                    let number = Int(one.id.dropFirst(2))!
                    let payload = number % 3 == 0 ? StoredPayload(bytes: [], wrappedKey: [UInt8(number % 256), 9], keyVersion: UInt32(number % 7 + 1), chunks: number % 5 + 1)
                                                  : StoredPayload(bytes: Array(String(number).utf8), wrappedKey: nil, keyVersion: nil)
                    group.addTask { _ = try await store.insert(one, payload: payload, claim: nil, audit: audit, events: []) }
                }
                try await group.waitForAll()
            }
            var random = SplitMix(state: 1_234)
            let asked = stored.map(\.id).shuffled(using: &random)
            #expect(try await store.items(ids: asked) == asked.map { id in stored.first { $0.id == id }! })
            // Payloads read together are each the one read alone; ids without one are left out.
            let payloads = try await store.payloads(ids: asked + ["nope"])
            #expect(payloads.count == stored.count)
            for id in asked.prefix(300) { #expect(try await store.payload(id: id) == payloads[id], "\(id)") }
            #expect(payloads[stored[7].id]?.bytes == Array("7".utf8) && payloads[stored[9].id]?.chunks == 5)
            #expect(try await store.payloads(ids: []).isEmpty)
            // Unknown ids are left out; an id asked twice comes twice.
            let some = [stored[700].id, "nope", stored[3].id, stored[700].id]
            #expect(try await store.items(ids: some).map(\.id) == [stored[700].id, stored[3].id, stored[700].id])
            #expect(try await store.items(ids: []).isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func idempotencyClaimReplaysTheSameBodyAndRefusesAnother(_ kind: StoreKind) async throws {
        try await kind.with { storage in
            let store = storage.store
            let claim = IdempotencyClaim(principal: "stationed-finance", key: "k-1", fingerprint: "f1")
            let (first, fourth) = (item("01A"), item("01D"))
            let outcomes = [
                try await store.insert(first, payload: payload, claim: claim, audit: audit, events: []),
                try await store.insert(item("01B"), payload: payload, claim: claim, audit: audit, events: []),
                try await store.insert(item("01C"), payload: payload, claim: IdempotencyClaim(principal: "stationed-finance", key: "k-1", fingerprint: "f2"), audit: audit, events: []),
                // The same key from another principal is another key.
                try await store.insert(fourth, payload: payload, claim: IdempotencyClaim(principal: "office-3", key: "k-1", fingerprint: "f2"), audit: audit, events: []),
            ]
            #expect(outcomes == [.created(first), .replayed(first), .conflict(existingID: "01A"), .created(fourth)])
            #expect(try await store.items(matching: ItemQuery(limit: 10)).map(\.id) == ["01D", "01A"])
            // Every attempt is traced as given, the replay and the conflict with the first item as their target.
            #expect(try await store.auditEntries(matching: AuditQuery()).map { "\($0.record.outcome) \($0.record.targets)" }
                    == ["ok []", "replayed [\"01A\"]", "refused [\"01A\"]", "ok []"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func theSameClaimOnTwoInstancesAtOnceStoresOneItem(_ kind: StoreKind) async throws {
        try await kind.with { storage in
            let store = storage.store
            let second = try await storage.peer()
            // Several rounds: which hub's batch takes the claim first, and whether the other had looked already, varies.
            let rounds = 6
            for round in 0..<rounds {
                let claim = IdempotencyClaim(principal: "stationed-finance", key: "retry-\(round)", fingerprint: "f")
                let outcomes = try await withThrowingTaskGroup(of: InsertOutcome.self) { group in
                    for index in 0..<8 {
                        let target = index % 2 == 0 ? store : second
                        group.addTask { try await target.insert(self.item("05\(round)\(index)"), payload: self.payload, claim: claim, audit: self.audit, events: []) }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                let created = outcomes.compactMap { if case .created(let item) = $0 { item.id } else { nil } }
                #expect(created.count == 1, "round \(round)")
                #expect(outcomes.allSatisfy { if case .replayed(let first) = $0 { first.id == created.first } else { true } }, "round \(round)")
            }
            #expect(try await second.items(matching: ItemQuery(limit: 100)).count == rounds)
        }
    }

    /// Details are stored as JSON written by hand: quotes, backslashes, control characters and non-ASCII text come back exactly.
    @Test(arguments: StoreKind.allCases)
    func auditDetailsSurviveTheirJSONText(_ kind: StoreKind) async throws {
        try await kind.with { storage in
            let store = storage.store
            let detail = ["quote": "say \"hi\"", "back\\slash": "a\\b", "control": "tab\tbell\u{07}nl\n", "中文": "交通局 ✓", "empty": ""]
            try await store.record(AuditRecord(time: Date(timeIntervalSince1970: 1_800_000_000), actor: "li.na", action: "listAudit", outcome: "ok", detail: detail))
            try await store.record(AuditRecord(time: Date(timeIntervalSince1970: 1_800_000_001), actor: "li.na\u{0}x", action: "listAudit", outcome: "ok"))
            let entries = try await store.auditEntries(matching: AuditQuery())
            #expect(entries.map(\.record.detail) == [detail, [:]])
            #expect(entries[1].record.actor == "li.na\u{FFFD}x", "NUL is recorded as U+FFFD, hashed and stored alike")
            var verifier = AuditVerifier(sha256: SHA256Digester().digest)
            try verifier.check(entries)
            let head = try await store.auditHead()
            #expect(head.seq == 2 && head.hash == entries[1].hash)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func theChainStaysOneAndGaplessUnderConcurrentWritesFromTwoInstances(_ kind: StoreKind) async throws {
        try await kind.with { storage in
            let store = storage.store
            let second = try await storage.peer()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<200 {
                    let target = index % 2 == 0 ? store : second
                    group.addTask {
                        if index % 3 == 0 {
                            try await target.record(AuditRecord(time: Date(), actor: "li.na", action: "listAudit", outcome: "ok", detail: ["n": String(index)]))
                        } else {
                            let events = [FeedEvent(principal: "office-3", kind: .itemReadable, time: Date(), item: String(format: "06%05d", index))]
                            _ = try await target.insert(self.item(String(format: "06%05d", index)), payload: self.payload, claim: nil, audit: self.audit, events: events)
                        }
                    }
                }
                try await group.waitForAll()
            }
            var entries: [AuditEntry] = []
            var after: Int64 = 0
            while true {
                let page = try await second.auditEntries(matching: AuditQuery(after: after, limit: 64))
                entries += page
                guard let last = page.last else { break }
                after = last.seq
            }
            #expect(entries.map(\.seq) == Array(1...200))
            var verifier = AuditVerifier(sha256: SHA256Digester().digest)
            try verifier.check(entries)
            try verifier.finish()
            // Feed cursors grow one by one, in commit order, whichever instance committed.
            let events = try await store.events(for: "office-3", after: 0, limit: 1000)
            #expect(events.count == 133)
            #expect(events.map(\.cursor) == Array(1...133))
            #expect(try await second.feedBounds().latest == 133)
        }
    }

    /// Two instances taking turns: on PostgreSQL each appends from where its own last commit left the chain, which
    /// the other has moved by then, so its batch runs again from the ends read under their lock.
    @Test(arguments: StoreKind.allCases)
    func instancesTakingTurnsKeepOneChainAndOneFeed(_ kind: StoreKind) async throws {
        try await kind.with { storage in
            let store = storage.store
            let second = try await storage.peer()
            for index in 0..<12 {
                let events = [FeedEvent(principal: "office-3", kind: .itemReadable, time: Date(), item: String(format: "0B%03d", index))]
                _ = try await (index % 2 == 0 ? store : second).insert(item(String(format: "0B%03d", index)), payload: payload, claim: nil, audit: audit, events: events)
            }
            let entries = try await store.auditEntries(matching: AuditQuery(limit: 100))
            #expect(entries.map(\.seq) == Array(1...12))
            var verifier = AuditVerifier(sha256: SHA256Digester().digest)
            try verifier.check(entries)
            try verifier.finish()
            #expect(try await second.events(for: "office-3", after: 0, limit: 100).map(\.cursor) == Array(1...12))
        }
    }

    /// The chain's end moved back behind a hub's back (as when a database is restored from a backup while a hub
    /// runs): the hub's next batch does not append from where its last commit left it, which would leave a gap.
    @Test func aChainEndMovedBehindTheHubsBackIsReadAgain() async throws {
        try await StoreKind.postgres.with { storage in
            let store = storage.store
            for index in 0..<3 { _ = try await store.insert(item("0C\(index)"), payload: payload, claim: nil, audit: audit, events: []) }
            try await storage.edit("DELETE FROM audit WHERE seq = 3")
            try await storage.edit("UPDATE audit_tail SET seq = 2, hash = (SELECT hash FROM audit WHERE seq = 2) WHERE id = 1")
            _ = try await store.insert(item("0C3"), payload: payload, claim: nil, audit: audit, events: [])
            let entries = try await store.auditEntries(matching: AuditQuery(limit: 100))
            #expect(entries.map(\.seq) == [1, 2, 3])
            var verifier = AuditVerifier(sha256: SHA256Digester().digest)
            try verifier.check(entries)
            try verifier.finish()
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentInsertsAllCommitAndSurviveAReopen(_ kind: StoreKind) async throws {
        try await kind.with { storage in
            let store = storage.store
            try await withThrowingTaskGroup(of: InsertOutcome.self) { group in
                for index in 0..<300 {
                    group.addTask {
                        try await store.insert(self.item(String(format: "02%05d", index)), payload: StoredPayload(bytes: [UInt8(index % 256)], wrappedKey: nil, keyVersion: nil),
                                               claim: nil, audit: self.audit, events: [])
                    }
                }
                var created = 0
                for try await outcome in group { if case .created = outcome { created += 1 } }
                #expect(created == 300)
            }
            let reopened = try await storage.reopen()
            #expect(try await reopened.items(matching: ItemQuery(limit: 1000)).count == 300)
            #expect(try await reopened.payload(id: "0200257")?.bytes == [1])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aFailingWriteDoesNotUndoTheOthers(_ kind: StoreKind) async throws {
        try await kind.with { storage in
            let store = storage.store
            let batches = Mutex<[Int]>([])
            try #require(store as? any CommitObservable).observeCommits { writes, _ in batches.withLock { $0.append(writes) } }
            _ = try await store.insert(item("03A"), payload: payload, claim: nil, audit: audit, events: [])
            try await withThrowingTaskGroup(of: Bool.self) { group in
                // A duplicate id fails on the primary key; the other writes must land.
                group.addTask { (try? await store.insert(self.item("03A"), payload: self.payload, claim: nil, audit: self.audit, events: [])) != nil }
                for index in 0..<20 { group.addTask { (try? await store.insert(self.item("03B\(index)"), payload: self.payload, claim: nil, audit: self.audit, events: [])) != nil } }
                var succeeded = 0
                for try await ok in group where ok { succeeded += 1 }
                #expect(succeeded == 20)
            }
            #expect(try await store.items(matching: ItemQuery(limit: 100)).count == 21)
            #expect(try await store.auditHead().seq == 21, "the failed write left no entry")
            // The concurrent writes were batched (fewer commits than writes), so the failure was undone inside a batch.
            let observed = batches.withLock { $0 }
            #expect(observed.reduce(0, +) == 22)
            #expect(observed.count < 22, "batch sizes \(observed)")
        }
    }

    /// The commit observer (the hub's metrics) is called at the same depth after hundreds of commits. Kept in a `Mutex`
    /// as a bare closure, it gained two reabstraction thunks at every `withLock`, so each call went through one more
    /// pair than the last: a hub serving metrics slowed by half within 35,000 commits, and died when its writer's
    /// stack overflowed, after about 100,000.
    @Test(arguments: StoreKind.allCases)
    func theCommitObserverIsCalledAtTheSameDepthOnEveryCommit(_ kind: StoreKind) async throws {
        try await kind.with { storage in
            let store = storage.store
            let depths = Mutex<[Int]>([])
            try #require(store as? any CommitObservable).observeCommits { _, _ in
                let depth = Thread.callStackReturnAddresses.count  // at most 128 frames: enough to see 600 more
                depths.withLock { $0.append(depth) }
            }
            for _ in 0..<300 { try await store.record(audit) }
            let observed = depths.withLock { $0 }
            #expect(observed.count == 300)
            let growth = (observed.max() ?? 0) - (observed.min() ?? 0)
            #expect(growth < 20, "stack depth of the observer's calls went from \(observed.first ?? 0) to \(observed.last ?? 0)")
        }
    }

    /// Concurrent pushes share a transaction, and on PostgreSQL their rows go in together, a few statements for the
    /// whole batch: every field of every shape of push comes back as it went in, large inline payloads (which go
    /// in statements of their own) and small, sealed and plain, claimed and marked.
    @Test(arguments: StoreKind.allCases)
    func concurrentPushesOfEveryShapeComeBackExactly(_ kind: StoreKind) async throws {
        try await kind.with { storage in
            let store = storage.store
            let pushes = (0..<24).map { index in
                var pushed = item(String(format: "07%03d", index))
                if index % 4 == 1 { pushed.seal = [UInt8(index), 1] }
                if index % 5 == 2 { pushed.answers = "00Z" }
                if index % 3 == 0 {
                    pushed = pushed.with(title: "", persons: [], tags: [], sealedMetadata: SealedMetadata(ciphertext: [UInt8(index), 2], wrappedKey: [3], keyVersion: 0))
                }
                let size = index % 6 == 5 ? 5 << 20 : index % 7 == 3 ? 0 : index + 1
                let payload = StoredPayload(bytes: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) },
                                            wrappedKey: index % 3 == 0 ? [UInt8(index), 4] : nil, keyVersion: index % 3 == 0 ? 0 : nil,
                                            chunks: index % 7 == 3 ? 2 : nil)
                let claim = index % 8 == 0 ? IdempotencyClaim(principal: "stationed-finance", key: "k\(index)", fingerprint: "f\(index)") : nil
                let marks = index % 4 == 3 ? [] : ["m\(index % 3)", "shared", "shared"]
                return (item: pushed, payload: payload, claim: claim, marks: marks)
            }
            let outcomes = try await withThrowingTaskGroup(of: InsertOutcome.self) { group in
                for push in pushes {
                    group.addTask {
                        try await store.insert(push.item, payload: push.payload, claim: push.claim, audit: self.audit, events: [], marks: push.marks, watch: nil)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(Set(outcomes.map { if case .created(let item) = $0 { item.id } else { "" } }) == Set(pushes.map(\.item.id)))
            for push in pushes {
                #expect(try await store.item(id: push.item.id) == push.item)
                #expect(try await store.payload(id: push.item.id) == push.payload, "payload of \(push.item.id)")
                #expect(try await store.marks(of: push.item.id) == Set(push.marks).sorted())
                if let claim = push.claim {
                    let again = try await store.insert(item("08A"), payload: payload, claim: claim, audit: audit, events: [], marks: [], watch: nil)
                    #expect(again == .replayed(push.item))
                }
            }
            #expect(try await store.auditHead().seq == 24 + 3)
        }
    }

    /// Pruning reads the feed from its oldest cursor a window at a time (`FeedPruning`): a backlog of old events
    /// longer than a window goes entirely, and what is younger stays.
    @Test(arguments: StoreKind.allCases)
    func pruningAFeedLongerThanItsWindowTakesEveryOldEvent(_ kind: StoreKind) async throws {
        try await kind.with { storage in
            let store = storage.store
            let old = Date(timeIntervalSince1970: 1_800_000_000)
            let backlog = FeedPruning.window * 2 + 500
            let events = (0..<backlog).map { FeedEvent(principal: "office-3", kind: .itemReadable, time: old.addingTimeInterval(Double($0) / 1000), item: "0AA") }
            _ = try await store.insert(item("0AA"), payload: payload, claim: nil, audit: audit, events: events)
            let young = [FeedEvent(principal: "office-3", kind: .itemReadable, time: old.addingTimeInterval(86_400), item: "0AB")]
            _ = try await store.insert(item("0AB"), payload: payload, claim: nil, audit: audit, events: young)
            #expect(try await store.pruneEvents(before: old.addingTimeInterval(3_600)) == backlog)
            #expect(try await store.feedBounds().horizon == Int64(backlog))
            #expect(try await store.events(for: "office-3", after: 0, limit: 10).map(\.cursor) == [Int64(backlog) + 1])
            #expect(try await store.pruneEvents(before: old.addingTimeInterval(3_600)) == 0)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func listingFiltersAndPagesNewestFirst(_ kind: StoreKind) async throws {
        try await kind.with { storage in
            let store = storage.store
            for index in 0..<5 { _ = try await store.insert(item("04A\(index)", unit: "finance-bureau"), payload: payload, claim: nil, audit: audit, events: []) }
            for index in 0..<3 { _ = try await store.insert(item("04B\(index)", owner: "office-3", unit: "audit-bureau", level: .restricted), payload: payload, claim: nil, audit: audit, events: []) }
            #expect(try await store.items(matching: ItemQuery(unit: "audit-bureau")).map(\.id) == ["04B2", "04B1", "04B0"])
            #expect(try await store.items(matching: ItemQuery(classification: .general, limit: 2)).map(\.id) == ["04A4", "04A3"])
            #expect(try await store.items(matching: ItemQuery(classification: .general, before: "04A3", limit: 10)).map(\.id) == ["04A2", "04A1", "04A0"])
            #expect(try await store.items(matching: ItemQuery(owner: "office-3", limit: 1)).map(\.id) == ["04B2"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aRequestOfThousandsOfItemsKeepsThemInOrderAndItsGrantCoversThemAll(_ kind: StoreKind) async throws {
        try await kind.with { storage in
            let store = storage.store
            // As many as a dossier's request of a large unit names, in no sorted order.
            var random = SplitMix(state: 6_500)
            let ids = (0..<6_500).map { String(format: "03%05d", $0) }.shuffled(using: &random)
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let subjects = [SubjectCount(subject: ItemSubject(owner: "office-3", unit: "finance-bureau", classification: .restricted, kind: "report"), items: 6_000),
                            SubjectCount(subject: ItemSubject(owner: "stationed-finance", unit: "finance-bureau", classification: .confidential), items: 500)]
            let request = AccessRequest(id: "R9", requester: "inspection-2", agency: "inspection-2", reason: "dossier", itemIDs: ids, unit: nil,
                                        duration: Period(seconds: 3600), createdAt: now, expiresAt: now.addingTimeInterval(86_400), subjects: subjects)
            try await store.insertRequest(request, audit: audit, events: [])
            #expect(try await store.request(id: "R9") == request)
            #expect(try await store.requests(matching: RequestQuery(agency: "inspection-2", limit: 5)) == [request])
            // Subjects edited into fields that are not five to a subject, or a count that is no number, are a corrupt row.
            for garbled in [#"["office-3","finance-bureau","restricted","report"]"#, #"["office-3","finance-bureau","restricted","report","many"]"#,
                            #"["office-3","finance-bureau","secret","report","1"]"#] {
                try await storage.edit("UPDATE access_request SET subjects = '\(garbled)' WHERE id = 'R9'")
                await #expect(throws: StoreError.self, "\(garbled)") { try await store.request(id: "R9") }
            }
            try await storage.edit("UPDATE access_request SET subjects = '\(StoredText.encode(subjects: subjects))' WHERE id = 'R9'")
            #expect(try await store.request(id: "R9") == request)
            #expect(try await storage.peer().request(id: "R9")?.itemIDs == ids)
            // Approved: the grant covers every one of them.
            let review = Review(requestID: "R9", reviewer: "chen.jie", agency: "commission", decision: .approve, comment: "同意", time: now)
            _ = try await store.review(review) { _, _ in
                ReviewResolution(decision: .approved, grant: Grant(id: "G9", requestID: "R9", agency: "inspection-2", itemIDs: ids, createdAt: now,
                                                                   expiresAt: now.addingTimeInterval(3600)), audit: [self.audit], events: [])
            }
            #expect(try await store.grant(id: "G9")?.itemIDs.sorted() == ids.sorted())
            #expect(Set(try await storage.peer().grantedItems(agency: "inspection-2", at: now)) == Set(ids))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func grantedItemsAmongThoseAskedAboutAreFoundWhetherTheAgencyHoldsFewOrMany(_ kind: StoreKind) async throws {
        try await kind.with { storage in
            let store = storage.store
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            func grant(_ id: String, to agency: String, _ items: [String], expiresAt: Date) async throws {
                try await store.insertRequest(AccessRequest(id: "R-\(id)", requester: agency, agency: agency, reason: "r", itemIDs: items, unit: nil, duration: Period(seconds: 3600),
                                                            createdAt: now.addingTimeInterval(-7200), expiresAt: now.addingTimeInterval(86_400)), audit: audit, events: [])
                let review = Review(requestID: "R-\(id)", reviewer: "chen.jie", agency: "commission", decision: .approve, comment: "同意", time: now.addingTimeInterval(-7200))
                _ = try await store.review(review) { _, _ in
                    ReviewResolution(decision: .approved, grant: Grant(id: id, requestID: "R-\(id)", agency: agency, itemIDs: items, createdAt: now.addingTimeInterval(-7200),
                                                                       expiresAt: expiresAt), audit: [self.audit], events: [])
                }
            }
            let held = (0..<300).map { String(format: "05%03d", $0) }
            try await grant("G1", to: "inspection-2", held, expiresAt: now.addingTimeInterval(3600))
            try await grant("G2", to: "inspection-2", ["06A"], expiresAt: now.addingTimeInterval(-1))
            try await grant("G3", to: "inspection-2", ["06B"], expiresAt: now.addingTimeInterval(3600))
            #expect(try await store.revokeGrant(id: "G3", by: "chen.jie", at: now.addingTimeInterval(-60), audit: audit, events: []))
            // Fewer asked about than held: those asked are looked up.
            #expect(try await store.grantedItems(agency: "inspection-2", among: ["05007", "06A", "06B", "05299", "07Z"], at: now) == ["05007", "05299"])
            // More asked about than held: all held are read, and only those asked about are answered.
            let many = held.dropFirst(10) + ["06A", "06B"] + (0..<100).map { "08\($0)" }
            #expect(try await store.grantedItems(agency: "inspection-2", among: Array(many), at: now) == Set(held.dropFirst(10)))
            #expect(try await store.grantedItems(agency: "inspection-2", among: [], at: now) == [])
            #expect(try await storage.peer().grantedItems(agency: "office-3", among: ["05007"], at: now) == [])
            // Once the live grant has expired, nothing is.
            #expect(try await store.grantedItems(agency: "inspection-2", among: ["05007"], at: now.addingTimeInterval(3600)) == [])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func itemListsKeptAsRowsBeforeAreCarriedOntoTheirRequestOrDossier(_ kind: StoreKind) async throws {
        try await kind.with { storage in
            let store = storage.store
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            for (id, items) in [("R1", ["03C", "03A", "03B"]), ("R2", ["03D"])] {
                try await store.insertRequest(AccessRequest(id: id, requester: "inspection-2", agency: "inspection-2", reason: "r", itemIDs: items, unit: nil,
                                                            duration: Period(seconds: 3600), createdAt: now, expiresAt: now.addingTimeInterval(86_400)), audit: audit, events: [])
            }
            try await store.insertDossier(Dossier(id: "D1", unit: "finance-bureau", agency: "inspection-2", requester: "inspection-2", reason: "r", requestID: "R1",
                                                  itemIDs: ["03B", "03C", "03A", "03E"], createdAt: now), audit: audit)
            // The storage as a hub before the lists moved left it: a row per item, in no order but their positions'.
            let forgetMigration = kind == .sqlite ? "DELETE FROM grdb_migrations WHERE identifier = 'v15: item lists kept on their request or dossier'"
                                                  : "DELETE FROM liaison_migration WHERE version = 9"
            for statement in [
                """
                CREATE TABLE request_item (request_id TEXT NOT NULL REFERENCES access_request(id), item_id TEXT NOT NULL, position INTEGER NOT NULL,
                                           PRIMARY KEY (request_id, item_id))
                """,
                """
                CREATE TABLE dossier_item (dossier_id TEXT NOT NULL REFERENCES dossier(id), item_id TEXT NOT NULL, position INTEGER NOT NULL,
                                           PRIMARY KEY (dossier_id, item_id))
                """,
                "INSERT INTO request_item (request_id, item_id, position) VALUES ('R1', '03B', 2), ('R2', '03D', 0), ('R1', '03C', 0), ('R1', '03A', 1)",
                "INSERT INTO dossier_item (dossier_id, item_id, position) VALUES ('D1', '03E', 3), ('D1', '03A', 2), ('D1', '03B', 0), ('D1', '03C', 1)",
                "ALTER TABLE access_request DROP COLUMN item_ids",
                "ALTER TABLE dossier DROP COLUMN item_ids",
                forgetMigration,
            ] { try await storage.edit(statement) }
            let upgraded = try await storage.reopen()
            #expect(try await upgraded.request(id: "R1")?.itemIDs == ["03C", "03A", "03B"])
            #expect(try await upgraded.request(id: "R2")?.itemIDs == ["03D"])
            #expect(try await upgraded.requests(matching: RequestQuery(agency: "inspection-2", limit: 10)).map(\.itemIDs) == [["03D"], ["03C", "03A", "03B"]])
            #expect(try await upgraded.dossier(id: "D1")?.itemIDs == ["03B", "03C", "03A", "03E"])
            // A list edited into something else is a corrupt row, not an empty list.
            try await storage.edit("UPDATE access_request SET item_ids = '[\"03C\", 7]' WHERE id = 'R2'")
            try await storage.edit("UPDATE dossier SET item_ids = 'not a list' WHERE id = 'D1'")
            await #expect(throws: StoreError.self) { try await upgraded.request(id: "R2") }
            await #expect(throws: StoreError.self) { try await upgraded.dossier(id: "D1") }
            #expect(try await upgraded.request(id: "R1")?.itemIDs == ["03C", "03A", "03B"])
            // The rows are gone with their tables.
            await #expect(throws: (any Error).self) { try await storage.edit("SELECT * FROM request_item") }
            await #expect(throws: (any Error).self) { try await storage.edit("SELECT * FROM dossier_item") }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func twoApproversOnTwoInstancesYieldOneDecisionAndOneGrant(_ kind: StoreKind) async throws {
        try await kind.with { storage in
            let store = storage.store
            let second = try await storage.peer()
            _ = try await store.insert(item("07A"), payload: payload, claim: nil, audit: audit, events: [])
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let request = AccessRequest(id: "R1", requester: "zhang.wei", agency: "office-3", reason: "r", itemIDs: ["07A"], unit: nil, duration: Period(seconds: 3600),
                                        createdAt: now, expiresAt: now.addingTimeInterval(86_400))
            try await store.insertRequest(request, audit: audit, events: [FeedEvent(principal: "wang.fang", kind: .requestAwaitingReview, time: now, request: "R1")])
            #expect(try await second.openRequestCount(at: now) == 1)
            let resolutions = try await withThrowingTaskGroup(of: ReviewResolution?.self) { group in
                for (index, reviewer) in ["wang.fang", "chen.jie"].enumerated() {
                    let target = index == 0 ? store : second
                    group.addTask {
                        let review = Review(requestID: "R1", reviewer: reviewer, agency: "stationed-finance", decision: .approve, comment: "ok", time: now)
                        return try? await target.review(review) { current, earlier in
                            // One approval decides: whoever comes second finds the request decided and refuses.
                            guard current.decision == .pending, earlier.isEmpty else { throw StoreError.corrupt("already decided") }
                            let grant = Grant(id: "G-\(reviewer)", requestID: "R1", agency: "office-3", itemIDs: ["07A"], createdAt: now, expiresAt: now.addingTimeInterval(3600))
                            return ReviewResolution(decision: .approved, grant: grant, audit: [self.audit], events: [])
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(resolutions.compactMap { $0 }.count == 1)
            let grants = try await store.grants(matching: GrantQuery(limit: 10))
            #expect(grants.count == 1)
            #expect(try await store.request(id: "R1")?.decision == .approved)
            #expect(try await store.reviews(requestID: "R1").count == 1)
            #expect(try await second.grantedItems(agency: "office-3", at: now) == ["07A"])
            #expect(try await second.hasLiveGrant(agency: "office-3", item: "07A", at: now))
            #expect(try await second.liveGrantCount(at: now) == 1)
            #expect(try await second.openRequestCount(at: now) == 0)
            let id = try #require(grants.first?.id)
            #expect(try await store.revokeGrant(id: id, by: "wang.fang", at: now, audit: audit, events: []))
            #expect(try await second.revokeGrant(id: id, by: "chen.jie", at: now, audit: audit, events: []) == false, "revoked once")
            #expect(try await second.hasLiveGrant(agency: "office-3", item: "07A", at: now) == false)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func leadsMoveOnlyFromTheStateTheMoverSaw(_ kind: StoreKind) async throws {
        try await kind.with { storage in
            let store = storage.store
            let second = try await storage.peer()
            let lead = item("08A", kind: "lead")
            _ = try await store.insert(lead, payload: payload, claim: nil, audit: audit, events: [])
            let fresh = Lead.fresh(lead)
            let now = Date(timeIntervalSince1970: 1_800_000_100)
            let moves = try await withThrowingTaskGroup(of: Bool.self) { group in
                for (index, holder) in ["office-3", "office-5"].enumerated() {
                    let target = index == 0 ? store : second
                    group.addTask {
                        let moved = Lead(itemID: "08A", owner: fresh.owner, holder: holder, status: .handedOver, disposition: nil, updatedAt: now, updatedBy: "x")
                        return try await target.moveLead(moved, from: fresh, audit: self.audit, events: [])
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(moves.filter { $0 }.count == 1)
            let current = try #require(try await second.lead(itemID: "08A"))
            #expect(current.status == .handedOver)
            #expect(try await store.leadsHeld(by: current.holder) == ["08A"])
            #expect(try await store.leads(concerning: "stationed-finance").map(\.0.id) == ["08A"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func dossiersFeedsAndDataKeysRoundTrip(_ kind: StoreKind) async throws {
        try await kind.with { storage in
            let store = storage.store
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            for index in 0..<3 {
                _ = try await store.insert(item("09A\(index)", level: .confidential), payload: StoredPayload(bytes: [1], wrappedKey: [UInt8(index)], keyVersion: 1), claim: nil, audit: audit,
                                           events: [FeedEvent(principal: "office-3", kind: .itemReadable, time: now.addingTimeInterval(Double(index) * 100), item: "09A\(index)")])
            }
            let dossier = Dossier(id: "D1", unit: "finance-bureau", agency: "inspection-2", requester: "inspection-2", reason: "第二轮", requestID: nil,
                                  itemIDs: ["09A2", "09A0", "09A1"], createdAt: now)
            try await store.insertDossier(dossier, audit: audit)
            #expect(try await store.dossier(id: "D1") == dossier)
            #expect(try await store.dossier(id: "D2") == nil)

            #expect(try await store.dataKeyCounts() == [1: 3])
            let stale = try await store.dataKeys(notUnder: 2, limit: 10)
            #expect(Set(stale.map(\.itemID)) == ["09A0", "09A1", "09A2"])
            let rewraps = stale.map { DataKeyRewrap(itemID: $0.itemID, previousVersion: 1, version: 2, wrappedKey: [9]) }
            #expect(try await store.replaceDataKeys(rewraps) == 3)
            #expect(try await store.replaceDataKeys(rewraps) == 0, "a key no longer under its previous version is left alone")
            #expect(try await store.dataKeyCounts() == [2: 3])
            #expect(try await store.payload(id: "09A1")?.wrappedKey == [9])
            // A key version no ring has (only an edit of the database puts one there) is a damaged row, refused, never trapped on.
            try await storage.edit("UPDATE payload SET key_version = 4294967298 WHERE item_id = '09A0'")
            await #expect(throws: StoreError.self) { try await store.dataKeyCounts() }
            await #expect(throws: StoreError.self) { try await store.dataKeys(notUnder: 2, limit: 10) }

            #expect(try await store.events(for: "office-3", after: 1, limit: 10).map(\.event.item) == ["09A1", "09A2"])
            #expect(try await store.pruneEvents(before: now.addingTimeInterval(150)) == 2)
            #expect(try await store.feedBounds().horizon == 2)
            #expect(try await store.events(for: "office-3", after: 0, limit: 10).map(\.cursor) == [3])
            #expect(try await store.feedBounds().latest == 3)
            #expect(try await store.feedBounds() == (horizon: 2, latest: 3))
            // A page as a long-poll reads it: the end, the reader's own events and those stored for every reader.
            let shared = FeedEvent(principal: FeedEvent.everyReader, kind: .itemReadable, time: now, item: "09A3")
            _ = try await store.insert(item("09A3"), payload: payload, claim: nil, audit: audit, events: [shared, shared, shared])
            let slice = try await store.feedSlice(for: "office-3", after: 2, limit: 10, sharedLimit: 2)
            #expect(slice.latest == 6)
            #expect(slice.own.map(\.cursor) == [3] && slice.own.first?.event.item == "09A2")
            #expect(slice.shared == [StoredFeedEvent(cursor: 4, event: shared), StoredFeedEvent(cursor: 5, event: shared)])
            #expect(try await store.feedSlice(for: "office-3", after: 6, limit: 10, sharedLimit: 10) == FeedSlice(latest: 6, own: [], shared: []))

            let head = SignedHead(seq: 3, hash: "h", timeMs: 5, signature: [1, 2])
            try await store.saveSignedHead(head)
            try await store.saveSignedHead(head)
            #expect(try await store.latestSignedHead() == head)
            #expect(try await store.signedHeads(after: 0, limit: 10) == [head])
            // A head names the certificate that signed it; the certificate is kept once.
            let signed = SignedHead(seq: 4, hash: "h4", timeMs: 6, signature: [3], signer: "f1")
            try await store.saveSigner(fingerprint: "f1", certificate: "PEM 1")
            try await store.saveSigner(fingerprint: "f1", certificate: "PEM other")
            try await store.saveSignedHead(signed)
            #expect(try await store.signedHeads(after: 0, limit: 10) == [head, signed])
            #expect(try await store.latestSignedHead() == signed)
            #expect(try await store.signers(["f1", "f2"]) == ["f1": "PEM 1"])
            #expect(try await store.signers([]) == [:])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anEntryEditedInTheDatabaseIsCaughtByTheVerifier(_ kind: StoreKind) async throws {
        try await kind.with { storage in
            let store = storage.store
            for index in 1...5 { try await store.record(AuditRecord(time: Date(), actor: "li.na", action: "listAudit", outcome: "ok", detail: ["n": String(index)])) }
            try await storage.edit("UPDATE audit SET actor = 'someone-else' WHERE seq = 3")
            var verifier = AuditVerifier(sha256: SHA256Digester().digest)
            let entries = try await store.auditEntries(matching: AuditQuery())
            #expect(throws: AuditVerifier.Failure.alteredEntry(seq: 3)) { try verifier.check(entries) }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func lookupsWithNULFindNothingAndFailNothing(_ kind: StoreKind) async throws {
        try await kind.with { storage in
            let store = storage.store
            _ = try await store.insert(item("10A"), payload: payload, claim: nil, audit: audit, events: [])
            #expect(try await store.item(id: "10A\u{0}") == nil)
            #expect(try await store.payload(id: "1\u{0}0A") == nil)
            #expect(try await store.items(matching: ItemQuery(unit: "finance\u{0}bureau")).isEmpty)
            #expect(try await store.items(ids: ["10A", "x\u{0}"]).map(\.id) == ["10A"])
            #expect(try await store.request(id: "R\u{0}") == nil)
            #expect(try await store.auditEntries(matching: AuditQuery(actor: "li\u{0}na")).isEmpty)
        }
    }
}

extension ItemStore {
    /// Stores an item without blind-index marks (the contract tests' items are not correlated).
    func insert(_ item: Item, payload: StoredPayload, claim: IdempotencyClaim?, audit: AuditRecord, events: [FeedEvent]) async throws -> InsertOutcome {
        try await insert(item, payload: payload, claim: claim, audit: audit, events: events, marks: [], watch: nil)
    }
}
