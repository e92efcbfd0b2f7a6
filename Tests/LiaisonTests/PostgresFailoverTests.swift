import Foundation
import LiaisonPostgres
import Testing

/// A hub on a PostgreSQL cluster of the test's own, which the test stops and starts under it.
@Suite("PostgreSQL outages")
struct PostgresFailoverTests {
    func cluster(_ arguments: [String]) throws -> ProcessResult { try TestPostgres.script(arguments) }

    @Test func whileTheDatabaseIsDownRequestsAre503AndTheHubServesAgainWhenItIsBack() async throws {
        let folder = try Paths.temporaryDirectory("pg-outage")
        let port = try ProcessRunner.freePort()
        let started = try cluster(["start", folder, String(port)])
        #expect(started.status == 0, "\(started.stderr)")
        defer { _ = try? cluster(["stop", folder]) }
        // The hub's data folder names the database (TestHub reads it from there, as a restart would).
        let data = try Paths.temporaryDirectory("pg-outage-hub")
        try started.stdout.trimmingCharacters(in: .whitespacesAndNewlines).write(toFile: data + "/postgres-url", atomically: true, encoding: .utf8)
        try await TestHub.with(dataDirectory: data, store: .postgres) { hub in
            let owner = try hub.client("stationed-transport")
            let first = try await owner.push(unit: "transport-bureau", classification: "confidential", payload: Data("第一份".utf8))
            #expect(first.status == 201)
            let id = try #require(first.json["id"] as? String)

            #expect(try cluster(["stop", folder]).status == 0)
            let refused = try await owner.push(unit: "transport-bureau", classification: "general", key: "after-outage")
            #expect(refused.status == 503, "\(refused.text)")
            #expect(refused.errorCode == "database_unavailable")
            #expect(refused.headers.first(name: "Retry-After") == "5")
            let read = try await owner.get("/v1/items/\(id)")
            #expect(read.status == 503, "a read cannot be traced either, so it is not answered: \(read.text)")

            #expect(try cluster(["start", folder, String(port)]).status == 0)
            // The same push retried with its key: stored once, whenever the database took it.
            var retried = try await owner.push(unit: "transport-bureau", classification: "general", key: "after-outage")
            for _ in 0..<40 where retried.status == 503 {
                try await Task.sleep(for: .milliseconds(250))
                retried = try await owner.push(unit: "transport-bureau", classification: "general", key: "after-outage")
            }
            #expect(retried.status == 201, "\(retried.text)")
            #expect(try await owner.payload(id).plaintext == Data("第一份".utf8))
            let verify = try await ProcessRunner.runAsync(Paths.binaries + "/liaison", ["audit", "verify", "--as", "zhao.lei"],
                                                          environment: ["LIAISON_DEV_CERTS": TestPKI.shared.directory, "LIAISON_URL": hub.baseURL])
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        }
    }
}
