import Foundation
import GRDB
import LiaisonCore
import LiaisonStore
import Testing

@Suite("SQLite store")
struct StoreTests {
    let audit = AuditRecord(time: Date(timeIntervalSince1970: 1_800_000_000), actor: "stationed-finance", action: "pushItem", outcome: "ok")

    func item(_ id: String, owner: String = "stationed-finance", unit: String = "finance-bureau", level: Classification = .general) -> Item {
        Item(id: id, kind: "report", title: "报告 \(id)", unit: unit, persons: ["张三"], tags: ["工程"], classification: level, owner: owner,
             pushedBy: owner, contentType: "text/plain", sha256: "00", size: 3, createdAt: Date(timeIntervalSince1970: 1_800_000_000.123))
    }

    @Test func acknowledgedWritesAreSynchronousFull() throws {
        let path = try Paths.temporaryDirectory("store") + "/db.sqlite"
        let store = try SQLiteStore(path: path)
        _ = store
        // A second connection sees WAL mode in the file itself.
        let queue = try DatabaseQueue(path: path)
        #expect(try queue.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal")
    }

    @Test func insertThenReadBackExactly() async throws {
        let store = try SQLiteStore(path: try Paths.temporaryDirectory("store") + "/db.sqlite")
        let original = item("01A")
        #expect(try await store.insert(original, payload: StoredPayload(bytes: [1, 2, 3], wrappedKey: nil, keyVersion: nil), claim: nil, audit: audit, events: []) == .created(original))
        #expect(try await store.item(id: "01A") == original)
        #expect(try await store.payload(id: "01A") == StoredPayload(bytes: [1, 2, 3], wrappedKey: nil, keyVersion: nil))
        #expect(try await store.item(id: "nope") == nil)
    }

