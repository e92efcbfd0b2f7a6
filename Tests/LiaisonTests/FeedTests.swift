import Foundation
import LiaisonHub
import Testing

/// Feeds over mTLS: order, completeness, long-poll, resume, no leaks, retention.
@Suite("Feeds")
struct FeedTests {
    /// Every event of `principal` after `cursor`, paging with `limit`.
    func drain(_ client: TestClient, after cursor: Int64? = nil, limit: Int = 7) async throws -> (events: [[String: Any]], cursor: Int64) {
        var events: [[String: Any]] = []
        var after = cursor
        while true {
            let response = try await client.get("/v1/feed?limit=\(limit)" + (after.map { "&after=\($0)" } ?? ""))
            #expect(response.status == 200, "\(response.text)")
            let page = response.json["events"] as? [[String: Any]] ?? []
            events += page
            let next = (response.json["cursor"] as? NSNumber)?.int64Value ?? 0
            if page.isEmpty { return (events, next) }
            after = next
        }
    }

    @Test func concurrentPushesBySeveralAgenciesAllReachAReaderInCursorOrder() async throws {
        try await TestHub.with { hub in
            let pushers = [("stationed-transport", "transport-bureau"), ("stationed-finance", "finance-bureau"), ("office-3", "audit-bureau")]
            let ids = try await withThrowingTaskGroup(of: String?.self) { group in
                for (pusher, unit) in pushers {
                    for index in 0..<15 {
                        group.addTask {
                            let response = try await hub.client(pusher).push(title: "\(pusher) \(index)", unit: unit, classification: index % 2 == 0 ? "general" : "restricted")
                            return response.json["id"] as? String
                        }
                    }
                }
                return try await group.reduce(into: Set<String>()) { if let id = $1 { $0.insert(id) } }
            }
            #expect(ids.count == 45)
            // zhang.wei acts for office-3, which reads its own items and those of the groups it leads.
            let (events, cursor) = try await drain(try hub.client("zhang.wei"))
            let cursors = events.compactMap { ($0["cursor"] as? NSNumber)?.int64Value }
            #expect(cursors == cursors.sorted() && Set(cursors).count == cursors.count, "strictly increasing")
            #expect(cursor == cursors.last)
            #expect(Set(events.compactMap { $0["item"] as? String }) == ids)
            #expect(events.allSatisfy { $0["type"] as? String == "item.readable" })
            // office-3 pushed 15 of them itself: its own feed has only the groups' 30.
            #expect(try await drain(try hub.client("office-3")).events.count == 30)
        }
    }

    @Test func aLongPollReturnsAsSoonAsAMatchingEventCommits() async throws {
        try await TestHub.with { hub in
            let reader = try hub.client("zhang.wei")
            let start = try await drain(reader).cursor
            let clock = ContinuousClock()
            let asked = clock.now
            async let polled = reader.get("/v1/feed?after=\(start)&wait=60")
            // Wait for the poll to be parked in the hub, not for a fixed time.
            for _ in 0..<400 where hub.hub.feeds.waitingReaders == 0 { try await Task.sleep(for: .milliseconds(5)) }
            #expect(hub.hub.feeds.waitingReaders == 1)
            // An event for someone else does not wake it...
            _ = try await hub.client("stationed-health").push(unit: "health-commission", classification: "restricted")
            #expect(hub.hub.feeds.waitingReaders == 1)
            // ...one for zhang.wei does.
            let id = try #require(try await hub.client("stationed-transport").push(unit: "transport-bureau", classification: "general").json["id"] as? String)
            let response = try await polled
            // The hub starts the 60 s wait after the client asked, so an answer sooner than that came from the
            // event. No tighter bound: under the whole suite on two cores, the pushes alone can take many seconds.
            #expect(clock.now - asked < .seconds(60), "answered by the event, not by the end of the wait")
            #expect((response.json["events"] as? [[String: Any]])?.map { $0["item"] as? String } == [id])
            #expect(hub.hub.feeds.waitingReaders == 0)

            // With nothing new, the poll ends after `wait` with an empty page and the same cursor.
            let cursor = (response.json["cursor"] as? NSNumber)?.int64Value ?? 0
            let empty = try await reader.get("/v1/feed?after=\(cursor)&wait=1")
            #expect((empty.json["events"] as? [Any])?.isEmpty == true)
            #expect((empty.json["cursor"] as? NSNumber)?.int64Value == cursor)
        }
    }

