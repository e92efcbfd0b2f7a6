import Foundation
import LiaisonCore
import LiaisonStore
import Testing

/// Correlation inside the tiers over mTLS with the example policy: the items that share a person or tag, and where
/// a person appears, as one reader may see them; never a name of an item it cannot read, nor a count of what it
/// could not even ask for.
@Suite("Correlation")
struct CorrelationEndToEndTests {
    /// Items naming 张三 or tagged 道路工程, seen from stationed-finance (led by office-3, as is stationed-transport).
    func populate(_ hub: RunningHub) async throws -> [String: String] {
        var ids: [String: String] = [:]
        let pushes: [(String, String, String, String, String, [String: Any])] = [
            ("base", "stationed-finance", "report", "finance-bureau", "general", ["persons": ["张三"], "tags": ["道路工程"]]),
            // Read by stationed-finance (a group of the owner's office): listed with the name as that item writes it.
            ("readable", "stationed-transport", "report", "transport-bureau", "general", ["persons": ["张 三", "王五"]]),
            // A restricted item of another group of the office: a withheld stub for stationed-finance.
            ("withheld", "stationed-transport", "report", "transport-bureau", "restricted", ["persons": ["张三"]]),
            // Confidential: not seen at all, but its approvers could grant it: counted.
            ("unseen", "stationed-transport", "integrity-file", "transport-bureau", "confidential", ["persons": ["张三"], "tags": ["秘密标签"]]),
            // Not seen, and no approver could grant it to stationed-finance (office-5's side has none): not even counted.
            ("uncounted", "stationed-health", "report", "health-commission", "general", ["persons": ["张三"]]),
            ("tagged", "office-3", "analysis", "finance-bureau", "general", ["tags": ["道路 工程"]]),
            ("unrelated", "stationed-transport", "report", "transport-bureau", "general", ["persons": ["李四"]]),
        ]
        for (name, pusher, kind, unit, level, extra) in pushes {
            let response = try await hub.client(pusher).push(kind: kind, title: "\(name) 标题", unit: unit, classification: level,
                                                             payload: Data("\(name) 内容".utf8), overrides: extra)
            ids[name] = try #require(response.json["id"] as? String, "\(response.text)")
        }
        return ids
    }

    @Test func relatedItemsShowWhatTheReaderMaySeeAndCountOnlyWhatItCouldAskFor() async throws {
        try await TestHub.with { hub in
            let ids = try await populate(hub)
            let reader = try hub.client("stationed-finance")
            let related = try await reader.get("/v1/items/\(ids["base"]!)/related")
            #expect(related.status == 200, "\(related.text)")
            let readable = try #require(related.json["readable"] as? [[String: Any]])
            #expect(readable.compactMap { ($0["item"] as? [String: Any])?["id"] as? String } == [ids["tagged"]!, ids["readable"]!])
            #expect(readable.map { $0["persons"] as? [String] ?? ["?"] } == [[], ["张 三"]])
            #expect(readable.map { $0["tags"] as? [String] ?? ["?"] } == [["道路 工程"], []])
            let withheld = try #require(related.json["withheld"] as? [[String: Any]])
            #expect(withheld.map { $0["id"] as? String } == [ids["withheld"]!])
            #expect(withheld.first?["title"] == nil && withheld.first?["persons"] == nil && withheld.first?["access"] as? String == "withheld")
            #expect(related.json["unseen"] as? [String: Int] == ["confidential": 1])
            // Nothing of the items it cannot read is in the answer.
            for secret in ["withheld 标题", "unseen 标题", "uncounted 标题", "秘密标签"] {
                #expect(!related.text.contains(secret), "\(secret)")
            }

            // The confidential item's owner reads the items naming 张三 of its office's groups (the base item too),
            // and is told nothing of stationed-health's, which no approver could grant it.
            let owner = try await hub.client("stationed-transport").get("/v1/items/\(ids["unseen"]!)/related")
            let ownerReadable = (owner.json["readable"] as? [[String: Any]])?.compactMap { ($0["item"] as? [String: Any])?["id"] as? String }
            #expect(ownerReadable == [ids["withheld"]!, ids["readable"]!, ids["base"]!], "\(owner.text)")
            #expect(owner.json["unseen"] as? [String: Int] == [:] && (owner.json["withheld"] as? [Any])?.isEmpty == true)

            // Related items are shown only for an item the reader can read.
            let ofStub = try await reader.get("/v1/items/\(ids["withheld"]!)/related")
            #expect(ofStub.status == 403 && ofStub.errorCode == "not_readable")
            #expect(try await reader.get("/v1/items/\(ids["unseen"]!)/related").status == 404)

            let trail = try await hub.store.auditEntries(matching: AuditQuery(limit: 10, action: "relatedItems"))
            #expect(trail.first?.record.actor == "stationed-finance" && trail.first?.record.targets == [ids["base"]!, ids["tagged"]!, ids["readable"]!, ids["withheld"]!])
        }
    }

