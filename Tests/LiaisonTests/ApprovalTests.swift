import Foundation
import GRDB
import LiaisonStore
import Testing

/// Access requests, reviews and grants over mTLS with the example policy and an injected clock.
@Suite("Approval-gated sharing")
struct ApprovalTests {
    /// Pushes one item per level as stationed-transport about transport-bureau; returns level -> id.
    func pushOnePerLevel(_ hub: RunningHub) async throws -> [String: String] {
        var ids: [String: String] = [:]
        for level in ["general", "restricted", "confidential"] {
            let response = try await hub.client("stationed-transport").push(title: "\(level) 标题", unit: "transport-bureau", classification: level,
                                                                            payload: Data("\(level) 内容".utf8))
            ids[level] = try #require(response.json["id"] as? String)
        }
        return ids
    }

    func ask(_ hub: RunningHub, as principal: String, _ fields: [String: Any]) async throws -> TestClient.Response {
        try await hub.client(principal).send(.POST, "/v1/requests", body: try JSONSerialization.data(withJSONObject: fields))
    }

    func review(_ hub: RunningHub, _ verdict: String, _ id: String, as principal: String, comment: String? = "同意") async throws -> TestClient.Response {
        try await hub.client(principal).send(.POST, "/v1/requests/\(id)/\(verdict)", body: try JSONSerialization.data(withJSONObject: comment.map { ["comment": $0] } ?? [:]))
    }

    func items(_ response: TestClient.Response) -> [[String: Any]] { response.json["items"] as? [[String: Any]] ?? [] }

    @Test func generalAndRestrictedNeedOneApprovalFromTheOwnersAgencyOrItsOffice() async throws {
        try await TestHub.with { hub in
            let ids = try await pushOnePerLevel(hub)
            // The commission sees a withheld stub of the general item; inspection-2 one of the restricted item.
            for (level, requester, approver) in [("general", "commission", "wang.fang"), ("restricted", "inspection-2", "zhang.wei")] {
                let id = ids[level]!
                #expect(try await hub.client(requester).get("/v1/items/\(id)/payload").status == 403)
                let asked = try await ask(hub, as: requester, ["items": [id], "reason": "日常监督需要", "duration": "7d"])
                #expect(asked.status == 201, "\(asked.text)")
                #expect(asked.json["status"] as? String == "pending")
                #expect(asked.json["agency"] as? String == requester)
                let item = try #require(items(asked).first)
                #expect(item["eligible_approvers"] as? [String] == ["wang.fang", "zhang.wei"])
                #expect(item["approvals_needed"] as? Int == 1)
                let requestID = try #require(asked.json["id"] as? String)

                let approved = try await review(hub, "approve", requestID, as: approver)
                #expect(approved.status == 200)
                #expect(approved.json["status"] as? String == "approved")
                let grantID = try #require(approved.json["grant_id"] as? String)
                let payload = try await hub.client(requester).get("/v1/items/\(id)/payload")
                #expect(payload.status == 200 && payload.text == "\(level) 内容")
                #expect(try await hub.client(requester).get("/v1/items/\(id)").json["title"] as? String == "\(level) 标题")
                let grants = try await hub.client(requester).get("/v1/grants")
                let grant = try #require((grants.json["grants"] as? [[String: Any]])?.first { $0["id"] as? String == grantID })
                #expect(grant["items"] as? [String] == [id])
                #expect(grant["status"] as? String == "active" && grant["held"] as? Bool == true && grant["revocable"] as? Bool == false)
                // The grant lasts exactly the duration asked for, from the approval.
                #expect(grant["expires_at"] as? String == Self.timestamp(7 * 86_400, from: TestClock.insideWindow))
            }
        }
    }

