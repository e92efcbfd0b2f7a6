import Foundation
import LiaisonPostgres
import LiaisonServer
import Logging
import Synchronization
import Testing

/// A hub on a PostgreSQL cluster of the test's own, which the test stops and starts under it.
@Suite("PostgreSQL outages")
struct PostgresFailoverTests {
    func cluster(_ arguments: [String]) throws -> ProcessResult { try TestPostgres.script(arguments) }
    func cluster(_ arguments: [String]) async throws -> ProcessResult { try await TestPostgres.script(arguments) }

    /// A server that takes the connection but never answers (a hung database, a firewall that drops replies) is
    /// refused at start once the start timeout has passed, naming the address, rather than holding start-up.
    @Test func aDatabaseThatNeverAnswersIsRefusedAtStartAfterItsTimeout() async throws {
        // Listening, so the connection is made, and never accepting or answering.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && listen(listener, 16) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        try #require(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let configuration = try PostgresAddress("postgres://liaison@127.0.0.1:\(port)/liaison").configuration(caFile: nil)
        let started = ContinuousClock.now
        do {
            let store = try await PostgresStore(configuration: configuration, logger: TestPostgres.quietLogger, startTimeout: .seconds(1))
            await store.shutdown()
            Issue.record("a database that never answered was taken")
        } catch {
            #expect("\(error)".contains("no answer from 127.0.0.1:\(port) within 1"), "\(error)")
            #expect("\(error)".contains("check that PostgreSQL runs and listens on 127.0.0.1:\(port)"), "\(error)")
        }
        #expect(ContinuousClock.now - started < .seconds(10), "refused \(ContinuousClock.now - started) after it began")
    }

    /// A store that starts and stops on a database that answers logs nothing at warning or worse. PostgresNIO warned
    /// that its pool was leased before it ran when the store's first query overtook the pool's task (seen starting the
    /// bench's hubs on a busy machine; a race this test cannot force, so it guards rather than reproduces it).
    @Test func startingOnAWorkingDatabaseWarnsOfNothing() async throws {
        let database = try await TestPostgres.shared.freshDatabase()
        let lines = Mutex<[String]>([])
        let logger = {
            var logger = Logger(label: "liaisond") { label in TextLogHandler(label: label) { bytes, _ in lines.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } } }
            logger.logLevel = .warning
            return logger
        }()
        // Several at once, as the bench's hubs start while others run: the pool's task then waits for a thread.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    let store = try await PostgresStore(configuration: try database.testConfiguration(), logger: logger)
                    _ = try await store.auditHead()
                    await store.shutdown()
                }
            }
            try await group.waitForAll()
        }
        #expect(lines.withLock { $0 } == [])
    }

    @Test func whileTheDatabaseIsDownRequestsAre503AndTheHubServesAgainWhenItIsBack() async throws {
        let folder = try Paths.temporaryDirectory("pg-outage")
        let port = try ProcessRunner.freePort()
        let started = try await cluster(["start", folder, String(port)])
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

            #expect(try await cluster(["stop", folder]).status == 0)
            let refused = try await owner.push(unit: "transport-bureau", classification: "general", key: "after-outage")
            #expect(refused.status == 503, "\(refused.text)")
            #expect(refused.errorCode == "database_unavailable")
            #expect(refused.headers.first(name: "Retry-After") == "5")
            let read = try await owner.get("/v1/items/\(id)")
            #expect(read.status == 503, "a read cannot be traced either, so it is not answered: \(read.text)")

            #expect(try await cluster(["start", folder, String(port)]).status == 0)
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