    @Test func aPersonIsFoundAcrossReadableItemsWithACountOfWithheldOnes() async throws {
        try await TestHub.with { hub in
            let ids = try await populate(hub)
            // An ideographic space and full-width forms do not matter.
            let name = "张\u{3000}三".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let found = try await hub.client("stationed-finance").get("/v1/persons?name=\(name)")
            #expect(found.status == 200, "\(found.text)")
            #expect((found.json["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [ids["readable"]!, ids["base"]!])
            #expect(found.json["withheld"] as? Int == 1, "the restricted one; the hidden ones are not counted")
            let blank = try await hub.client("stationed-finance").get("/v1/persons?name=%E3%80%80")
            #expect(blank.status == 400 && blank.errorField == "name")
            let long = try await hub.client("stationed-finance").get("/v1/persons?name=" + String(repeating: "%E5%BC%A0", count: 201))
            #expect(long.status == 400 && long.errorField == "name" && long.errorMessage == "the name is longer than 200 characters", "\(long.text)")
            // The trail names the mark asked about, not the name.
            let entry = try #require(try await hub.store.auditEntries(matching: AuditQuery(limit: 10, action: "findPerson")).first)
            #expect(entry.record.detail["mark"]?.count == 64 && !entry.record.detail.values.contains { $0.contains("张") })

            let cli = Paths.binaries + "/liaison"
            let environment = ["LIAISON_DEV_CERTS": TestPKI.shared.directory, "LIAISON_URL": hub.baseURL]
            let person = try await ProcessRunner.runAsync(cli, ["person", "张三", "--as", "stationed-finance"], environment: environment)
            #expect(person.status == 0 && person.stdout.contains(ids["readable"]!) && person.stdout.contains(ids["base"]!), "\(person.stderr)")
            #expect(person.stdout.hasSuffix("1 more item(s) you see only withheld name 张三: liaison list shows them as stubs you may ask access for.\n"))
            let related = try await ProcessRunner.runAsync(cli, ["related", ids["base"]!, "--as", "stationed-finance"], environment: environment)
            #expect(related.status == 0 && related.stdout.contains("张 三") && related.stdout.contains("#道路 工程") && related.stdout.contains("(withheld)"), "\(related.stderr)")
            #expect(related.stdout.hasSuffix("Also sharing a name, not visible to you: 1 confidential.\n"))
            let none = try await ProcessRunner.runAsync(cli, ["related", ids["unrelated"]!, "--as", "stationed-transport"], environment: environment)
            #expect(none.stdout == "No other item you may see shares a person or tag with \(ids["unrelated"]!).\n")
        }
    }

    @Test func theDatabaseHoldsNoPlaintextPersonOfAConfidentialItem() async throws {
        try await TestHub.with { hub in
            let pushed = try await hub.client("stationed-transport").push(kind: "integrity-file", unit: "transport-bureau", classification: "confidential",
                                                                        overrides: ["persons": ["欧阳秘名"], "tags": ["绝密线索标签"]])
            #expect(pushed.status == 201)
            let marks = try await hub.store.marks(of: try #require(pushed.json["id"] as? String))
            #expect(marks.count == 2 && marks.allSatisfy { $0.count == 64 })
            if hub.storeKind == .sqlite {
                // Every file of the database (the WAL too), byte for byte.
                for file in try FileManager.default.contentsOfDirectory(atPath: hub.dataDirectory) where file.hasPrefix("liaison.sqlite") {
                    let bytes = try Data(contentsOf: URL(fileURLWithPath: hub.dataDirectory + "/" + file))
                    #expect(bytes.range(of: Data("欧阳秘名".utf8)) == nil && bytes.range(of: Data("绝密线索标签".utf8)) == nil, "\(file)")
                }
            } else {
                let rows = try await hub.postgresRowsText()
                #expect(rows.contains(marks[0]), "the rows were read")
                #expect(!rows.contains("欧阳秘名") && !rows.contains("绝密线索标签"))
            }
        }
    }

    @Test func itemsStoredBeforeTheIndexAreMarkedAtStart() async throws {
        try await TestHub.with { hub in
            let ids = try await populate(hub)
            // As a database from before the index: no marks, every item with names on the unmarked list.
            let store = hub.store
            try await hub.editDatabase(["DELETE FROM item_mark", "INSERT INTO item_unmarked (item_id) SELECT id FROM item"])
            #expect(try await store.marks(of: ids["unseen"]!).isEmpty)
            #expect(try await hub.hub.correlation.markEarlierItems() == ids.count)
            #expect(try await store.unmarkedItems(limit: 10).isEmpty)
            #expect(try await store.marks(of: ids["unseen"]!).count == 2, "a confidential item's sealed names are marked too")
            let related = try await hub.client("stationed-finance").get("/v1/items/\(ids["base"]!)/related")
            #expect(related.json["unseen"] as? [String: Int] == ["confidential": 1])
            #expect(try await hub.hub.correlation.markEarlierItems() == 0)
        }
    }
}
