import Foundation
import Synchronization
import GRDB
import LiaisonCore
@testable import LiaisonStore
import Testing

@Suite("SQLite store")
struct StoreTests {
    let audit = AuditRecord(time: Date(timeIntervalSince1970: 1_800_000_000), actor: "stationed-finance", action: "pushItem", outcome: "ok")

    func item(_ id: String, owner: String = "stationed-finance", unit: String = "finance-bureau", level: Classification = .general) -> Item {
        Item(id: id, kind: "report", title: "报告 \(id)", unit: unit, persons: ["张三"], tags: ["工程"], classification: level, owner: owner,
             pushedBy: owner, contentType: "text/plain", sha256: "00", size: 3, createdAt: Date(timeIntervalSince1970: 1_800_000_000.123))
    }

    /// The compact trail SQLite writes straight from its rows is, byte for byte, the one built from the entries it
    /// reads back: for awkward text, a unit empty or missing, and details written by other JSON writers or broken.
    @Test func theCompactTrailFromRowsIsTheOneBuiltFromEntries() async throws {
        let path = try Paths.temporaryDirectory("store") + "/db.sqlite"
        let store = try SQLiteStore(path: path)
        let awkward = ["line\nbreak", "back\\slash", "and&equals=", "引号\"", "tab\tcr\r", "😀", "\u{7f}"]
        for (index, text) in awkward.enumerated() {
            try await store.record(AuditRecord(time: Date(timeIntervalSince1970: 1_800_000_000 + Double(index)), actor: "actor " + text, action: "getItem",
                                               targets: ["a,b", text], unit: index % 3 == 0 ? nil : (index % 3 == 1 ? "" : text), outcome: "ok",
                                               detail: [text: text, "z": "1", "a=&": "\\n"]))
        }
        try await store.record(AuditRecord(time: Date(timeIntervalSince1970: 1_800_000_100), actor: "x", action: "listItems", outcome: "ok"))
        // Details as other writers wrote them: keys out of order with escaped slashes, a repeated key, and no JSON at all.
        try await DatabaseQueue(path: path).write { db in
            try db.execute(sql: #"UPDATE audit SET detail = '{"z":"a\/b","b":"\u00e9\ud83d\ude00","a":"1"}' WHERE seq = 2"#)
            try db.execute(sql: #"UPDATE audit SET detail = '{"k":"first","k":"last"}' WHERE seq = 3"#)
            try db.execute(sql: "UPDATE audit SET detail = 'not json' WHERE seq = 4")
        }
        let entries = try await store.auditEntries(matching: AuditQuery(limit: 100))
        #expect(entries.count == awkward.count + 1)
        var expected: [UInt8] = []
        for entry in entries { AuditChainText.append(entry, to: &expected) }
        let (text, count) = try await store.auditChain(after: 0, limit: 100)
        #expect(count == entries.count && text == expected, "\(String(decoding: text, as: UTF8.self))")
        let (tail, tailCount) = try await store.auditChain(after: 5, limit: 2)
        var expectedTail: [UInt8] = []
        for entry in entries[5..<7] { AuditChainText.append(entry, to: &expectedTail) }
        #expect(tailCount == 2 && tail == expectedTail)
        #expect(entries[2].record.detail == ["k": "last"] && entries[3].record.detail == [:])
    }

    /// The checkpointer copies commits from the write-ahead log into the database file beside the writer, long before
    /// the log reaches SQLite's own mark of 1,000 pages: soon after a few writes, and after the last one of them,
    /// a copy of the database file alone holds them all.
    @Test func commitsReachTheDatabaseFileWithoutWaitingForTheLogsMark() async throws {
        let folder = try Paths.temporaryDirectory("store")
        let store = try SQLiteStore(path: folder + "/db.sqlite")
        for index in 1...20 { try await store.record(AuditRecord(time: audit.time, actor: "actor \(index)", action: "getItem", outcome: "ok")) }
        let wal = try FileManager.default.attributesOfItem(atPath: folder + "/db.sqlite-wal")[.size] as? Int ?? 0
        #expect(wal < 1000 * 4096, "the log passed SQLite's own checkpoint mark (\(wal) bytes): the test proves nothing")
        var actors: [String] = []
        for attempt in 0..<100 where actors.count < 20 {
            if attempt > 0 { try await Task.sleep(for: .milliseconds(50)) }
            // The file alone, without its log: what a checkpoint copied into it and nothing else.
            let copy = folder + "/copy-\(attempt).sqlite"
            try FileManager.default.copyItem(atPath: folder + "/db.sqlite", toPath: copy)
            actors = (try? await DatabaseQueue(path: copy).read { db in try String.fetchAll(db, sql: "SELECT actor FROM audit ORDER BY seq") }) ?? []
        }
        #expect(actors == (1...20).map { "actor \($0)" })
        _ = store
    }

    @Test func acknowledgedWritesAreSynchronousFull() throws {
        let path = try Paths.temporaryDirectory("store") + "/db.sqlite"
        let store = try SQLiteStore(path: path)
        _ = store
        // A second connection sees WAL mode in the file itself.
        let queue = try DatabaseQueue(path: path)
        #expect(try queue.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal")
    }

    /// The store's synchronous reads run on read-only connections of its own: each read sees every write acknowledged
    /// before it, a snapshot keeps seeing what it began with while another connection commits, no more than the limit
    /// are opened, and reads beyond it (more threads than connections) still answer, through GRDB's pool.
    @Test func readsOnTheStoresOwnConnectionsSeeEveryAcknowledgedWrite() async throws {
        let path = try Paths.temporaryDirectory("store") + "/db.sqlite"
        let store = try SQLiteStore(path: path)
        let readers = try #require(store.readers)
        for index in 1...20 {
            try await store.record(AuditRecord(time: audit.time, actor: "actor \(index)", action: "getItem", outcome: "ok"))
            #expect(try await store.auditHead().seq == Int64(index))
        }
        #expect(readers.opened == 1)

        let other = try DatabaseQueue(path: path)
        let counts = try store.readSnapshot { db in
            let before = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_signer")
            try other.write { try $0.execute(sql: "INSERT INTO audit_signer (fingerprint, certificate) VALUES ('f1', 'c1')") }
            return (before, try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_signer"))
        }
        #expect(counts.0 == 0 && counts.1 == 0)
        #expect(try await store.signers(["f1"]) == ["f1": "c1"])
        #expect(throws: DatabaseError.self) { try store.readNow { try $0.execute(sql: "DELETE FROM audit_signer") } }

        // Sixteen threads each hold a read for a while: eight on the store's connections, the rest through the pool.
        let answers = Mutex<[Int]>([])
        let done = DispatchGroup()
        for _ in 0..<16 {
            done.enter()
            Thread.detachNewThread {
                defer { done.leave() }
                let count = try? store.readNow { db in
                    Thread.sleep(forTimeInterval: 0.2)
                    return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit") ?? -1
                }
                answers.withLock { $0.append(count ?? -1) }
            }
        }
        done.wait()
        #expect(answers.withLock { $0 } == Array(repeating: 20, count: 16))
        #expect(readers.opened == 8)
    }
}