    @Test func confidentialNeedsTwoApprovalsOneFromTheCommission() async throws {
        let clock = TestClock()
        try await TestHub.with(clock: clock) { hub in
            let id = try await pushOnePerLevel(hub)["confidential"]!
            let asked = try await ask(hub, as: "office-3", ["items": [id], "reason": "线索核查", "duration": "14d"])
            #expect(asked.status == 201, "\(asked.text)")
            let requestID = try #require(asked.json["id"] as? String)
            let item = try #require(items(asked).first)
            // zhang.wei approves for office-3 and so may not review office-3's own request.
            #expect(item["eligible_approvers"] as? [String] == ["chen.jie", "li.na", "wang.fang"])
            #expect(item["approvals_needed"] as? Int == 2 && item["commission_approval_needed"] as? Bool == true)

            let first = try await review(hub, "approve", requestID, as: "wang.fang")
            #expect(first.json["status"] as? String == "pending")
            #expect(items(first).first?["approvals_needed"] as? Int == 1)
            #expect(items(first).first?["commission_approval_needed"] as? Bool == true)
            #expect(try await hub.client("office-3").get("/v1/items/\(id)/payload").status == 403)

            let own = try await review(hub, "approve", requestID, as: "zhang.wei")
            #expect(own.status == 403 && own.errorCode == "own_agency_request")
            let twice = try await review(hub, "approve", requestID, as: "wang.fang")
            #expect(twice.status == 403 && twice.errorCode == "already_reviewed")
            let auditor = try await review(hub, "approve", requestID, as: "zhao.lei")
            #expect(auditor.status == 403 && auditor.errorCode == "not_an_approver")

            clock.advance(by: 3600)
            let second = try await review(hub, "approve", requestID, as: "li.na", comment: "同意，限期十四天")
            #expect(second.json["status"] as? String == "approved")
            #expect((second.json["reviews"] as? [[String: Any]])?.map { $0["reviewer"] as? String } == ["wang.fang", "li.na"])
            let (payload, plaintext) = try await hub.client("office-3").payload(id)
            #expect(payload.isSealed && plaintext == Data("confidential 内容".utf8))
            // People read as their agency: zhang.wei of office-3 holds the grant too.
            #expect(try await hub.client("zhang.wei").payload(id).plaintext == Data("confidential 内容".utf8))
            // Others still do not.
            #expect(try await hub.client("inspection-2").get("/v1/items/\(id)/payload").status == 403)
            let closed = try await review(hub, "deny", requestID, as: "chen.jie")
            #expect(closed.status == 409 && closed.errorCode == "request_closed")
        }
    }

    @Test func twoCommissionApprovalsAlsoSatisfyTheConfidentialRule() async throws {
        try await TestHub.with { hub in
            let id = try await pushOnePerLevel(hub)["confidential"]!
            let requestID = try #require(try await ask(hub, as: "inspection-2", ["items": [id], "reason": "巡视准备", "duration": "3d"]).json["id"] as? String)
            #expect(try await review(hub, "approve", requestID, as: "chen.jie").json["status"] as? String == "pending")
            #expect(try await review(hub, "approve", requestID, as: "li.na").json["status"] as? String == "approved")
        }
    }

    @Test func oneEligibleDenyEndsTheRequestAndSelfReviewIsRefused() async throws {
        try await TestHub.with { hub in
            let id = try await pushOnePerLevel(hub)["confidential"]!
            let requestID = try #require(try await ask(hub, as: "zhang.wei", ["items": [id], "reason": "复核", "duration": "1d"]).json["id"] as? String)
            let own = try await review(hub, "approve", requestID, as: "zhang.wei")
            #expect(own.status == 403 && own.errorCode == "own_request")
            #expect(try await review(hub, "approve", requestID, as: "wang.fang").json["status"] as? String == "pending")
            let denied = try await review(hub, "deny", requestID, as: "chen.jie", comment: "理由不足")
            #expect(denied.json["status"] as? String == "denied")
            #expect(denied.json["grant_id"] == nil)
            let late = try await review(hub, "approve", requestID, as: "li.na")
            #expect(late.status == 409 && late.errorCode == "request_closed")
            #expect(try await hub.client("office-3").get("/v1/items/\(id)/payload").status == 403)
            let noComment = try await review(hub, "deny", requestID, as: "li.na", comment: nil)
            #expect(noComment.status == 400 && noComment.errorField == "comment")
        }
    }

