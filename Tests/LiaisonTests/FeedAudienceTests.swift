import Foundation
import GRDB
import LiaisonCore
import LiaisonCrypto
import LiaisonHub
import LiaisonStore
import Testing

/// A push's "item readable" event is stored once for all its readers, and each reader's feed shows it as its own:
/// the push costs one row however many principals the policy declares.
@Suite("Feeds of every reader")
struct FeedAudienceTests {
    func hub() throws -> (Hub, String) {
        let path = try Paths.temporaryDirectory("feed-audience") + "/liaison.sqlite"
        return (Hub(policy: TestHub.examplePolicy, store: try SQLiteStore(path: path), keyRing: try KeyRing.generate(), logger: TestHub.quietLogger,
                    clock: TestClock().function), path)
    }

    func push(_ hub: Hub, as pusher: String, unit: String, level: Classification) async throws -> String {
        let receipt = try await hub.items.push(PushRequest(kind: "report", title: "标题", unit: unit, classification: level.rawValue, contentType: "text/plain",
                                                           payload: Array("内容".utf8)), in: hub.context(for: try #require(hub.policy.principal(pusher))))
        return receipt.item.item.id
    }

    func feed(_ hub: Hub, _ principal: String, after: Int64? = nil) async throws -> FeedPage {
        try await hub.feeds.feed(after: after, limit: 1000, wait: 0, in: hub.context(for: try #require(hub.policy.principal(principal))))
    }

    @Test func aPushIsOneRowAndEachReaderOfTheItemSeesItAsItsOwn() async throws {
        let (hub, path) = try hub()
        let id = try await push(hub, as: "wang.fang", unit: "transport-bureau", level: .general)
        let rows = try DatabaseQueue(path: path).read { db in try Row.fetchAll(db, sql: "SELECT principal, detail FROM feed_event") }
        #expect(rows.count == 1 && rows.first?["principal"] == "*")
        let policy = hub.policy
        let subject = ItemSubject(owner: "stationed-transport", unit: "transport-bureau", classification: .general, kind: "report")
        for principal in policy.principalIDs {
            let events = try await feed(hub, principal).events
            let reads = policy.access(of: policy.principal(principal)!, to: subject, at: TestClock().now) == .read
            // Everyone the policy lets read it but the person who pushed (their agency does get it).
            #expect(events.map(\.event.item) == (reads && principal != "wang.fang" ? [id] : []), "\(principal)")
            if let event = events.first?.event {
                #expect(event.principal == principal && event.kind == .itemReadable)
                #expect(event.detail == ["kind": "report", "classification": "general", "owner": "stationed-transport", "unit": "transport-bureau", "via": "push"])
            }
        }
        #expect(try await feed(hub, "stationed-transport").events.count == 1)
        #expect(try await feed(hub, "office-5").events.isEmpty)
    }

    @Test func aReaderSkipsPastEventsThatAreNoneOfItsOwnAndStillGetsItsNext() async throws {
        let (hub, _) = try hub()
        // More than a scan's worth of events office-5 may not read, then one it may.
        for _ in 0..<(1_000 + 50) { _ = try await push(hub, as: "stationed-transport", unit: "transport-bureau", level: .general) }
        let start = try await feed(hub, "office-5")
        #expect(start.events.isEmpty && start.cursor == 1_050, "the cursor moves past what is none of office-5's")
        let mine = try await push(hub, as: "stationed-health", unit: "health-commission", level: .general)
        let next = try await feed(hub, "office-5", after: 0)
        #expect(next.events.map(\.event.item) == [mine] && next.cursor == 1_051)
        // A reader of all of them pages through with the cursor, a page at a time, missing none.
        var seen: [String] = []
        var cursor: Int64 = 0
        while true {
            let page = try await hub.feeds.feed(after: cursor, limit: 400, wait: 0, in: hub.context(for: try #require(hub.policy.principal("office-3"))))
            seen += page.events.compactMap(\.event.item)
            guard page.cursor > cursor else { break }
            cursor = page.cursor
        }
        #expect(seen.count == 1_050 && Set(seen).count == 1_050 && !seen.contains(mine))
    }

    @Test func aWakeLineNamesTheReadersThePolicyOfTheHubThatHearsItFinds() throws {
        let policy = TestHub.examplePolicy
        var detail = FeedEvent.stub(Item(id: "01X", kind: "report", title: "t", unit: "transport-bureau", persons: [], tags: [], classification: .restricted,
                                         owner: "stationed-transport", pushedBy: "wang.fang", contentType: "text/plain", sha256: "", size: 0, createdAt: TestClock().now),
                                    via: "push")
        detail[FeedEvent.pusherKey] = "wang.fang"
        let event = FeedEvent(principal: FeedEvent.everyReader, kind: .itemReadable, time: TestClock().now, item: "01X", detail: detail)
        let named = FeedEvent.audience(wokenBy: event.wakeLine, under: policy)
        #expect(named.members == ["office-3", "stationed-transport", "zhang.wei"])
        #expect(named.contains("office-3") && !named.contains("wang.fang") && !named.contains("li.na"))
        #expect(FeedEvent.audience(wokenBy: "li.na", under: policy).members == ["li.na"])
        #expect(FeedEvent.audience(wokenBy: "*not json", under: policy).isEmpty)
    }
}