    @Test func idempotencyClaimReplaysTheSameBodyAndRefusesAnother() async throws {
        let store = try SQLiteStore(path: try Paths.temporaryDirectory("store") + "/db.sqlite")
        let claim = IdempotencyClaim(principal: "stationed-finance", key: "k-1", fingerprint: "f1")
        let payload = StoredPayload(bytes: [9], wrappedKey: nil, keyVersion: nil)
        #expect(try await store.insert(item("01A"), payload: payload, claim: claim, audit: audit, events: []) == .created(item("01A")))
        #expect(try await store.insert(item("01B"), payload: payload, claim: claim, audit: audit, events: []) == .replayed(item("01A")))
        #expect(try await store.insert(item("01C"), payload: payload, claim: IdempotencyClaim(principal: "stationed-finance", key: "k-1", fingerprint: "f2"), audit: audit, events: [])
                == .conflict(existingID: "01A"))
        // The same key from another principal is another key.
        #expect(try await store.insert(item("01D"), payload: payload, claim: IdempotencyClaim(principal: "office-3", key: "k-1", fingerprint: "f2"), audit: audit, events: [])
                == .created(item("01D")))
        #expect(try await store.items(matching: ItemQuery(limit: 10)).map(\.id) == ["01D", "01A"])
    }

    /// Details are stored as JSON written by hand: quotes, backslashes, control characters and non-ASCII text come back exactly,
    /// and the stored text is JSON any reader can parse.
    @Test func auditDetailsSurviveTheirJSONText() async throws {
        let path = try Paths.temporaryDirectory("store") + "/db.sqlite"
        let store = try SQLiteStore(path: path)
        let detail = ["quote": "say \"hi\"", "back\\slash": "a\\b", "control": "tab\tbell\u{07}nl\n", "中文": "交通局 ✓", "empty": ""]
        try await store.record(AuditRecord(time: Date(timeIntervalSince1970: 1_800_000_000), actor: "li.na", action: "listAudit", outcome: "ok", detail: detail))
        try await store.record(AuditRecord(time: Date(timeIntervalSince1970: 1_800_000_001), actor: "li.na", action: "listAudit", outcome: "ok"))
        let entries = try await store.auditEntries(matching: AuditQuery())
        #expect(entries.map(\.record.detail) == [detail, [:]])
        let stored = try await DatabaseQueue(path: path).read { try String.fetchAll($0, sql: "SELECT detail FROM audit ORDER BY seq") }
        #expect(stored[1] == "{}")
        let parsed = try JSONSerialization.jsonObject(with: Data(stored[0].utf8)) as? [String: String]
        #expect(parsed == detail)
        #expect(stored[0].hasPrefix("{\"back\\\\slash\":\"a\\\\b\",\"control\":\"tab\\u0009bell\\u0007nl\\n\""))
    }

    @Test func concurrentInsertsAllCommitThroughTheGroupCommitter() async throws {
        let path = try Paths.temporaryDirectory("store") + "/db.sqlite"
        let store = try SQLiteStore(path: path)
        try await withThrowingTaskGroup(of: InsertOutcome.self) { group in
            for index in 0..<300 {
                group.addTask {
                    try await store.insert(self.item(String(format: "02%05d", index)), payload: StoredPayload(bytes: [UInt8(index % 256)], wrappedKey: nil, keyVersion: nil), claim: nil, audit: audit, events: [])
                }
            }
            var created = 0
            for try await outcome in group { if case .created = outcome { created += 1 } }
            #expect(created == 300)
        }
        let reopened = try SQLiteStore(path: path)
        #expect(try await reopened.items(matching: ItemQuery(limit: 1000)).count == 300)
        #expect(try await reopened.payload(id: "0200257")?.bytes == [1])
    }

    @Test func aFailingWriteDoesNotUndoTheOthersInItsBatch() async throws {
        let store = try SQLiteStore(path: try Paths.temporaryDirectory("store") + "/db.sqlite")
        let payload = StoredPayload(bytes: [1], wrappedKey: nil, keyVersion: nil)
        _ = try await store.insert(item("03A"), payload: payload, claim: nil, audit: audit, events: [])
        try await withThrowingTaskGroup(of: Bool.self) { group in
            // A duplicate id fails on the primary key; the other writes of the batch must land.
            group.addTask { (try? await store.insert(self.item("03A"), payload: payload, claim: nil, audit: audit, events: [])) != nil }
            for index in 0..<20 { group.addTask { (try? await store.insert(self.item("03B\(index)"), payload: payload, claim: nil, audit: audit, events: [])) != nil } }
            var succeeded = 0
            for try await ok in group where ok { succeeded += 1 }
            #expect(succeeded == 20)
        }
        #expect(try await store.items(matching: ItemQuery(limit: 100)).count == 21)
    }

    @Test func listingFiltersAndPagesNewestFirst() async throws {
        let store = try SQLiteStore(path: try Paths.temporaryDirectory("store") + "/db.sqlite")
        let payload = StoredPayload(bytes: [1], wrappedKey: nil, keyVersion: nil)
        for index in 0..<5 { _ = try await store.insert(item("04A\(index)", unit: "finance-bureau"), payload: payload, claim: nil, audit: audit, events: []) }
        for index in 0..<3 { _ = try await store.insert(item("04B\(index)", owner: "office-3", unit: "audit-bureau", level: .restricted), payload: payload, claim: nil, audit: audit, events: []) }
        #expect(try await store.items(matching: ItemQuery(unit: "audit-bureau")).map(\.id) == ["04B2", "04B1", "04B0"])
        #expect(try await store.items(matching: ItemQuery(classification: .general, limit: 2)).map(\.id) == ["04A4", "04A3"])
        #expect(try await store.items(matching: ItemQuery(classification: .general, before: "04A3", limit: 10)).map(\.id) == ["04A2", "04A1", "04A0"])
        #expect(try await store.items(matching: ItemQuery(owner: "office-3", limit: 1)).map(\.id) == ["04B2"])
    }
}
