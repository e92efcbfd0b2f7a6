import Foundation
import GRDB
import LiaisonCore
import LiaisonCrypto
import LiaisonStore
import Testing

/// Every stored item carries the hub's seal over all its fields (issue 13: a general or restricted row
/// could be edited in the SQLite file and was served as edited).
@Suite("Item seals")
struct ItemSealTests {
    /// Pushes a general and a restricted item as stationed-transport, edits one row with `tamper`, and
    /// returns both ids and the hub, for the caller's checks.
    func afterEditing(_ tamper: @escaping @Sendable (Database, _ id: String) throws -> Void,
                      _ check: @escaping @Sendable (RunningHub, _ edited: String, _ untouched: String) async throws -> Void) async throws {
        try await TestHub.with { hub in
            let owner = try hub.client("stationed-transport")
            let edited = try #require(try await owner.push(unit: "transport-bureau", classification: "restricted", payload: Data("原文".utf8)).json["id"] as? String)
            let untouched = try #require(try await owner.push(unit: "transport-bureau", classification: "general").json["id"] as? String)
            let queue = try DatabaseQueue(path: hub.dataDirectory + "/liaison.sqlite")
            try await queue.write { db in try tamper(db, edited) }
            try await check(hub, edited, untouched)
        }
    }

    static func expectDamaged(_ hub: RunningHub, _ id: String, _ untouched: String, reader: String = "stationed-transport") async throws {
        let client = try hub.client(reader)
        let metadata = try await client.get("/v1/items/\(id)")
        #expect(metadata.status == 500 && metadata.errorCode == "integrity", "\(metadata.text)")
        let payload = try await client.get("/v1/items/\(id)/payload")
        #expect(payload.status == 500 && payload.errorCode == "integrity", "\(payload.text)")
        let listed = try await client.get("/v1/items?unit=transport-bureau")
        let byID = Dictionary(uniqueKeysWithValues: (listed.json["items"] as? [[String: Any]] ?? []).map { ($0["id"] as! String, $0) })
        #expect(byID[id]?["integrity_error"] as? Bool == true && byID[id]?["title"] == nil, "the listing marks the edited item")
        #expect(byID[untouched]?["title"] as? String == "月度监督报告", "the other items list whole")
        // Each refused read is in the trail.
        let refusals = try await hub.store.auditEntries(matching: AuditQuery(item: id)).filter { $0.record.outcome == "refused" }
        #expect(refusals.map(\.record.action).sorted() == ["getItem", "getItemPayload"])
        #expect(refusals.allSatisfy { $0.record.detail["code"] == "integrity" })
    }

    @Test func anEditedTitleIsCaught() async throws {
        try await afterEditing({ db, id in try db.execute(sql: "UPDATE item SET title = '改过的标题' WHERE id = ?", arguments: [id]) }) { hub, id, untouched in
            try await Self.expectDamaged(hub, id, untouched)
        }
    }

    @Test func aLevelLoweredSoThatMoreAgenciesReadIsCaught() async throws {
        try await afterEditing({ db, id in try db.execute(sql: "UPDATE item SET classification = 'general' WHERE id = ?", arguments: [id]) }) { hub, id, untouched in
            // office-3's groups may read general items of stationed-transport: the edit would have opened it to them.
            try await Self.expectDamaged(hub, id, untouched, reader: "stationed-finance")
        }
    }

    @Test func aReplacedPayloadIsCaughtEvenWithItsDigestRewritten() async throws {
        try await afterEditing({ db, id in
            try db.execute(sql: "UPDATE payload SET bytes = ? WHERE item_id = ?", arguments: [Data("伪造".utf8), id])
        }) { hub, id, _ in
            let payload = try await hub.client("stationed-transport").get("/v1/items/\(id)/payload")
            #expect(payload.status == 500 && payload.errorCode == "integrity")
            #expect(try await hub.client("stationed-transport").get("/v1/items/\(id)").status == 200, "the metadata itself is intact")
        }
        try await afterEditing({ db, id in
            try db.execute(sql: "UPDATE payload SET bytes = ? WHERE item_id = ?", arguments: [Data("伪造".utf8), id])
            try db.execute(sql: "UPDATE item SET sha256 = ?, size = 6 WHERE id = ?", arguments: [Digest.sha256Hex(Array("伪造".utf8)), id])
        }) { hub, id, untouched in
            try await Self.expectDamaged(hub, id, untouched)
        }
    }

