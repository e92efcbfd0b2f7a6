import Foundation
import Testing

/// The lead ledger over mTLS: transitions, who may move a lead, and a hand-over making it readable.
@Suite("Leads")
struct LeadTests {
    func move(_ hub: RunningHub, _ id: String, as principal: String, _ fields: [String: String]) async throws -> TestClient.Response {
        try await hub.client(principal).send(.PATCH, "/v1/items/\(id)", body: try JSONSerialization.data(withJSONObject: fields))
    }

    @Test func everyIllegalTransitionIs409NamingTheAllowedOnes() async throws {
        try await TestHub.with { hub in
            let id = try #require(try await hub.client("stationed-transport").push(kind: "lead", title: "路桥项目线索", unit: "transport-bureau",
                                                                                   classification: "restricted").json["id"] as? String)
            let steps: [(String, [String: String], Int, String?)] = [
                ("open", ["status": "open"], 409, "lead \(id) is open and can move only to handed-over or in-progress"),
                ("open", ["status": "closed", "disposition": "x"], 409, "lead \(id) is open and can move only to handed-over or in-progress"),
                ("open", ["status": "handed-over", "holder": "stationed-finance"], 200, nil),
                ("handed-over", ["status": "closed", "disposition": "x"], 409, "lead \(id) is handed-over and can move only to in-progress or handed-over"),
                ("handed-over", ["status": "open"], 409, "lead \(id) is handed-over and can move only to in-progress or handed-over"),
                ("handed-over", ["status": "in-progress"], 200, nil),
                ("in-progress", ["status": "open"], 409, "lead \(id) is in-progress and can move only to handed-over or closed"),
                ("in-progress", ["status": "in-progress"], 409, "lead \(id) is in-progress and can move only to handed-over or closed"),
                ("in-progress", ["status": "closed", "disposition": "立案审查"], 200, nil),
                ("closed", ["status": "in-progress"], 409, "lead \(id) is closed; a closed lead does not move"),
                ("closed", ["status": "handed-over", "holder": "office-3"], 409, "lead \(id) is closed; a closed lead does not move"),
            ]
            for (from, fields, status, message) in steps {
                let response = try await move(hub, id, as: "stationed-transport", fields)
                #expect(response.status == status, "\(from) -> \(fields)")
                if let message {
                    #expect(response.errorCode == "illegal_transition" && response.errorMessage == message, "\(from) -> \(fields)")
                } else {
                    #expect(response.json["status"] as? String == fields["status"])
                }
            }
            let closed = try await hub.client("stationed-transport").get("/v1/leads")
            let entry = try #require((closed.json["leads"] as? [[String: Any]])?.first)
            #expect(entry["status"] as? String == "closed" && entry["disposition"] as? String == "立案审查" && entry["holder"] as? String == "stationed-finance")
        }
    }

    @Test func onlyTheOwnerOrHolderMovesALeadAndBadMovesAre400s() async throws {
        try await TestHub.with { hub in
            let id = try #require(try await hub.client("stationed-transport").push(kind: "lead", title: "线索", unit: "transport-bureau",
                                                                                   classification: "restricted").json["id"] as? String)
            let report = try #require(try await hub.client("stationed-transport").push(kind: "report", unit: "transport-bureau", classification: "general").json["id"] as? String)
            let notLead = try await move(hub, report, as: "stationed-transport", ["status": "in-progress"])
            #expect(notLead.status == 400 && notLead.errorField == "status" && notLead.errorMessage == "item \(report) is a report, and only leads have a status")
            // stationed-finance sees the lead withheld, office-5 not at all.
            let outsider = try await move(hub, id, as: "stationed-finance", ["status": "in-progress"])
            #expect(outsider.status == 403 && outsider.errorCode == "not_owner_or_holder")
            #expect(try await move(hub, id, as: "office-5", ["status": "in-progress"]).status == 404)
            for (fields, field) in [(["status": "handed-over"], "holder"), (["status": "handed-over", "holder": "moon-agency"], "holder"),
                                    (["status": "handed-over", "holder": "stationed-transport"], "holder"), (["status": "paused"], "status"), ([:], "status")] {
                let response = try await move(hub, id, as: "stationed-transport", fields)
                #expect(response.status == 400 && response.errorField == field, "\(fields)")
            }
            #expect(try await move(hub, id, as: "stationed-transport", ["status": "in-progress"]).status == 200)
            let noDisposition = try await move(hub, id, as: "stationed-transport", ["status": "closed", "disposition": "  "])
            #expect(noDisposition.status == 400 && noDisposition.errorField == "disposition")
        }
    }

    @Test func aHandedOverLeadBecomesReadableToItsNewHolderWhoCanMoveIt() async throws {
        try await TestHub.with { hub in
            let id = try #require(try await hub.client("stationed-transport").push(kind: "lead", title: "移交线索", unit: "transport-bureau", classification: "confidential",
                                                                                   payload: Data("线索详情".utf8)).json["id"] as? String)
            #expect(try await hub.client("stationed-health").get("/v1/items/\(id)").status == 404)
            let handed = try await move(hub, id, as: "stationed-transport", ["status": "handed-over", "holder": "stationed-health"])
            #expect(handed.status == 200 && handed.json["holder"] as? String == "stationed-health")
            // The new holder reads it, metadata and payload (sealed to its certificate), lists it, and sees it in its ledger and feed.
            let metadata = try await hub.client("stationed-health").get("/v1/items/\(id)")
            #expect(metadata.status == 200 && metadata.json["title"] as? String == "移交线索")
            #expect(try await hub.client("stationed-health").payload(id).plaintext == Data("线索详情".utf8))
            #expect((try await hub.client("stationed-health").get("/v1/items").json["items"] as? [[String: Any]])?.map { $0["id"] as? String } == [id])
            let ledger = try await hub.client("stationed-health").get("/v1/leads")
            #expect((ledger.json["leads"] as? [[String: Any]])?.map { $0["status"] as? String } == ["handed-over"])
            let feed = try await hub.client("stationed-health").get("/v1/feed")
            #expect((feed.json["events"] as? [[String: Any]])?.map { $0["type"] as? String } == ["lead.changed", "item.readable"])
            // The holder moves it on; the owner's agency hears of it.
            #expect(try await move(hub, id, as: "stationed-health", ["status": "in-progress"]).status == 200)
            let ownerFeed = try await hub.client("wang.fang").get("/v1/feed")
            #expect((ownerFeed.json["events"] as? [[String: Any]])?.last?["detail"] as? [String: String] == ["from": "handed-over", "to": "in-progress", "holder": "stationed-health"])
            // Handed on again, the former holder loses it.
            #expect(try await move(hub, id, as: "stationed-health", ["status": "handed-over", "holder": "office-5"]).status == 200)
            #expect(try await hub.client("stationed-health").get("/v1/items/\(id)").status == 404)
            #expect(try await hub.client("office-5").get("/v1/items/\(id)").status == 200)
        }
    }
}
