import Foundation
import GRDB
import Hummingbird
import LiaisonCore
import LiaisonCrypto
import LiaisonHub
@testable import LiaisonPostgres
import LiaisonServer
import LiaisonStore
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing

/// A real hub on 127.0.0.1 port 0 with mTLS, a SQLite file in a temp folder and the example policy.
final class RunningHub: Sendable {
    let port: Int
    let hub: Hub
    let store: any HubStore
    let dataDirectory: String
    let pki: TestPKI
    /// The plain-HTTP metrics listener's port, when the hub was started with metrics.
    let metricsPort: Int?
    private let clients = Mutex<[String: TestClient]>([:])

    let storeKind: StoreKind

    init(port: Int, hub: Hub, store: any HubStore, dataDirectory: String, pki: TestPKI, metricsPort: Int? = nil, storeKind: StoreKind = .sqlite) {
        self.port = port
        self.storeKind = storeKind
        self.metricsPort = metricsPort
        self.hub = hub
        self.store = store
        self.dataDirectory = dataDirectory
        self.pki = pki
    }

    var baseURL: String { "https://127.0.0.1:\(port)" }

    /// Runs SQL statements on the hub's database behind its back, as someone holding the database could.
    func editDatabase(_ statements: [String]) async throws {
        switch storeKind {
        case .sqlite:
            try await DatabaseQueue(path: dataDirectory + "/liaison.sqlite").write { db in for sql in statements { try db.execute(sql: sql) } }
        case .postgres:
            let address = try PostgresAddress(try String(contentsOfFile: dataDirectory + "/postgres-url", encoding: .utf8))
            for sql in statements { try await TestPostgres.shared.execute(sql, in: address) }
        }
    }

    /// The first column of each row `sql` answers in the hub's database, as text (write `CAST(x AS TEXT)`, which both read).
    func texts(_ sql: String) async throws -> [String] {
        switch storeKind {
        case .sqlite:
            return try await DatabaseQueue(path: dataDirectory + "/liaison.sqlite").read { db in try String?.fetchAll(db, sql: sql).map { $0 ?? "" } }
        case .postgres:
            let address = try PostgresAddress(try String(contentsOfFile: dataDirectory + "/postgres-url", encoding: .utf8))
            return try await TestPostgres.shared.texts(sql, in: address)
        }
    }

    /// Everything the database holds: every SQLite file byte for byte (the WAL and the chunk files too), or every
    /// PostgreSQL row as text.
    func databaseContents() async throws -> Data {
        guard storeKind == .sqlite else { return Data(try await postgresRowsText().utf8) }
        return try Self.sqliteContents(of: dataDirectory)
    }

