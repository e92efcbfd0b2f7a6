import AsyncHTTPClient
import Foundation
import LiaisonServer
import NIOCore
import Testing

/// The metrics listener, scraped over plain HTTP as Prometheus would, before and after known traffic.
@Suite("Metrics")
struct MetricsTests {
    /// As long as the API's test client waits: a scrape reads the gauges from the store, which on a loaded machine's
    /// PostgreSQL pass (every suite's hubs on one cluster) took over 10 s.
    static let patience = TimeAmount.seconds(60)

    /// Each sample of a scrape, by its name and labels exactly as exposed (`name{a="1",b="2"}`).
    static func scrape(_ port: Int) async throws -> (samples: [String: Double], response: HTTPClientResponse) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: Self.patience)
        let text = String(buffer: try await response.body.collect(upTo: 4 << 20))
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return (samples, response)
    }

    @Test func countersMoveByExactlyTheTrafficAndGaugesShowTheHub() async throws {
        try await TestHub.with(metrics: true) { hub in
            let port = try #require(hub.metricsPort)
            let (before, response) = try await Self.scrape(port)
            #expect(response.status == .ok)
            #expect(response.headers["content-type"].first?.hasPrefix("text/plain; version=0.0.4") == true)

            let owner = try hub.client("stationed-transport")
            for _ in 0..<3 { #expect(try await owner.push(unit: "transport-bureau", classification: "general").status == 201) }
            let confidential = try await owner.push(unit: "transport-bureau", classification: "confidential")
            #expect(confidential.status == 201)
            let id = try #require(confidential.json["id"] as? String)
            #expect(try await owner.push(unit: "transport-bureau", classification: "general", key: "k1").status == 201)
            #expect(try await owner.push(unit: "transport-bureau", classification: "general", key: "k1").status == 200, "a replay is no new push")
            let office = try hub.client("office-3")
            #expect(try await office.get("/v1/items/01NOSUCHITEM").status == 404)
            #expect(try await office.get("/v1/items?limit=10").status == 200)
            let request = try JSONSerialization.data(withJSONObject: ["items": [id], "reason": "inspection", "duration": "7d"])
            #expect(try await office.send(.POST, "/v1/requests", body: request, headers: [("Content-Type", "application/json")]).status == 201)

            let (after, _) = try await Self.scrape(port)
            func moved(_ sample: String) -> Double { (after[sample] ?? 0) - (before[sample] ?? 0) }
            #expect(moved(#"liaison_requests_total{operation="pushItem",status="201"}"#) == 5)
            #expect(moved(#"liaison_requests_total{operation="pushItem",status="200"}"#) == 1)
            #expect(moved(#"liaison_requests_total{operation="getItem",status="404"}"#) == 1)
            #expect(moved(#"liaison_requests_total{operation="listItems",status="200"}"#) == 1)
            #expect(moved(#"liaison_requests_total{operation="createRequest",status="201"}"#) == 1)
            #expect(moved(#"liaison_request_duration_seconds_count{operation="pushItem"}"#) == 6)
            #expect(moved(#"liaison_pushes_total{classification="general"}"#) == 4)
            #expect(moved(#"liaison_pushes_total{classification="confidential"}"#) == 1)
            #expect(moved(#"liaison_refusals_total{code="not_found"}"#) == 1)
            // Nine durable writes: six pushes (the replay too: it is traced), the refused read, the listing and
            // the request; fewer commits when some of them shared one.
            #expect(moved("liaison_commit_batch_writes_sum") == 9)
            #expect(moved("liaison_commit_duration_seconds_count") >= 1)
            #expect(moved("liaison_commit_duration_seconds_count") <= 9)

            let head = try await hub.store.auditHead()
            #expect(after["liaison_audit_chain_entries"] == Double(head.seq))
            #expect(after["liaison_access_requests_pending"] == 1)
            #expect(after["liaison_grants_active"] == 0)
            #expect(after["liaison_feed_long_polls_waiting"] == 0)
            #expect(after["liaison_key_ring_versions"] == 1)
            #expect(after[#"liaison_key_ring_data_keys{version="1"}"#] == 1)
            #expect((after["liaison_connections_open"] ?? 0) >= 1)
            #expect(after["liaison_answer_budget_bytes_held"] == 0)
            #expect(after["liaison_answer_budget_bytes"] == Double(256 << 20))
            let taken = try? hub.hub.answers.hold(3 << 20)
            let (holding, _) = try await Self.scrape(port)
            #expect(holding["liaison_answer_budget_bytes_held"] == Double(3 << 20) && taken != nil)
            #expect(after["liaison_audit_seconds_since_signed_head"] == nil, "no head is signed yet")
            _ = try await hub.hub.audit.signHead()
            let (signed, _) = try await Self.scrape(port)
            #expect(signed["liaison_audit_signed_through"] == Double(head.seq))
            #expect((signed["liaison_audit_seconds_since_signed_head"] ?? -1) >= 0)
        }
    }

    @Test func theMetricsListenerServesNothingOfTheAPI() async throws {
        try await TestHub.with(metrics: true) { hub in
            let port = try #require(hub.metricsPort)
            for path in ["/v1/items", "/v1/audit", "/healthz", "/metrics/../v1/whoami"] {
                let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)"), timeout: Self.patience)
                #expect(response.status == .notFound, "\(path)")
            }
        }
    }
}
