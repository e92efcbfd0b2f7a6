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
}
