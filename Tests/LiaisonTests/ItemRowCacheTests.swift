import Foundation
import LiaisonCore
@testable import LiaisonHub
import LiaisonStore
import Synchronization
import Testing

/// The hub's cache of item rows, in front of a real SQLite store: what it keeps, what it asks the store again, and
/// its memory bound.
@Suite("Item row cache")
struct ItemRowCacheTests {
    let time = Date(timeIntervalSince1970: 1_800_000_000)

    func item(_ id: String, title: String = "报告", persons: [String] = ["张三"], sealed: Bool = false) -> Item {
        var item = Item(id: id, kind: "report", title: sealed ? "" : title, unit: "finance-bureau", persons: sealed ? [] : persons, tags: [],
                        classification: sealed ? .confidential : .general, owner: "stationed-finance", pushedBy: "stationed-finance",
                        contentType: "text/plain", sha256: "00", size: 1, createdAt: time)
        if sealed { item.sealedMetadata = SealedMetadata(ciphertext: [1, 2, 3], wrappedKey: [4, 5, 6], keyVersion: 1) }
        return item
    }

    /// A real store with some items in it, and how often each id was read from it.
    final class CountedStore: Sendable {
        let store: SQLiteStore
        private let counts = Mutex<[String: Int]>([:])
        var reads: [String: Int] { counts.withLock { $0 } }

        init(with items: [Item], at time: Date) async throws {
            store = try SQLiteStore(path: try Paths.temporaryDirectory("row-cache") + "/db.sqlite")
            for item in items {
                _ = try await store.insert(item, payload: StoredPayload(bytes: [0], wrappedKey: nil, keyVersion: nil), claim: nil,
                                           audit: AuditRecord(time: time, actor: item.owner, action: .pushItem, targets: [item.id]), events: [], marks: [],
                                           watch: nil)
            }
        }

        func read(_ id: String) async throws -> Item? {
            counts.withLock { $0[id, default: 0] += 1 }
            return try await store.item(id: id)
        }
    }

    @Test func anItemIsReadFromTheStoreOnceAndASealedOneEveryTime() async throws {
        let general = item("01GENERAL0000001"), sealed = item("01SEALED00000001", sealed: true)
        let store = try await CountedStore(with: [general, sealed], at: time)
        let cache = ItemRowCache()
        for _ in 0..<3 {
            #expect(try await cache.item(id: general.id, reading: store.read) == general)
            #expect(try await cache.item(id: sealed.id, reading: store.read) == sealed)
        }
        #expect(store.reads == [general.id: 1, sealed.id: 3])
    }

    @Test func aMissIsNotKeptSoAnItemPushedLaterIsFound() async throws {
        let later = item("01NOTYET00000001")
        let empty = try await CountedStore(with: [], at: time)
        let cache = ItemRowCache()
        #expect(try await cache.item(id: later.id, reading: empty.read) == nil)
        // The same id, pushed since (here into another store, as if by another hub of the database).
        let pushed = try await CountedStore(with: [later], at: time)
        #expect(try await cache.item(id: later.id, reading: pushed.read) == later)
        #expect(try await cache.item(id: later.id, reading: pushed.read) == later)
        #expect(empty.reads == [later.id: 1] && pushed.reads == [later.id: 1])
    }

    @Test func pastItsBudgetItStartsAgainAndAnItemTooLargeIsNeverKept() async throws {
        let small = (0..<4).map { item(String(format: "01SMALL%09d", $0)) }
        // Persons at the push limits (200 of 200 characters) make an item of about 100 KB.
        let large = item("01LARGE000000001", persons: (0..<200).map { String(repeating: "张", count: 199) + String($0 % 10) })
        let store = try await CountedStore(with: small + [large], at: time)
        let footprint = ItemRowCache.footprint(of: small[0])
        #expect(small.allSatisfy { ItemRowCache.footprint(of: $0) == footprint })
        #expect(ItemRowCache.footprint(of: large) > 64 << 10)
        // Room for three small items and a half.
        let cache = ItemRowCache(budget: footprint * 7 / 2)
        for item in small[0..<3] + small[0..<3] { _ = try await cache.item(id: item.id, reading: store.read) }
        #expect(store.reads == [small[0].id: 1, small[1].id: 1, small[2].id: 1])
        // The fourth does not fit: the cache starts again with it alone, and the first is read again.
        for item in [small[3], small[0], small[3], small[0]] { _ = try await cache.item(id: item.id, reading: store.read) }
        #expect(store.reads == [small[0].id: 2, small[1].id: 1, small[2].id: 1, small[3].id: 1])
        for _ in 0..<2 { #expect(try await cache.item(id: large.id, reading: store.read) == large) }
        #expect(store.reads[large.id] == 2)
    }
}