    @Test func aRemovedSealIsDamageNotALegacyItem() async throws {
        try await afterEditing({ db, id in try db.execute(sql: "UPDATE item SET seal = NULL WHERE id = ?", arguments: [id]) }) { hub, id, untouched in
            try await Self.expectDamaged(hub, id, untouched)
        }
    }

    @Test func theSealIsHMACSHA256() {
        // RFC 4231, test case 2; and the same key twice gives the same MAC (the keyed context is copied, not used up).
        let mac = HMACSHA256(key: Array("Jefe".utf8))
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        #expect(Digest.hex(mac.mac(Array("what do ya want for nothing?".utf8))) == expected)
        #expect(Digest.hex(mac.mac(Array("what do ya want for nothing?".utf8))) == expected)
        #expect(Digest.hex(mac.mac([])) != expected)
    }

    @Test func theSealNamesEveryFieldAndSurvivesKeyRotation() throws {
        let ring = try KeyRing.generate()
        var item = Item(id: "01ABCDEFGHJKMNPQ", kind: "report", title: "标题", unit: "u", persons: ["张三"], tags: ["t"], classification: .restricted,
                        owner: "o", pushedBy: "p", contentType: "text/plain", sha256: String(repeating: "a", count: 64), size: 4,
                        createdAt: Date(timeIntervalSince1970: 1_796_083_200.123))
        let seal = ring.itemSeal(item.sealInput())
        #expect(try ring.rotated().itemSeal(item.sealInput()) == seal, "rotation keeps the integrity key")
        let variants: [Item] = [
            item.with(title: "标题 ", persons: item.persons, tags: item.tags, sealedMetadata: nil),
            item.with(title: item.title, persons: ["张", "三"], tags: item.tags, sealedMetadata: nil),
            item.with(title: item.title, persons: item.persons, tags: ["t", ""], sealedMetadata: nil),
            Item(id: item.id, kind: item.kind, title: item.title, unit: item.unit, persons: item.persons, tags: item.tags, classification: .general,
                 owner: item.owner, pushedBy: item.pushedBy, contentType: item.contentType, sha256: item.sha256, size: item.size, createdAt: item.createdAt),
            Item(id: item.id, kind: item.kind, title: item.title, unit: "v", persons: item.persons, tags: item.tags, classification: item.classification,
                 owner: item.owner, pushedBy: item.pushedBy, contentType: item.contentType, sha256: item.sha256, size: item.size, createdAt: item.createdAt),
            Item(id: item.id, kind: item.kind, title: item.title, unit: item.unit, persons: item.persons, tags: item.tags, classification: item.classification,
                 owner: item.owner, pushedBy: item.pushedBy, contentType: item.contentType, sha256: item.sha256, size: 5, createdAt: item.createdAt),
        ]
        for variant in variants { #expect(ring.itemSeal(variant.sealInput()) != seal) }
        item.answers = "01ZZZZZZZZZZZZZZ"
        #expect(ring.itemSeal(item.sealInput()) != seal)
        #expect(try KeyRing.generate().itemSeal(item.sealInput()) != ring.itemSeal(item.sealInput()), "another hub's key gives another seal")
    }

    /// The canonical bytes every stored seal was made over: a change here would make every item in every database
    /// read as damaged, so the format is spelled out field by field, independently of `Item.sealInput`.
    @Test func theSealInputIsTheDocumentedCanonicalForm() throws {
        func field(_ bytes: [UInt8]) -> [UInt8] {
            [UInt8(bytes.count >> 24 & 0xff), UInt8(bytes.count >> 16 & 0xff), UInt8(bytes.count >> 8 & 0xff), UInt8(bytes.count & 0xff)] + bytes
        }
        func field(_ text: String) -> [UInt8] { field(Array(text.utf8)) }
        let created = Date(timeIntervalSince1970: 1_796_083_200.123)
        var plain = Item(id: "01ABCDEFGHJKMNPQ", kind: "report", title: "标题 with a long enough title to pass 255 bytes " + String(repeating: "长", count: 80),
                         unit: "finance-bureau", persons: ["张三", "李四"], tags: [], classification: .restricted, owner: "stationed-finance",
                         pushedBy: "stationed-finance", contentType: "text/plain", sha256: String(repeating: "a", count: 64), size: 4096, createdAt: created)
        plain.answers = "01ZZZZZZZZZZZZZZ"
        let common = Array("liaison-item-v1".utf8) + field("01ABCDEFGHJKMNPQ") + field("report") + field("finance-bureau") + field("restricted")
            + field("stationed-finance") + field("stationed-finance") + field("text/plain") + field(String(repeating: "a", count: 64)) + field("4096")
            + field("1796083200123")
        #expect(plain.sealInput() == common + field("01ZZZZZZZZZZZZZZ") + field("plain") + field(plain.title) + field("2") + field("张三") + field("李四") + field("0"))
        let ciphertext = (0..<300).map { UInt8($0 % 256) }
        let sealed = plain.with(title: "", persons: [], tags: [], sealedMetadata: SealedMetadata(ciphertext: ciphertext, wrappedKey: [1, 2], keyVersion: 3))
        #expect(sealed.sealInput() == common + field("01ZZZZZZZZZZZZZZ") + field("sealed") + field(ciphertext))
        plain.answers = nil
        #expect(plain.sealInput() == common + field("") + field("plain") + field(plain.title) + field("2") + field("张三") + field("李四") + field("0"))
    }

    @Test func itemsFromBeforeSealsAreSealedOnceWhenTheHubUpgrades() async throws {
        let data = try Paths.temporaryDirectory("legacy")
        let ring = try KeyRing.loadOrCreate(at: data + "/keyring.json")
        let ids = try await TestHub.with(dataDirectory: data) { hub in
            var ids: [String] = []
            for index in 0..<3 { ids.append(try #require(try await hub.client("office-3").push(title: "旧\(index)", unit: "finance-bureau", classification: "general").json["id"] as? String)) }
            return ids
        }
        // The database as a hub before seals left it: no seal column, and the migration not yet run.
        let queue = try DatabaseQueue(path: data + "/liaison.sqlite")
        try await queue.write { db in
            try db.execute(sql: "ALTER TABLE item DROP COLUMN seal")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v10: item seals'")
        }
        try queue.close()
        let upgraded = try SQLiteStore(path: data + "/liaison.sqlite", legacySeal: { ring.itemSeal($0.sealInput()) })
        for id in ids {
            let item = try #require(try await upgraded.item(id: id))
            #expect(item.seal == ring.itemSeal(item.sealInput()))
        }
        try await TestHub.with(dataDirectory: data) { hub in
            for id in ids {
                let read = try await hub.client("office-3").get("/v1/items/\(id)")
                #expect(read.status == 200)
            }
        }
    }

    @Test func auditItemsCrossChecksStoredItemsWithTheirPushEntries() async throws {
        try await TestHub.with { hub in
            var ids: [String: String] = [:]
            for level in ["general", "restricted", "confidential"] {
                ids[level] = try #require(try await hub.client("stationed-transport").push(unit: "transport-bureau", classification: level).json["id"] as? String)
            }
            let environment = ["LIAISON_DEV_CERTS": TestPKI.shared.directory, "LIAISON_URL": hub.baseURL]
            let clean = try await ProcessRunner.runAsync(Paths.binaries + "/liaison", ["audit", "items", "--as", "zhao.lei"], environment: environment)
            #expect(clean.status == 0, "\(clean.stderr)")
            #expect(clean.stdout == "Every visible item matches its push entry: 3 visible items checked against 3 push entries; 0 pushed items are not visible to you.\n")

            let queue = try DatabaseQueue(path: hub.dataDirectory + "/liaison.sqlite")
            let restricted = ids["restricted"]!, general = ids["general"]!
            try await queue.write { db in
                try db.execute(sql: "UPDATE item SET classification = 'general' WHERE id = ?", arguments: [restricted])
                // A row put in by hand, copied from a real one under another id.
                try db.execute(sql: """
                    INSERT INTO item (id, kind, title, unit, persons, tags, classification, owner, pushed_by, content_type, sha256, size, created_at, seal)
                    SELECT '01ZZZZZZZZZZZZZZ', kind, '伪造', unit, persons, tags, classification, owner, pushed_by, content_type, sha256, size, created_at, seal
                    FROM item WHERE id = ?
                    """, arguments: [general])
            }
            let dirty = try await ProcessRunner.runAsync(Paths.binaries + "/liaison", ["audit", "items", "--as", "zhao.lei"], environment: environment)
            #expect(dirty.status == 1)
            #expect(dirty.stderr.contains("item \(restricted): its level is general, but it was pushed with restricted"), "\(dirty.stderr)")
            #expect(dirty.stderr.contains("item 01ZZZZZZZZZZZZZZ: no push entry in the trail names it"))
            #expect(dirty.stderr.contains("item 01ZZZZZZZZZZZZZZ: the hub found its stored data altered"), "the copied seal does not fit the new id")
            #expect(dirty.stderr.contains("2 items do not match the trail"))
        }
    }
}