    @Test func aLongPollEndsWhenItsClientGoesAway() async throws {
        try await TestHub.with { hub in
            let reader = try hub.client("zhang.wei")
            let start = try await drain(reader).cursor
            let poll = Task { try await reader.get("/v1/feed?after=\(start)&wait=60") }
            for _ in 0..<400 where hub.hub.feeds.waitingReaders == 0 { try await Task.sleep(for: .milliseconds(5)) }
            #expect(hub.hub.feeds.waitingReaders == 1)
            // The client gives up (its connection closes): the hub stops waiting then, not a minute later, so a push
            // does not wake it to read a page nobody will receive.
            poll.cancel()
            _ = await poll.result
            for _ in 0..<1000 where hub.hub.feeds.waitingReaders > 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(hub.hub.feeds.waitingReaders == 0, "the abandoned long-poll ended with its connection")
            // The reader's next poll on a new connection still gets what follows.
            let id = try #require(try await hub.client("stationed-transport").push(unit: "transport-bureau", classification: "general").json["id"] as? String)
            let next = try await reader.get("/v1/feed?after=\(start)&wait=5")
            #expect((next.json["events"] as? [[String: Any]])?.compactMap { $0["item"] as? String } == [id])
        }
    }

    @Test func aLongPollFromAClientThatClosedItsSideAtOnceIsAnsweredAtOnce() async throws {
        try await TestHub.with { hub in
            let reader = try hub.client("zhang.wei")
            let start = try await drain(reader).cursor
            let clock = ContinuousClock(), asked = clock.now
            // The request and the close of the client's side arrive together: the hub may see the close before the
            // long-poll starts waiting, and must not wait out the minute either way.
            let answer = try await HalfClosingClient.send("GET /v1/feed?after=\(start)&wait=60 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", port: hub.port,
                                                          certificate: hub.pki.certificate("zhang.wei"), key: hub.pki.key("zhang.wei"), ca: hub.pki.ca, seconds: 60)
            #expect(clock.now - asked < .seconds(30), "not held for the whole wait")
            if !answer.isEmpty { #expect(answer.hasPrefix("HTTP/1.1 200") && answer.contains(#""events":[]"#), "\(answer)") }
            for _ in 0..<1000 where hub.hub.feeds.waitingReaders > 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(hub.hub.feeds.waitingReaders == 0)
        }
    }

    @Test func aClientThatKeepsItsCursorMissesNothingAcrossAHubRestart() async throws {
        let data = try Paths.temporaryDirectory("feed-restart")
        let (firstHalf, cursor) = try await TestHub.with(dataDirectory: data) { hub in
            for index in 0..<6 { _ = try await hub.client("stationed-finance").push(title: "a\(index)", unit: "finance-bureau", classification: "general") }
            let page = try await hub.client("zhang.wei").get("/v1/feed?limit=4")
            let events = page.json["events"] as? [[String: Any]] ?? []
            for index in 0..<4 { _ = try await hub.client("stationed-finance").push(title: "b\(index)", unit: "finance-bureau", classification: "general") }
            return (events.compactMap { $0["item"] as? String }, (page.json["cursor"] as? NSNumber)?.int64Value ?? -1)
        }
        #expect(firstHalf.count == 4)
        try await TestHub.with(dataDirectory: data) { hub in
            let rest = try await drain(try hub.client("zhang.wei"), after: cursor).events
            #expect(rest.count == 6, "2 from before the cut, 4 pushed after it")
            let all = try await drain(try hub.client("zhang.wei")).events.compactMap { $0["item"] as? String }
            #expect(all == firstHalf + rest.compactMap { $0["item"] as? String })
        }
    }

    @Test func noEventTellsAPrincipalMoreThanAStub() async throws {
        try await TestHub.with { hub in
            for level in ["general", "restricted", "confidential"] {
                _ = try await hub.client("stationed-transport").push(title: "机密标题 \(level)", unit: "transport-bureau", classification: level)
            }
            // inspection-2 reads only the general item; office-5 none of them.
            let team = try await drain(try hub.client("inspection-2")).events
            #expect(team.map { ($0["detail"] as? [String: String])?["classification"] } == ["general"])
            #expect(try await drain(try hub.client("office-5")).events.isEmpty)
            let office = try await drain(try hub.client("office-3")).events
            #expect(office.map { ($0["detail"] as? [String: String])?["classification"] } == ["general", "restricted"])
            for event in team + office {
                #expect(Set((event["detail"] as? [String: String] ?? [:]).keys) == ["kind", "classification", "owner", "unit", "via"])
                #expect(!String(describing: event).contains("机密标题"))
            }
        }
    }

    @Test func requestsReviewsAndGrantsReachTheirPrincipals() async throws {
        let clock = TestClock()
        try await TestHub.with(clock: clock) { hub in
            let id = try #require(try await hub.client("stationed-transport").push(unit: "transport-bureau", classification: "restricted").json["id"] as? String)
            let before = try await drain(try hub.client("inspection-2")).cursor
            let asked = try await hub.client("inspection-2").send(.POST, "/v1/requests", body: try JSONSerialization.data(withJSONObject: [
                "items": [id], "reason": "巡视", "duration": "2d"]))
            let requestID = try #require(asked.json["id"] as? String)
            for approver in ["wang.fang", "zhang.wei"] {
                let awaiting = try await drain(try hub.client(approver)).events.filter { $0["type"] as? String == "request.awaiting-review" }
                #expect(awaiting.map { $0["request"] as? String } == [requestID])
                #expect(awaiting.first?["detail"] as? [String: String] == ["requester": "inspection-2", "agency": "inspection-2", "items": "1", "levels": "restricted"])
            }
            #expect(try await drain(try hub.client("li.na")).events.isEmpty, "li.na does not approve restricted items")
            let approved = try await hub.client("wang.fang").send(.POST, "/v1/requests/\(requestID)/approve", body: Data(#"{"comment":"同意"}"#.utf8))
            let grantID = try #require(approved.json["grant_id"] as? String)
            let decided = try await drain(try hub.client("inspection-2"), after: before).events
            #expect(decided.map { $0["type"] as? String } == ["request.decided", "grant.created"])
            #expect((decided[1]["detail"] as? [String: String])?["items"] == id)

            clock.advance(by: 86_400 + 60)  // within 24 h of the 2-day expiry
            try await hub.hub.noteGrantDeadlines()
            try await hub.hub.noteGrantDeadlines()  // given once only
            clock.advance(by: 86_400)
            try await hub.hub.noteGrantDeadlines()
            let notices = try await drain(try hub.client("inspection-2"), after: before).events.dropFirst(2)
            #expect(notices.map { $0["type"] as? String } == ["grant.expiring", "grant.expired"])
            #expect(notices.allSatisfy { $0["grant"] as? String == grantID })
        }
    }

    @Test func aCursorOlderThanTheRetentionGets410AndOneAheadGets400() async throws {
        let clock = TestClock()
        var limits = HubLimits()
        limits.feedRetentionSeconds = 86_400
        try await TestHub.with(clock: clock, limits: limits) { hub in
            _ = try await hub.client("stationed-finance").push(unit: "finance-bureau", classification: "general")
            let old = try await drain(try hub.client("zhang.wei"))
            clock.advance(by: 2 * 86_400)
            let fresh = try #require(try await hub.client("stationed-finance").push(unit: "finance-bureau", classification: "general").json["id"] as? String)
            #expect(try await hub.hub.feeds.prune() >= 1)
            let gone = try await hub.client("zhang.wei").get("/v1/feed?after=0")
            #expect(gone.status == 410)
            #expect(gone.errorCode == "cursor_expired" && gone.errorField == "after")
            #expect(gone.errorMessage.hasPrefix("cursor 0 is older than this hub's feed"))
            // The cursor taken after the pruned event is still good; so is starting afresh.
            #expect(try await drain(try hub.client("zhang.wei"), after: old.cursor).events.map { $0["item"] as? String } == [fresh])
            #expect(try await drain(try hub.client("zhang.wei")).events.map { $0["item"] as? String } == [fresh])
            let ahead = try await hub.client("zhang.wei").get("/v1/feed?after=999999")
            #expect(ahead.status == 400 && ahead.errorField == "after")
            let tooLong = try await hub.client("zhang.wei").get("/v1/feed?wait=61")
            #expect(tooLong.status == 400 && tooLong.errorField == "wait")
            for bad in ["limit=0", "limit=1001", "after=-1", "after=abc"] {
                let response = try await hub.client("zhang.wei").get("/v1/feed?\(bad)")
                #expect(response.status == 400 && ["limit", "after"].contains(response.errorField ?? ""), "\(bad): \(response.text)")
            }
            #expect(try await hub.client("zhang.wei").get("/v1/feed?after=abc").errorMessage == "the query parameter 'after' must be an integer")
        }
    }
}
