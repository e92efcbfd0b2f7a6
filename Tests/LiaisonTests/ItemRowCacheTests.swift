import Foundation
import GRDB
import LiaisonCore
@testable import LiaisonHub
import LiaisonStore
import Testing

/// The hub's cache of checked item rows and plain payloads: what it keeps, its memory bound, and, through a real
/// hub on a real SQLite file, that it keeps only what passed its checks and never a confidential item.
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

    @Test func aCheckedItemIsKeptAndOneWithSealedMetadataIsNot() {
        let general = item("01GENERAL0000001"), sealed = item("01SEALED00000001", sealed: true)
        let cache = ItemRowCache()
        #expect(cache.item(id: general.id) == nil)
        cache.keep(checked: general)
        cache.keep(checked: sealed)
        #expect(cache.item(id: general.id) == general)
        #expect(cache.item(id: sealed.id) == nil)
    }

    @Test func aPayloadIsKeptOnlyWithItsItemAndWithinTheBound() {
        let kept = item("01KEPT0000000001"), absent = item("01ABSENT00000001")
        let cache = ItemRowCache(largest: 1000)
        cache.keep(checked: kept)
        cache.keep(checkedPayload: [1, 2, 3], of: kept.id)
        cache.keep(checkedPayload: [4, 5, 6], of: absent.id)
        #expect(cache.payload(of: kept.id) == [1, 2, 3])
        #expect(cache.payload(of: absent.id) == nil, "a payload whose item is not kept is not kept")
        let other = item("01OTHER000000001")
        cache.keep(checked: other)
        cache.keep(checkedPayload: [UInt8](repeating: 7, count: 1001), of: other.id)
        #expect(cache.item(id: other.id) == other && cache.payload(of: other.id) == nil, "a payload past the bound is read each time")
    }

    @Test func pastItsBudgetItStartsAgainAndAnItemTooLargeIsNeverKept() {
        let small = (0..<4).map { item(String(format: "01SMALL%09d", $0)) }
        // Persons at the push limits (200 of 200 characters) make an item of about 100 KB.
        let large = item("01LARGE000000001", persons: (0..<200).map { String(repeating: "张", count: 199) + String($0 % 10) })
        let footprint = ItemRowCache.footprint(of: small[0])
        #expect(small.allSatisfy { ItemRowCache.footprint(of: $0) == footprint })
        #expect(ItemRowCache.footprint(of: large) > 64 << 10)
        // Room for three small items, one with a payload of 100 bytes, and a little more.
        let cache = ItemRowCache(budget: footprint * 3 + 100 + footprint / 2)
        for item in small[0..<3] { cache.keep(checked: item) }
        cache.keep(checkedPayload: [UInt8](repeating: 1, count: 100), of: small[0].id)
        #expect(small[0..<3].allSatisfy { cache.item(id: $0.id) == $0 } && cache.payload(of: small[0].id)?.count == 100)
        // The fourth does not fit: the cache starts again with it alone, and the others' rows and payloads are gone.
        cache.keep(checked: small[3])
        #expect(cache.item(id: small[3].id) == small[3])
        #expect(small[0..<3].allSatisfy { cache.item(id: $0.id) == nil } && cache.payload(of: small[0].id) == nil)
        cache.keep(checked: large)
        #expect(cache.item(id: large.id) == nil)
    }

    /// A general item read once is served from what the hub checked, even after its row and payload are edited in
    /// the file (a listing, which reads the rows, and an auditor's `liaison audit items` still find the edit); a
    /// confidential item is read from the store each time, and an item damaged before its first read is refused on
    /// every read.
    @Test func aHubKeepsOnlyWhatPassedItsChecksAndNeverAConfidentialItem() async throws {
        try await TestHub.with { hub in
            let owner = try hub.client("stationed-transport")
            func pushed(_ classification: String, _ payload: String) async throws -> String {
                try #require(try await owner.push(unit: "transport-bureau", classification: classification, payload: Data(payload.utf8)).json["id"] as? String)
            }
            let general = try await pushed("general", "原文"), confidential = try await pushed("confidential", "机密"), damaged = try await pushed("general", "另一份")
            let queue = try DatabaseQueue(path: hub.dataDirectory + "/liaison.sqlite")
            try await queue.write { db in try db.execute(sql: "UPDATE item SET title = '改过的标题' WHERE id = ?", arguments: [damaged]) }
            for _ in 0..<2 {
                #expect(try await owner.get("/v1/items/\(damaged)").errorCode == "integrity")
                #expect(try await owner.get("/v1/items/\(damaged)/payload").errorCode == "integrity")
            }
            func listed() async throws -> [String: [String: Any]] {
                let page = try await owner.get("/v1/items?unit=transport-bureau")
                return Dictionary(uniqueKeysWithValues: (page.json["items"] as? [[String: Any]] ?? []).map { ($0["id"] as! String, $0) })
            }
            for id in [general, confidential] {
                #expect(try await owner.get("/v1/items/\(id)").json["title"] as? String == "月度监督报告")
                #expect(try await owner.payload(id).plaintext != nil)
            }
            #expect(try await listed()[general]?["integrity_error"] == nil)
            try await queue.write { db in
                try db.execute(sql: "UPDATE item SET title = '改过的标题' WHERE id = ?", arguments: [general])
                // A confidential row's title is sealed with its payload; its level is sealed with the row.
                try db.execute(sql: "UPDATE item SET classification = 'restricted' WHERE id = ?", arguments: [confidential])
                try db.execute(sql: "UPDATE payload SET bytes = ? WHERE item_id = ?", arguments: [Data("伪造".utf8), general])
            }
            #expect(try await owner.get("/v1/items/\(general)").json["title"] as? String == "月度监督报告")
            #expect(try await owner.payload(general).plaintext == Data("原文".utf8))
            // A listing reads rows from the store: one unlike the row kept is checked again.
            #expect(try await listed()[general]?["integrity_error"] as? Bool == true)
            #expect(try await owner.get("/v1/items/\(confidential)").errorCode == "integrity")
            #expect(try await owner.get("/v1/items/\(confidential)/payload").errorCode == "integrity")
        }
    }
}