    /// Every file of the SQLite database in the data folder `data`, byte for byte: the database, its WAL, and the
    /// files its streamed chunks are kept in (`liaison.sqlite-chunks/`).
    static func sqliteContents(of data: String) throws -> Data {
        var bytes = Data()
        for file in try FileManager.default.contentsOfDirectory(atPath: data).sorted() where file.hasPrefix("liaison.sqlite") {
            let path = data + "/" + file
            var folder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &folder), folder.boolValue else {
                bytes += try Data(contentsOf: URL(fileURLWithPath: path))
                continue
            }
            for name in try FileManager.default.contentsOfDirectory(atPath: path).sorted() {
                bytes += try Data(contentsOf: URL(fileURLWithPath: path + "/" + name))
            }
        }
        return bytes
    }

    /// What `liaison audit verify` says of the hub's trail, run by the commission's auditor.
    func verifyTrail() async throws -> ProcessResult {
        try await ProcessRunner.runAsync(Paths.binaries + "/liaison", ["audit", "verify", "--as", "zhao.lei"],
                                         environment: ["LIAISON_DEV_CERTS": pki.directory, "LIAISON_URL": baseURL])
    }

    /// Every row of every table of the hub's PostgreSQL schema, as text (bytes as hex).
    func postgresRowsText() async throws -> String {
        let address = try PostgresAddress(try String(contentsOfFile: dataDirectory + "/postgres-url", encoding: .utf8))
        var text = ""
        for table in try await TestPostgres.shared.texts("SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()", in: address) {
            text += try await TestPostgres.shared.texts("SELECT t::text FROM \(table) t", in: address).joined(separator: "\n")
        }
        return text
    }

    /// A client presenting `principal`'s certificate (cached for the test).
    func client(_ principal: String) throws -> TestClient {
        // Made under the lock: two tasks asking at once must not each make one (an unused client may not be dropped unshut).
        try clients.withLock { clients in
            if let cached = clients[principal] { return cached }
            let client = try TestClient(baseURL: baseURL, certificate: pki.certificate(principal), key: pki.key(principal), ca: pki.ca)
            clients[principal] = client
            return client
        }
    }

    /// The key ring as kept: the data folder's file on SQLite, the database's sealed ring on PostgreSQL.
    func keptKeyRing() async throws -> KeyRing {
        guard storeKind == .postgres, let shared = store as? PostgresStore else { return try KeyRing.load(at: dataDirectory + "/keyring.json") }
        guard let kept = try await TestHub.databaseKeyRing(shared, data: dataDirectory).kept(after: nil) else { throw TestFailure("no key ring in the database") }
        return kept.ring
    }

    func shutdownClients() async {
        for client in clients.withLock({ Array($0.values) }) { await client.shutdown() }
    }
}

enum TestHub {
    static let examplePolicy: Policy = {
        do { return try PolicyLoader.load(directory: Paths.policies) } catch { fatalError("the example policy does not load: \(error)") }
    }()

    static var quietLogger: Logger {
        var logger = Logger(label: "liaison.test")
        logger.logLevel = .critical
        return logger
    }