    @Test func requestsAndGrantsExpireAndRevocationTakesEffectOnTheNextRead() async throws {
        let clock = TestClock()
        try await TestHub.with(clock: clock) { hub in
            let ids = try await pushOnePerLevel(hub)
            // An undecided request expires after the policy's lifetime (7 days).
            let stale = try #require(try await ask(hub, as: "commission", ["items": [ids["general"]!], "reason": "r", "duration": "1d"]).json["id"] as? String)
            clock.advance(by: 7 * 86_400)
            #expect(try await hub.client("commission").get("/v1/requests/\(stale)").json["status"] as? String == "expired")
            let late = try await review(hub, "approve", stale, as: "wang.fang")
            #expect(late.status == 409 && late.errorCode == "request_closed")
            #expect(late.errorMessage == "request \(stale) is expired; it takes no more reviews")

            // A grant stops at its expiry, checked on the read itself.
            let timed = try #require(try await ask(hub, as: "commission", ["items": [ids["general"]!], "reason": "r", "duration": "1d"]).json["id"] as? String)
            #expect(try await review(hub, "approve", timed, as: "wang.fang").json["status"] as? String == "approved")
            #expect(try await hub.client("li.na").get("/v1/items/\(ids["general"]!)/payload").status == 200)
            clock.advance(by: 86_400 - 1)
            #expect(try await hub.client("li.na").get("/v1/items/\(ids["general"]!)/payload").status == 200)
            clock.advance(by: 1)
            #expect(try await hub.client("li.na").get("/v1/items/\(ids["general"]!)/payload").status == 403)
            #expect(try await hub.client("li.na").get("/v1/items/\(ids["general"]!)").json["access"] as? String == "withheld")

            // Revocation: the holder may not revoke, an outsider does not see the grant, an approver of the item revokes at once.
            let revocable = try #require(try await ask(hub, as: "inspection-2", ["items": [ids["restricted"]!], "reason": "r", "duration": "30d"]).json["id"] as? String)
            let grantID = try #require(try await review(hub, "approve", revocable, as: "wang.fang").json["grant_id"] as? String)
            #expect(try await hub.client("inspection-2").get("/v1/items/\(ids["restricted"]!)/payload").status == 200)
            let byHolder = try await hub.client("inspection-2").send(.DELETE, "/v1/grants/\(grantID)")
            #expect(byHolder.status == 403 && byHolder.errorCode == "not_an_approver")
            #expect(try await hub.client("office-5").send(.DELETE, "/v1/grants/\(grantID)").status == 404)
            let listed = try await hub.client("zhang.wei").get("/v1/grants")
            #expect((listed.json["grants"] as? [[String: Any]])?.first { $0["id"] as? String == grantID }?["revocable"] as? Bool == true)
            let revoked = try await hub.client("zhang.wei").send(.DELETE, "/v1/grants/\(grantID)")
            #expect(revoked.status == 200)
            #expect(revoked.json["status"] as? String == "revoked" && revoked.json["revoked_by"] as? String == "zhang.wei")
            #expect(try await hub.client("inspection-2").get("/v1/items/\(ids["restricted"]!)/payload").status == 403)
            let again = try await hub.client("zhang.wei").send(.DELETE, "/v1/grants/\(grantID)")
            #expect(again.status == 409 && again.errorCode == "grant_closed")
        }
    }

