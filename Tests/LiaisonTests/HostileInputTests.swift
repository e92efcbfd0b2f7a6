import Foundation
import LiaisonCore
import LiaisonStore
import Testing

/// Inputs from issue 13 that crashed the hub or were answered wrongly, against a live hub over mTLS.
@Suite("Hostile input")
struct HostileInputTests {
    @Test func hugeDurationsAreA400AndTheHubKeepsServing() async throws {
        try await TestHub.with { hub in
            let client = try hub.client("office-3")
            for duration in ["106751991167301d", "2562047788015216h", "9223372036854775807d", "-7d", "٧d", String(repeating: "9", count: 500) + "h"] {
                let body = try JSONSerialization.data(withJSONObject: ["reason": "x", "duration": duration, "unit": "transport-bureau"])
                let response = try await client.send(.POST, "/v1/requests", body: body)
                #expect(response.status == 400, "\(duration)")
                #expect(response.errorField == "duration", "\(duration)")
            }
            #expect(try await client.get("/v1/whoami").status == 200)
        }
    }

    @Test func outOfRangeOrMalformedDatesInTheQueryAreA400NamingTheParameter() async throws {
        try await TestHub.with { hub in
            let auditor = try hub.client("zhao.lei")
            for (query, parameter) in [("since=292277026596-12-04T15:30:08Z", "since"), ("until=292277026596-12-04T15:30:08Z", "until"),
                                       ("since=yesterday", "since"), ("until=2026-13-01T00:00:00Z", "until"),
                                       ("since=0000-01-01T00:00:00Z", "since")] {
                let response = try await auditor.get("/v1/audit?\(query)")
                #expect(response.status == 400, "\(query)")
                #expect(response.errorField == parameter, "\(query): \(response.text)")
                #expect(response.errorCode == "invalid_field", "\(query)")
            }
            let inverted = try await auditor.get("/v1/audit?since=2026-12-01T00:00:00Z&until=2026-11-01T00:00:00Z")
            #expect(inverted.status == 400 && inverted.errorField == "until")
            #expect(try await auditor.get("/v1/audit?since=2026-11-01T00:00:00Z").status == 200)
        }
    }

    @Test func numbersOutOfTheirBoundsAreA400NamingTheParameter() async throws {
        try await TestHub.with { hub in
            let auditor = try hub.client("zhao.lei")
            for (path, field) in [("/v1/audit/heads?limit=1001", "limit"), ("/v1/audit/heads?limit=0", "limit"), ("/v1/audit/heads?after=-1", "after"),
                                  ("/v1/audit?limit=1001", "limit"), ("/v1/audit?after=-5", "after"), ("/v1/audit?after=99999999999999999999", "after"),
                                  ("/v1/feed?limit=1001", "limit"), ("/v1/feed?wait=61", "wait"), ("/v1/feed?wait=-1", "wait"),
                                  ("/v1/feed?after=-1", "after"), ("/v1/items?limit=0", "limit"), ("/v1/items?limit=1001", "limit")] {
                let response = try await auditor.get(path)
                #expect(response.status == 400, "\(path): \(response.text)")
                #expect(response.errorField == field, "\(path): \(response.text)")
            }
        }
    }

    @Test func aReloadedPolicyWithAHugeGrantCapIsRefusedAndTheOldStays() async throws {
        let folder = try PolicyReloadTests.policyCopy()
        let path = folder + "/sharing.yaml"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try text.replacingOccurrences(of: "max_grant: 90d", with: "max_grant: 200000000000000d").write(toFile: path, atomically: true, encoding: .utf8)
        try await TestHub.with { hub in
            await #expect(throws: PolicyError.self) { _ = try await hub.hub.reloadPolicy(from: folder) }
            #expect(hub.hub.policy.levels[.general]?.approval?.maxGrant == Period("90d"))
            let whoami = try await hub.client("office-3").get("/v1/whoami")
            #expect(whoami.status == 200)
        }
    }
}