    /// Runs `body` against a live hub, then shuts it down gracefully. Pass `dataDirectory` to reuse one (restart tests).
    static func with<T: Sendable>(
        clock: TestClock = TestClock(), limits: HubLimits = HubLimits(), dataDirectory: String? = nil, policy: Policy = examplePolicy,
        revocations: RevocationList? = nil, signEvery: Int64 = 1_000_000, port: Int = 0,
        configure: (inout ServerSettings) -> Void = { _ in }, metrics: Bool = false, store storeKind: StoreKind = .defaultForHubs,
        _ body: @Sendable (RunningHub) async throws -> T
    ) async throws -> T {
        let pki = TestPKI.shared
        let data = try dataDirectory ?? Paths.temporaryDirectory("hub")
        let store: any HubStore, keys: KeyCustody, postgres: PostgresStore?
        switch storeKind {
        case .sqlite:
            let keyRing = try KeyRing.loadOrCreate(at: data + "/keyring.json")
            store = try SQLiteStore(path: data + "/liaison.sqlite", legacySeal: { keyRing.itemSeal($0.sealInput()) })
            keys = KeyCustody(ring: keyRing, path: data + "/keyring.json")
            postgres = nil
        case .postgres:
            // The ring in the database, as hubs sharing it keep it; no grace, as no other hub has to hear of a rotation.
            let shared = try await TestHub.postgresStore(for: data)
            store = shared
            keys = try await KeyCustody.opening(try TestHub.databaseKeyRing(shared, data: data), grace: .zero)
            postgres = shared
        }
        let hub = Hub(policy: policy, store: store, keys: keys, limits: limits, identity: try HubIdentity(keyFile: pki.hubKey, certificateFile: pki.hubCertificate),
                      logger: quietLogger, clock: clock.function)
        var settings = ServerSettings(host: "127.0.0.1", port: port, certificatePath: pki.hubCertificate, keyPath: pki.hubKey, caPath: pki.ca, revocations: revocations)
        configure(&settings)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let hubMetrics = metrics ? HubMetrics() : nil
        if let hubMetrics, let observed = store as? any CommitObservable { hubMetrics.observe(observed) }
        let connections = ConnectionGauge(maximum: settings.connections.maximumConnections)
        let app = try HubServer.application(hub: hub, settings: settings, logger: quietLogger, metrics: hubMetrics, connections: connections) { channel in
            portContinuation.yield(channel.localAddress?.port ?? 0)
            portContinuation.finish()
        }
        let (metricsPorts, metricsPortContinuation) = AsyncStream.makeStream(of: Int.self)
        var services: [any Service] = []
        if let hubMetrics {
            services.append(HubServer.metricsApplication(hub: hub, metrics: hubMetrics, connections: connections, host: "127.0.0.1", port: 0,
                                                         logger: quietLogger) { channel in
                metricsPortContinuation.yield(channel.localAddress?.port ?? 0)
                metricsPortContinuation.finish()
            })
        } else {
            metricsPortContinuation.finish()
        }
        let signing = AuditHeadSigning(hub: hub, everyEntries: signEvery, interval: .seconds(3600), logger: quietLogger)
        let rewrapping = KeyRewrapping(hub: hub, interval: .milliseconds(100), logger: quietLogger)
        if let postgres { services.append(FeedWakeUps(hub: hub, source: postgres)) }
        // The group's own lines (which service stops when) are kept, to be shown should the hub not stop.
        let groupLines = Mutex<[String]>([])
        var groupLogger = Logger(label: "liaison.test.services") { label in
            TextLogHandler(label: label) { bytes, _ in groupLines.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } }
        }
        groupLogger.logLevel = .debug
        let group = ServiceGroup(configuration: .init(services: [signing, rewrapping, app] + services, gracefulShutdownSignals: [], logger: groupLogger))
        // A task of its own, not a child: should the hub not stop, the test fails and goes on instead of waiting for it.
        let serving = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure("the hub did not start: \(await serving.result)") }
        var metricsIterator = metricsPorts.makeAsyncIterator()
        let running = RunningHub(port: port, hub: hub, store: store, dataDirectory: data, pki: pki, metricsPort: await metricsIterator.next(),
                                 storeKind: storeKind)
        let result: Result<T, any Error>
        do {
            result = .success(try await body(running))
        } catch {
            result = .failure(error)
        }
        await running.shutdownClients()
        await group.triggerGracefulShutdown()
        let stopped = try await FirstAnswer.finishes(within: stopWithin) { try await serving.value }
        if !stopped {
            serving.cancel()
            Issue.record("the hub did not stop within \(stopWithin) of its graceful shutdown; its services said:\n\(groupLines.withLock { $0.joined() })")
        }
        await postgres?.shutdown()
        return try result.get()
    }

    /// How long a hub may take to stop once its test is done: a hub that does not stop fails its test instead of holding
    /// the suite (a hub on PostgreSQL once never stopped after an outage, in CI).
    static let stopWithin = Duration.seconds(60)

    /// The shared ring of a hub on PostgreSQL, under a master key kept in its data folder (found again on a restart).
    static func databaseKeyRing(_ store: PostgresStore, data: String) throws -> DatabaseKeyRing {
        let path = data + "/master.key"
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: Data(try MasterKey.generateText().utf8), attributes: [.posixPermissions: 0o600]) else {
                throw TestFailure("cannot write \(path)")
            }
        }
        return DatabaseKeyRing(store: store, master: try MasterKey.load(at: path))
    }

    /// A PostgreSQL store for a hub whose data folder is `data`: one database per folder, so that a hub restarted
    /// on the same folder (as restart tests do) finds its data again.
    static func postgresStore(for data: String) async throws -> PostgresStore {
        let marker = data + "/postgres-url"
        let address: PostgresAddress
        if let saved = try? String(contentsOfFile: marker, encoding: .utf8) {
            address = try PostgresAddress(saved)
        } else {
            address = try await TestPostgres.shared.freshDatabase()
            try address.description.write(toFile: marker, atomically: true, encoding: .utf8)
        }
        return try await PostgresStore(configuration: try address.testConfiguration(), logger: TestPostgres.quietLogger)
    }
}