    @Test func badRequestsAre400sNamingTheOffendingPart() async throws {
        try await TestHub.with { hub in
            let ids = try await pushOnePerLevel(hub)
            let cases: [([String: Any], String, String)] = [
                (["items": ["0000000000000000"], "reason": "r", "duration": "1d"], "items", "item 0000000000000000 does not exist or is not visible to you"),
                (["items": [ids["general"]!], "reason": "r", "duration": "1d"], "items", "you can already read item \(ids["general"]!)"),
                (["items": [ids["confidential"]!], "duration": "1d"], "reason", "the field 'reason' is missing"),
                (["items": [ids["confidential"]!], "reason": "  ", "duration": "1d"], "reason", "a request needs a reason"),
                (["items": [ids["confidential"]!], "reason": "r", "duration": "15d"], "duration", "15d is longer than the 14d the policy allows for confidential items"),
                (["items": [ids["confidential"]!], "reason": "r", "duration": "a week"], "duration", "'a week' is not a duration"),
                (["items": [ids["confidential"]!], "reason": "r"], "duration", "the field 'duration' is missing"),
                (["items": [ids["confidential"]!], "unit": "transport-bureau", "reason": "r", "duration": "1d"], "items", "give one of items, unit or alert"),
                (["unit": "moon-bureau", "reason": "r", "duration": "1d"], "unit", "unknown unit 'moon-bureau'"),
            ]
            for (fields, field, message) in cases {
                let response = try await ask(hub, as: "office-3", fields)
                #expect(response.status == 400, "\(fields)")
                #expect(response.errorField == field, "\(fields)")
                #expect(response.errorMessage == message, "\(fields)")
            }
            // The cap is that of the highest level asked for.
            let mixed = try await ask(hub, as: "inspection-2", ["items": [ids["restricted"]!, ids["confidential"]!], "reason": "r", "duration": "20d"])
            #expect(mixed.status == 400 && mixed.errorField == "duration")
            #expect(mixed.errorMessage == "20d is longer than the 14d the policy allows for confidential items")
            // A hidden item is not confirmed to exist: office-5 gets the same answer as for an unknown id.
            let hidden = try await ask(hub, as: "office-5", ["items": [ids["general"]!], "reason": "r", "duration": "1d"])
            #expect(hidden.errorMessage == "item \(ids["general"]!) does not exist or is not visible to you")
        }
    }

    @Test(.sqliteFile) func aRequestStoredBeforeItsSubjectsWereKeptIsSummedUpFromItsItems() async throws {
        try await TestHub.with { hub in
            let ids = try await pushOnePerLevel(hub)
            let asked = try await ask(hub, as: "inspection-2", ["items": [ids["restricted"]!, ids["confidential"]!], "reason": "r", "duration": "1d"])
            let requestID = try #require(asked.json["id"] as? String)
            func summary(as principal: String, _ path: String) async throws -> [String: Any]? {
                try await hub.client(principal).get(path).json["requests"].flatMap { $0 as? [[String: Any]] }?.first { $0["id"] as? String == requestID }
            }
            let kept = try #require(try await summary(as: "inspection-2", "/v1/requests?mine=true"))
            #expect(kept["item_count"] as? Int == 2 && kept["levels"] as? [String] == ["restricted", "confidential"] && kept["approvals_needed"] as? Int == 2)
            #expect(try await summary(as: "li.na", "/v1/requests") != nil)
            // As a hub before subjects were kept stored it.
            let queue = try DatabaseQueue(path: hub.dataDirectory + "/liaison.sqlite")
            try await queue.write { try $0.execute(sql: "UPDATE access_request SET subjects = '[]' WHERE id = ?", arguments: [requestID]) }
            try queue.close()
            let read = try #require(try await summary(as: "inspection-2", "/v1/requests?mine=true"))
            #expect(read["item_count"] as? Int == 2 && read["levels"] as? [String] == ["restricted", "confidential"] && read["approvals_needed"] as? Int == 2)
            #expect(read["commission_approval_needed"] as? Bool == true)
            #expect(try await summary(as: "li.na", "/v1/requests") != nil, "still awaiting li.na, who approves the confidential item")
            #expect(try await summary(as: "office-5", "/v1/requests") == nil)
        }
    }

