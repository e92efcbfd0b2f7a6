import Foundation
import LiaisonCrypto
import Testing

/// Two hubs serving one PostgreSQL database at once, over mTLS, as a load balancer would spread clients over them.
@Suite("Several hubs on one database")
struct SeveralHubsTests {
    /// Two data folders naming one fresh database and one master key: hubs started on them share everything.
    static func sharedFolders() async throws -> (String, String) {
        let database = try await TestPostgres.shared.freshDatabase()
        let masterKey = Data(try MasterKey.generateText().utf8)
        let folders = try [Paths.temporaryDirectory("hub-a"), Paths.temporaryDirectory("hub-b")]
        for folder in folders {
            try database.description.write(toFile: folder + "/postgres-url", atomically: true, encoding: .utf8)
            #expect(FileManager.default.createFile(atPath: folder + "/master.key", contents: masterKey, attributes: [.posixPermissions: 0o600]))
        }
        return (folders[0], folders[1])
    }

    @Test func aLongPollOnOneHubWakesForAPushOnTheOther() async throws {
        let (folderA, folderB) = try await Self.sharedFolders()
        try await TestHub.with(dataDirectory: folderA, store: .postgres) { a in
            try await TestHub.with(dataDirectory: folderB, store: .postgres) { b in
                let reader = try b.client("zhang.wei")
                let start = try #require((try await reader.get("/v1/feed?limit=1000").json["cursor"] as? NSNumber)?.int64Value)
                let clock = ContinuousClock()
                let asked = clock.now
                async let polled = reader.get("/v1/feed?after=\(start)&wait=60")
                for _ in 0..<2000 where b.hub.feeds.waitingReaders == 0 { try await Task.sleep(for: .milliseconds(5)) }
                #expect(b.hub.feeds.waitingReaders == 1)
                let pushed = try await a.client("stationed-transport").push(unit: "transport-bureau", classification: "restricted")
                let id = try #require(pushed.json["id"] as? String)
                let answer = try await polled
                // Woken by the other hub's notice, not by the end of its 60 s wait, which B started after the client asked.
                #expect(clock.now - asked < .seconds(60))
                #expect((answer.json["events"] as? [[String: Any]])?.compactMap { $0["item"] as? String } == [id])
                // Sealed on A under the shared ring, opened on B; the same Idempotency-Key retried on B replays A's push.
                let sealed = try await a.client("stationed-transport").push(unit: "transport-bureau", classification: "confidential", payload: Data("甲方材料".utf8))
                let sealedID = try #require(sealed.json["id"] as? String)
                #expect(try await b.client("stationed-transport").payload(sealedID).plaintext == Data("甲方材料".utf8))
                let first = try await a.client("stationed-finance").push(unit: "finance-bureau", classification: "restricted", key: "retry-1")
                let retried = try await b.client("stationed-finance").push(unit: "finance-bureau", classification: "restricted", key: "retry-1")
                #expect(first.status == 201 && retried.status == 200)
                #expect(retried.json["id"] as? String == first.json["id"] as? String)
            }
        }
    }

    /// Pushes on two hubs at once that make one rule hold raise one alert: a push holds its key's lock until it
    /// commits, so the other hub's push sees its item (`PostgresStore.watchedItems`).
    @Test func concurrentPushesOnTwoHubsRaiseAnOccurrenceOnce() async throws {
        let (folderA, folderB) = try await Self.sharedFolders()
        try await TestHub.with(dataDirectory: folderA, store: .postgres) { a in
            try await TestHub.with(dataDirectory: folderB, store: .postgres) { b in
                let ids = try await withThrowingTaskGroup(of: String.self) { group in
                    for index in 0..<16 {
                        let hub = index % 2 == 0 ? a : b
                        group.addTask {
                            let pushed = try await hub.client(index % 4 < 2 ? "stationed-transport" : "office-3")
                                .push(kind: "petition", unit: "transport-bureau", classification: "general", overrides: ["persons": ["张三"]])
                            return try #require(pushed.json["id"] as? String, "\(pushed.text)")
                        }
                    }
                    return try await group.reduce(into: Set<String>()) { $0.insert($1) }
                }
                let alerts = try await a.store.alerts(notifying: nil, limit: 100)
                // One for the three petitions, one for 张三 named by two agencies.
                #expect(alerts.map(\.rule).sorted() == ["person-across-agencies", "petitions-about-unit"])
                let petitions = try #require(alerts.first { $0.rule == "petitions-about-unit" })
                #expect(petitions.itemIDs.count == 3 && Set(petitions.itemIDs).isSubset(of: ids))
                let person = try #require(alerts.first { $0.rule == "person-across-agencies" })
                #expect(Set(person.owners) == ["stationed-transport", "office-3"] && Set(person.itemIDs).isSubset(of: ids))
            }
        }
    }
}
