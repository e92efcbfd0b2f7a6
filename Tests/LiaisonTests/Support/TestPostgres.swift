import Foundation
import LiaisonPostgres
import LiaisonStore
import Logging
import PostgresNIO

/// The PostgreSQL cluster the tests use: the one scripts/test started (LIAISON_TEST_POSTGRES), or else one this
/// process starts with scripts/postgres in a temporary folder and stops when it exits. Each test gets a database
/// of its own, so tests never see each other's data.
final class TestPostgres: Sendable {
    static let shared: TestPostgres = {
        do { return try TestPostgres() } catch { fatalError("no PostgreSQL for the tests: \(error)") }
    }()

    let address: PostgresAddress

    private init() throws {
        if let url = ProcessInfo.processInfo.environment["LIAISON_TEST_POSTGRES"] {
            address = try PostgresAddress(url)
            return
        }
        let folder = try Paths.temporaryDirectory("postgres")
        let port = try ProcessRunner.freePort()
        let started = try Self.script(["start", folder, String(port)])
        guard started.status == 0 else { throw TestFailure("scripts/postgres start failed: \(started.stderr)") }
        address = try PostgresAddress(started.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        startedCluster = folder
        atexit {
            guard let folder = startedCluster else { return }
            _ = try? TestPostgres.script(["stop", folder])
        }
    }

    /// Runs scripts/postgres through Python, which closes every other descriptor in the child: the server the
    /// script starts outlives it, and would otherwise keep descriptors of this process (the pipes that read the
    /// script's output among them) open, so reading them would never end.
    static func script(_ arguments: [String]) throws -> ProcessResult {
        try ProcessRunner.run("/usr/bin/env", scriptArguments(arguments))
    }

    /// `script` off the cooperative pool, for a test whose in-process hub serves meanwhile.
    static func script(_ arguments: [String]) async throws -> ProcessResult {
        try await ProcessRunner.runAsync("/usr/bin/env", scriptArguments(arguments))
    }

    private static func scriptArguments(_ arguments: [String]) -> [String] {
        ["python3", "-c", "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:], close_fds=True).returncode)",
         Paths.packageRoot.appendingPathComponent("scripts/postgres").path] + arguments
    }

    static var quietLogger: Logger {
        var logger = Logger(label: "liaison.test.postgres")
        logger.logLevel = .critical
        return logger
    }

    /// A new, empty schema on the cluster's database: as good as a database of its own for a store, and far
    /// cheaper to make than one (CREATE DATABASE copies and flushes a whole template).
    func freshDatabase() async throws -> PostgresAddress {
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try await execute("CREATE SCHEMA \(name)", in: address)
        return try PostgresAddress("postgres://\(address.user)@\(address.host):\(address.port)/\(address.database)?schema=\(name)")
    }

    /// Runs `sql` on `database` with a connection of its own.
    func execute(_ sql: String, in database: PostgresAddress) async throws {
        let client = PostgresClient(configuration: try database.testConfiguration(), backgroundLogger: Self.quietLogger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            try await client.query(PostgresQuery(unsafeSQL: sql), logger: Self.quietLogger)
            group.cancelAll()
        }
    }

    /// The first column of each row `sql` answers on `database`, as text.
    func texts(_ sql: String, in database: PostgresAddress) async throws -> [String] {
        let client = PostgresClient(configuration: try database.testConfiguration(), backgroundLogger: Self.quietLogger)
        return try await withThrowingTaskGroup(of: [String].self) { group in
            group.addTask { await client.run(); return [] }
            var texts: [String] = []
            for try await row in try await client.query(PostgresQuery(unsafeSQL: sql), logger: Self.quietLogger) { texts.append(try row.decode(String?.self) ?? "") }
            group.cancelAll()
            return texts
        }
    }

    /// A store on a new database.
    func freshStore() async throws -> (PostgresStore, PostgresAddress) {
        let database = try await freshDatabase()
        return (try await PostgresStore(configuration: try database.testConfiguration(), logger: Self.quietLogger), database)
    }
}

/// The cluster this process started, stopped when it exits.
nonisolated(unsafe) private var startedCluster: String?

extension PostgresAddress {
    /// A few connections per store: the hubs of a hundred tests running at once share one cluster's max_connections.
    func testConfiguration() throws -> PostgresClient.Configuration {
        try configuration(caFile: nil, connections: 4)
    }
}