    @Test func aUnitRequestCoversExactlyWhatTheRequesterSeesWithheldAndApproversSeeNoConfidentialTitle() async throws {
        try await TestHub.with { hub in
            let ids = try await pushOnePerLevel(hub)
            // inspection-2 reads the general item already and sees the other two withheld.
            let asked = try await ask(hub, as: "inspection-2", ["unit": "transport-bureau", "reason": "巡视前准备", "duration": "14d"])
            #expect(asked.status == 201, "\(asked.text)")
            #expect(items(asked).map { $0["id"] as? String } == [ids["restricted"]!, ids["confidential"]!])
            #expect(asked.json["unit"] as? String == "transport-bureau")
            #expect(items(asked).allSatisfy { $0["title"] == nil }, "the requester sees stubs")
            let requestID = try #require(asked.json["id"] as? String)

            // The approvers' queue: each sees it once, summed up (its items are in the request itself), with titles only
            // where the level does not seal them.
            let queue = try await hub.client("li.na").get("/v1/requests")
            let awaiting = try #require((queue.json["requests"] as? [[String: Any]])?.first { $0["id"] as? String == requestID })
            #expect(awaiting["items"] == nil)
            #expect(awaiting["item_count"] as? Int == 2)
            #expect(awaiting["levels"] as? [String] == ["restricted", "confidential"])
            #expect(awaiting["approvals_needed"] as? Int == 2)
            #expect(awaiting["commission_approval_needed"] as? Bool == true)
            let seen = items(try await hub.client("li.na").get("/v1/requests/\(requestID)"))
            #expect(seen.first { $0["classification"] as? String == "restricted" }?["title"] == nil, "li.na is no approver of restricted items: no title")
            #expect(seen.first { $0["classification"] as? String == "confidential" }?["title"] == nil)
            let office = try await hub.client("zhang.wei").get("/v1/requests/\(requestID)")
            #expect(items(office).first { $0["classification"] as? String == "restricted" }?["title"] as? String == "restricted 标题")
            #expect(items(office).first { $0["classification"] as? String == "confidential" }?["title"] == nil)
            #expect(try await hub.client("office-5").get("/v1/requests/\(requestID)").status == 404)

            // zhang.wei (office-3) satisfies the restricted item but the confidential one needs more.
            let partial = try await review(hub, "approve", requestID, as: "zhang.wei")
            #expect(partial.json["status"] as? String == "pending")
            #expect(items(partial).map { $0["approvals_needed"] as? Int } == [0, 1])
            let drained = try await hub.client("zhang.wei").get("/v1/requests")
            #expect((drained.json["requests"] as? [[String: Any]])?.contains { $0["id"] as? String == requestID } == false, "no longer awaiting zhang.wei")
            #expect(try await review(hub, "approve", requestID, as: "li.na").json["status"] as? String == "approved")
            let mine = try await hub.client("inspection-2").get("/v1/requests?mine=true&status=approved")
            #expect((mine.json["requests"] as? [[String: Any]])?.map { $0["id"] as? String } == [requestID])
            #expect(try await hub.client("inspection-2").get("/v1/items/\(ids["confidential"]!)/payload").status == 200)
        }
    }

    @Test func everyRequestReviewAndRevocationIsInTheTrail() async throws {
        try await TestHub.with { hub in
            let id = try await pushOnePerLevel(hub)["restricted"]!
            let requestID = try #require(try await ask(hub, as: "inspection-2", ["items": [id], "reason": "巡视", "duration": "2d"]).json["id"] as? String)
            _ = try await review(hub, "approve", requestID, as: "inspection-2")
            _ = try await hub.client("zhang.wei").get("/v1/requests/\(requestID)")
            let grantID = try #require(try await review(hub, "approve", requestID, as: "wang.fang").json["grant_id"] as? String)
            _ = try await hub.client("wang.fang").send(.DELETE, "/v1/grants/\(grantID)")
            let trail = try await hub.store.auditEntries(matching: AuditQuery(item: requestID)).map(\.record)
            #expect(trail.map { "\($0.actor) \($0.action) \($0.outcome)" } == [
                "inspection-2 createRequest ok", "inspection-2 approveRequest refused", "zhang.wei getRequest ok", "wang.fang approveRequest ok",
            ])
            #expect(trail[0].detail == ["items": "1", "duration": "2d", "reason": "巡视"])
            #expect(trail[1].detail == ["code": "own_request"])
            #expect(trail[3].detail == ["status": "approved", "grant": grantID])
            #expect(trail[3].targets == [requestID, id])
            let revocation = try await hub.store.auditEntries(matching: AuditQuery(item: grantID)).map(\.record)
            #expect(revocation.map { "\($0.actor) \($0.action) \($0.outcome)" } == ["wang.fang revokeGrant ok"])
            #expect(revocation.first?.detail == ["agency": "inspection-2", "request": requestID])
        }
    }

    static func timestamp(_ seconds: Int64, from start: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: start.addingTimeInterval(Double(seconds)))
    }
}
