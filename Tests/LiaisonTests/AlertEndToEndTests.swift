import Foundation
import Testing

/// Risk alerts over mTLS with the example policy and the real CLI: three petitions about one unit reach the feeds of
/// the unit's stationed group, its office and the commission's approvers; `liaison alerts` lists the alert and
/// `liaison request --alert` asks, in one step, for the items behind it the asker cannot read.
@Suite("Risk alerts end to end")
struct AlertEndToEndTests {
    func liaison(_ hub: RunningHub, _ arguments: [String]) async throws -> ProcessResult {
        try await ProcessRunner.runAsync(Paths.binaries + "/liaison", arguments,
                                         environment: ["LIAISON_DEV_CERTS": TestPKI.shared.directory, "LIAISON_URL": hub.baseURL])
    }

    func request(_ hub: RunningHub, as principal: String, _ fields: [String: Any]) async throws -> TestClient.Response {
        try await hub.client(principal).send(.POST, "/v1/requests", body: try JSONSerialization.data(withJSONObject: fields))
    }

    @Test func petitionsGatheringOnAUnitAlertThoseTheRuleNamesAndOneStepAsksForWhatTheyCannotRead() async throws {
        try await TestHub.with { hub in
            var ids: [String] = []
            for (pusher, level) in [("stationed-transport", "general"), ("stationed-finance", "restricted"), ("office-5", "confidential")] {
                let pushed = try await hub.client(pusher).push(kind: "petition", title: "信访件 \(level)", unit: "transport-bureau", classification: level,
                                                               payload: Data("信访内容 \(level)".utf8), overrides: ["persons": ["\(level)-某人"]])
                ids.append(try #require(pushed.json["id"] as? String, "\(pushed.text)"))
            }
            // The office leading the unit's group hears of it in its feed: rule, unit and counts, no title, payload or name.
            let feed = try await hub.client("office-3").get("/v1/feed?limit=1000")
            let alerts = (feed.json["events"] as? [[String: Any]] ?? []).filter { $0["type"] as? String == "risk.alert" }
            #expect(alerts.count == 1, "\(feed.text)")
            let detail = try #require(alerts.first?["detail"] as? [String: String])
            let alertID = try #require(detail["alert"])
            #expect(detail["rule"] == "petitions-about-unit" && detail["units"] == "transport-bureau" && detail["items"] == "3")
            #expect(detail["agencies"] == "office-5:1,stationed-finance:1,stationed-transport:1" && alerts.first?["item"] == nil)
            for secret in ["信访件", "信访内容", "某人"] { #expect(!feed.text.contains(secret), "\(secret)") }

            // Listed for office-3, which reads two of the items (it leads both groups) but not office-5's confidential one.
            let listed = try await hub.client("zhang.wei").get("/v1/alerts")
            #expect(listed.status == 200, "\(listed.text)")
            let entry = try #require((listed.json["alerts"] as? [[String: Any]])?.first)
            #expect(entry["id"] as? String == alertID && entry["items"] as? Int == 3 && entry["unread"] as? Int == 1)
            #expect(entry["rule_name"] as? String == "同一单位信访集中 (petitions gathering on one unit)")
            #expect((entry["agencies"] as? [[String: Any]])?.map { "\($0["agency"] ?? "")=\($0["items"] ?? "")" } == ["office-5=1", "stationed-finance=1", "stationed-transport=1"])
            // An auditor sees every alert; a principal the rule does not name sees none.
            #expect((try await hub.client("zhao.lei").get("/v1/alerts").json["alerts"] as? [Any])?.count == 1)
            #expect((try await hub.client("sun.hao").get("/v1/alerts").json["alerts"] as? [Any])?.isEmpty == true)
            #expect((try await hub.client("office-5").get("/v1/alerts").json["alerts"] as? [Any])?.isEmpty == true)

            // The CLI lists it, and one command asks for the item behind it that zhang.wei's agency cannot read.
            let table = try await liaison(hub, ["alerts", "--as", "zhang.wei"])
            #expect(table.status == 0 && table.stdout.contains(alertID) && table.stdout.contains("petitions-about-unit"), "\(table.stderr)")
            #expect(table.stdout.contains("liaison request --alert ID"))
            let asked = try await liaison(hub, ["request", "--alert", alertID, "--reason", "信访集中核查", "--for", "7d", "--json", "--as", "zhang.wei"])
            #expect(asked.status == 0, "\(asked.stderr)")
            let created = try #require(try JSONSerialization.jsonObject(with: asked.stdoutData) as? [String: Any])
            #expect((created["items"] as? [[String: Any]])?.map { $0["id"] as? String } == [ids[2]])
            // The commission's approvers see it awaiting them, marked with the alert.
            let awaiting = try await hub.client("li.na").get("/v1/feed?limit=1000")
            let review = (awaiting.json["events"] as? [[String: Any]] ?? []).first { $0["type"] as? String == "request.awaiting-review" }
            #expect((review?["detail"] as? [String: String])?["alert"] == alertID)
            // The stationed group in the unit sees the other two withheld: it may ask for both.
            let group = try await request(hub, as: "wang.fang", ["alert": alertID, "reason": "核查", "duration": "7d"])
            #expect(group.status == 201, "\(group.text)")
            #expect((group.json["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String }.sorted() == [ids[1], ids[2]].sorted())

            // An alert not sent to the asker, or none at all, is the same 400; and one of items, unit or alert is needed.
            for (principal, id) in [("office-5", alertID), ("office-3", "01NOSUCHALERT")] {
                let refused = try await request(hub, as: principal, ["alert": id, "reason": "核查", "duration": "7d"])
                #expect(refused.status == 400 && refused.errorField == "alert", "\(refused.text)")
                #expect(refused.errorMessage.contains("does not exist or was not sent to you"), "\(refused.text)")
            }
            let both = try await request(hub, as: "office-3", ["alert": alertID, "unit": "transport-bureau", "reason": "核查", "duration": "7d"])
            #expect(both.status == 400 && both.errorMessage.contains("give one of items, unit or alert"), "\(both.text)")
            let usage = try await liaison(hub, ["request", "--alert", alertID, "--unit", "transport-bureau", "--reason", "x", "--for", "7d", "--as", "office-3"])
            #expect(usage.status != 0 && usage.stderr.contains("give one of --items ID..., --unit UNIT or --alert ID"))

            // The trail holds the alert, raised by the hub.
            let trail = try await hub.client("zhao.lei").get("/v1/audit?action=raiseAlert")
            let raised = try #require((trail.json["entries"] as? [[String: Any]])?.first, "\(trail.text)")
            #expect(raised["actor"] as? String == "hub" && (raised["targets"] as? [String]) == [alertID] + ids)
        }
    }
}
