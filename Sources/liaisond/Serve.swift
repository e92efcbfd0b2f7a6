import ArgumentParser
import CAllocator
import Foundation
import LiaisonCore
import LiaisonCrypto
import LiaisonHub
import LiaisonPostgres
import LiaisonServer
import LiaisonStore
import Logging
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the hub until SIGTERM or SIGINT.",
        discussion: """
            On first start the data folder gets the SQLite database (liaison.sqlite) and the key ring \
            (keyring.json, mode 0600). With --database the data is in PostgreSQL, where several hubs may serve it \
            at once; the key ring is then kept there too, sealed under the master key that every hub of the \
            database reads (--master-key FILE or LIAISON_MASTER_KEY). The daemon refuses to start on an invalid policy and prints every problem. \
            SIGHUP reloads the policy folder (an invalid policy is refused and the old one stays); SIGTERM or \
            SIGINT stop the hub gracefully.
            """)

    @Option(help: "host:port to listen on (env LIAISON_LISTEN).")
    var listen: String = ProcessInfo.processInfo.environment["LIAISON_LISTEN"] ?? "127.0.0.1:8443"

    @Option(help: "Folder for the SQLite database and the key ring; with --database, for the hub's lock only (env LIAISON_DATA).")
    var data: String = ProcessInfo.processInfo.environment["LIAISON_DATA"] ?? "data"

    @Option(help: "Keep the hub's data in PostgreSQL at postgres://USER[:PASSWORD]@HOST:PORT/DB (env LIAISON_DATABASE) instead of SQLite in --data; the key ring is then kept there too, under --master-key.")
    var database: String?

    @Option(help: "With --database: the PEM CA that issued the PostgreSQL server's certificate; the hub then connects with TLS and checks the server's name.")
    var databaseCa: String?

    @Option(help: ArgumentHelp("With --database: the file (mode 0600) holding the master key that seals the key ring kept in the database, the same for every hub of it (env LIAISON_MASTER_KEY_FILE; or the key itself in LIAISON_MASTER_KEY). Make one with `openssl rand -base64 32 > master.key && chmod 600 master.key`.", valueName: "file"))
    var masterKey: String?

    @Option(help: "With --database: the most connections this hub opens to PostgreSQL at once. Keep the sum over all hubs below the server's max_connections (100 by default).")
    var databaseConnections: Int = 20

    @Option(help: "Folder with the policy's .yaml files (env LIAISON_POLICY).")
    var policy: String = ProcessInfo.processInfo.environment["LIAISON_POLICY"] ?? "policies"

    @Option(help: "The hub's PEM certificate.")
    var cert: String = "certs/dev/hub.pem"

    @Option(help: "The hub's PEM private key.")
    var key: String = "certs/dev/hub.key"

    @Option(help: "PEM CA whose client certificates are accepted.")
    var ca: String = "certs/dev/ca.pem"

    @Option(help: "PEM certificate revocation list signed by the CA; revoked client certificates get 403. Read at start.")
    var crl: String?

    @Option(help: "Sign the audit chain's head after this many new entries.")
    var signEvery: Int64 = 1000

    @Option(help: "Sign the audit chain's head at least this often when it moved, in seconds (and always at shutdown).")
    var signInterval: Int = 60

    @Option(help: "Largest payload accepted in a JSON push (base64 in the body, held in memory), in bytes.")
    var maxPayload: Int = 16 * 1024 * 1024

    @Option(help: "Largest payload accepted streamed (POST /v1/items with Content-Type: application/octet-stream; kept in 1 MiB chunks as it arrives, so this bounds disk, not memory), in bytes.")
    var maxStreamPayload: Int = 8 << 30

    @Option(help: "Free space, in bytes, kept under the data folder for the audit trail: a push that would leave less gets 503 storage_full, reads go on (0: no check).")
    var reserveSpace: Int = 64 * 1024 * 1024

    @Option(help: "Bytes of request bodies held at once across all requests (at least one largest push); past it, 503 busy with Retry-After.")
    var bodyBudget: Int = 96 * 1024 * 1024

    @Option(help: "Bytes of large answers (payloads over 1 MiB, dossier bundles and manifests, access requests of thousands of items) held at once while readers take them (at least one largest payload), a quarter of it at most for one principal; past it, 503 busy with Retry-After.")
    var answerBudget: Int = 256 << 20

    /// Every request through Hummingbird's routes, metadata and payload reads, listings and JSON pushes too (to compare the two ways).
    @Flag(help: .hidden) var routedOnly = false

    @Option(help: "Seconds a new connection has to finish its TLS handshake.")
    var handshakeTimeout: Int = 10

    @Option(help: "Seconds a request has, from its first byte, to send all its headers.")
    var headerTimeout: Int = 10

    @Option(help: "Seconds a keep-alive connection may stay idle between requests, and an answer may wait for a client that reads none of it.")
    var idleTimeout: Int = 60

    @Option(help: "Seconds the hub, told to stop (SIGTERM or Ctrl-C), gives the requests in flight to finish; then it closes what is still open and exits. A second signal stops it at once. Acknowledged writes are durable either way.")
    var stopTimeout: Int = 30

    @Option(help: "Connections open at once; more are closed as soon as they are accepted.")
    var maxConnections: Int = 1_000

    @Option(help: "How long feed events are kept, e.g. 30d; a client whose cursor is older gets 410 and must resynchronise.")
    var feedRetention: String = "30d"

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical. At info, every request is one line.")
    var logLevel: String = "info"

    @Option(help: "Log format: text, or json (one object per line: time, level, label, message, metadata) for a collector.")
    var logFormat: String = "text"

    @Option(help: "host:port of a plain-HTTP listener serving GET /metrics (Prometheus text format) without a client certificate; off unless given. Keep it on loopback or a monitoring network.")
    var metricsListen: String?

    mutating func validate() throws {
        guard Endpoint(listen) != nil else { throw ValidationError("--listen '\(listen)' is not host:port, e.g. 127.0.0.1:8443") }
        guard (1...1_000_000_000).contains(signEvery) else { throw ValidationError("--sign-every must be between 1 and 1000000000 entries") }
        guard (1...86_400).contains(signInterval) else { throw ValidationError("--sign-interval must be between 1 and 86400 seconds") }
        guard (1...HubLimits.largestPayload).contains(maxPayload) else {
            throw ValidationError("--max-payload must be between 1 and \(HubLimits.largestPayload) bytes (1 GiB)")
        }
        guard (1...HubLimits.largestStreamedPayload).contains(maxStreamPayload) else {
            throw ValidationError("--max-stream-payload must be between 1 and \(HubLimits.largestStreamedPayload) bytes (1 TiB)")
        }
        guard (0...(1 << 40)).contains(reserveSpace) else { throw ValidationError("--reserve-space must be between 0 and 1099511627776 bytes") }
        guard (1...(1 << 40)).contains(bodyBudget) else { throw ValidationError("--body-budget must be between 1 and 1099511627776 bytes") }
        guard (1...(1 << 40)).contains(answerBudget) else { throw ValidationError("--answer-budget must be between 1 and 1099511627776 bytes") }
        for (flag, seconds) in [("--handshake-timeout", handshakeTimeout), ("--header-timeout", headerTimeout), ("--idle-timeout", idleTimeout),
                                ("--stop-timeout", stopTimeout)] {
            guard (1...3600).contains(seconds) else { throw ValidationError("\(flag) must be between 1 and 3600 seconds") }
        }
        guard (1...1_000_000).contains(maxConnections) else { throw ValidationError("--max-connections must be between 1 and 1000000") }
        guard Period(feedRetention) != nil else { throw ValidationError("--feed-retention '\(feedRetention)' is not a length of time; \(Period.formatHint)") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical") }
        // The environment's defaults, taken here: an optional option cannot have a default value of its own.
        database = database ?? ProcessInfo.processInfo.environment["LIAISON_DATABASE"]
        masterKey = masterKey ?? ProcessInfo.processInfo.environment["LIAISON_MASTER_KEY_FILE"]
        if let database {
            do { _ = try PostgresAddress(database) } catch { throw ValidationError("--database: \(error)") }
            guard (1...1000).contains(databaseConnections) else { throw ValidationError("--database-connections must be between 1 and 1000") }
            guard masterKey != nil || Self.masterKeyText != nil else {
                throw ValidationError("""
                    --database needs the master key that seals the key ring kept in the database, the same for every hub of it: \
                    --master-key FILE (mode 0600) or LIAISON_MASTER_KEY. Make one with `openssl rand -base64 32 > master.key && chmod 600 master.key`
                    """)
            }
        } else if databaseCa != nil {
            throw ValidationError("--database-ca needs --database")
        } else if masterKey != nil {
            throw ValidationError("--master-key needs --database: a hub on SQLite keeps its key ring in \(data)/keyring.json")
        }
        guard ["text", "json"].contains(logFormat) else { throw ValidationError("--log-format must be text or json") }
        if let metricsListen, Endpoint(metricsListen) == nil { throw ValidationError("--metrics-listen '\(metricsListen)' is not host:port, e.g. 127.0.0.1:9464") }
    }

    /// Lets buffers of up to 4 MiB come from malloc's heaps and be used again, instead of each being mapped afresh
    /// and faulted in page by page: a streamed push's TLS reads hand on buffers of a megabyte or so that the
    /// connection then replaces (perf: 90,000 page faults per 512 MiB pushed, 3,000 with this; the push's hub CPU
    /// fell by a quarter, the hub's peak memory rose by 4 MiB). Larger blocks, such as a whole 16 MiB JSON push,
    /// are still mapped and given back when freed.
    static func keepBuffers() {
        _ = callocator_keep_buffers(4 << 20, 8 << 20)
    }

    func run() async throws {
        // Until the reload service listens for SIGHUP, its default action would kill the daemon.
        signal(SIGHUP, SIG_IGN)
        Self.keepBuffers()
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let json = logFormat == "json"
        LoggingSystem.bootstrap { label in
            if json {
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
            var handler = TextLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
        // Lines below warning wait up to 10 ms to be written in a batch: whatever waits is written before the daemon exits.
        atexit { StandardError.flush() }
        let logger = Logger(label: "liaisond")
        let endpoint = Endpoint(listen)!
        // Everything the hub needs before it listens; any problem stops it here with one message.
        let loadedPolicy: Policy, identity: HubIdentity, revocations: RevocationList?, lock: DataDirectoryLock
        let postgres = database.flatMap { try? PostgresAddress($0) }
        // A hub on SQLite keeps its ring in a file of the data folder; hubs sharing PostgreSQL keep it there, sealed.
        let ringSource: RingSource
        do {
            loadedPolicy = try PolicyLoader.load(directory: policy)
            for path in [cert, key, ca] + (crl.map { [$0] } ?? []) where !FileManager.default.fileExists(atPath: path) {
                throw StartupProblem("\(path) does not exist; run ./scripts/dev-certs for development certificates, or pass --cert/--key/--ca")
            }
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            lock = try DataDirectoryLock(directory: data)
            if let postgres {
                ringSource = .database(postgres, try masterKey.map { try MasterKey.load(at: $0) } ?? Self.masterKeyFromEnvironment())
            } else {
                ringSource = .file(try KeyRing.loadOrCreate(at: data + "/keyring.json"))
            }
            identity = try HubIdentity(keyFile: key, certificateFile: cert)
            revocations = try crl.map { try RevocationList(pemFile: $0, issuerPEMFile: ca) }
        } catch {
            throw refuseToStart(error)
        }
        var folder = stat()
        if stat(data, &folder) == 0, folder.st_mode & 0o077 != 0 {
            logger.warning("the data folder can be entered by group or others; the database is 0600, but keep the folder private with chmod 700",
                           metadata: ["data": "\(data)", "mode": "\(String(folder.st_mode & 0o777, radix: 8))"])
        }
        let store: any HubStore, keys: KeyCustody
        var sqlite: SQLiteStore?
        switch ringSource {
        case .database(let address, let master):
            do {
                // Said now, not as a store that never connects after its wait.
                if let refusal = try await address.refusal(caFile: databaseCa, logger: logger) { throw refusal }
                let shared = try await PostgresStore(configuration: try address.configuration(caFile: databaseCa, connections: databaseConnections), logger: logger)
                store = shared
                keys = try await KeyCustody.opening(DatabaseKeyRing(store: shared, master: master))
            } catch {
                throw refuseToStart(StartupProblem("cannot use the PostgreSQL database \(address): \(error)"))
            }
            logger.notice("data in PostgreSQL", metadata: ["database": "\(address)"])
        case .file(let keyRing):
            let file = try SQLiteStore(path: data + "/liaison.sqlite", legacySeal: { keyRing.itemSeal($0.sealInput()) })
            sqlite = file
            store = file
            keys = KeyCustody(ring: keyRing, path: data + "/keyring.json")
        }
        var limits = HubLimits(payloadBytes: maxPayload, streamedPayloadBytes: maxStreamPayload, answerBudgetBytes: answerBudget)
        limits.feedRetentionSeconds = Period(feedRetention)?.seconds ?? limits.feedRetentionSeconds
        let hub = Hub(policy: loadedPolicy, store: store, keys: keys, limits: limits, identity: identity, logger: logger)
        // Items stored before the blind index existed are marked once, before the hub answers anyone.
        let marked = try await hub.correlation.markEarlierItems()
        if marked > 0 { logger.notice("marked \(marked) earlier item(s) in the blind index of persons and tags") }
        // A SQLite file has this hub alone (the data folder's lock): a chunk no item owns is of a push cut off before.
        if let sqlite {
            if case let swept = try await hub.sweepAbandonedChunks(olderThan: 0), swept > 0 {
                logger.notice("removed \(swept) chunk(s) of streamed pushes cut off before their item was stored")
            }
            if case let files = try sqlite.removeUnownedChunkFiles(), files > 0 {
                logger.notice("removed \(files) chunk file(s) of streamed pushes stopped before their first chunks were recorded")
            }
        }
        var settings = ServerSettings(host: endpoint.host, port: endpoint.port, certificatePath: cert, keyPath: key, caPath: ca, revocations: revocations)
        // The free-space checks watch the disk under the SQLite file; PostgreSQL's disk is the database server's.
        settings.dataDirectory = sqlite == nil ? nil : data
        settings.reserveBytes = reserveSpace
        settings.bodyBudgetBytes = bodyBudget
        settings.fastLane = !routedOnly
        settings.connections.handshakeTimeout = .seconds(handshakeTimeout)
        settings.connections.headerTimeout = .seconds(headerTimeout)
        settings.connections.idleTimeout = .seconds(idleTimeout)
        settings.connections.maximumConnections = maxConnections
        let metrics = metricsListen.map { _ in HubMetrics() }
        if let observed = store as? any CommitObservable { metrics?.observe(observed) }
        let connections = ConnectionGauge(maximum: maxConnections)
        let app = try refusing("the hub's certificate \(cert), key \(key) or CA \(ca) cannot be used for TLS") {
            try HubServer.application(hub: hub, settings: settings, logger: logger, metrics: metrics, connections: connections) { channel in
                logger.notice("liaisond listening", metadata: ["address": "https://\(listen)", "principals": "\(loadedPolicy.principalIDs.count)", "data": "\(data)"])
            }
        }
        // The signer is listed first so that it stops last: its final signature covers the last request.
        let signing = AuditHeadSigning(hub: hub, everyEntries: signEvery, interval: .seconds(signInterval), logger: logger)
        let reloading = PolicyReloading(hub: hub, directory: policy, logger: logger)
        let rewrapping = KeyRewrapping(hub: hub, logger: logger)
        let upkeep = FeedUpkeep(hub: hub, logger: logger)
        var services: [any Service] = [signing, reloading, rewrapping, upkeep, app]
        if let broadcast = store as? any FeedEventBroadcast { services.append(FeedWakeUps(hub: hub, source: broadcast)) }
        if let metrics, let address = metricsListen.flatMap(Endpoint.init) {
            services.append(HubServer.metricsApplication(hub: hub, metrics: metrics, connections: connections, host: address.host, port: address.port,
                                                         logger: logger) { _ in
                logger.notice("metrics listening", metadata: ["address": "http://\(address.host):\(address.port)/metrics"])
            })
        }
        var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(stopTimeout)
        StopDeadline(grace: .seconds(stopTimeout), logger: logger).watch()
        try await ServiceGroup(configuration: configuration).run()
        if let postgres = store as? PostgresStore { await postgres.shutdown() }
        lock.release()
        logger.notice("liaisond stopped")
    }

    /// Runs a start-up step, turning its failure into a refusal to start that says what was wrong.
    func refusing<T>(_ what: String, _ step: () throws -> T) throws -> T {
        do { return try step() } catch { throw refuseToStart(StartupProblem("\(what) (\(error))")) }
    }

    /// Where the key ring comes from: the data folder's file, or the database with the master key that opens it.
    enum RingSource {
        case file(KeyRing)
        case database(PostgresAddress, MasterKey)
    }

    /// The master key given in the environment itself, rather than in a file.
    static var masterKeyText: String? { ProcessInfo.processInfo.environment["LIAISON_MASTER_KEY"] }

    static func masterKeyFromEnvironment() throws -> MasterKey {
        do {
            return try MasterKey(text: masterKeyText ?? "")
        } catch CryptoError.malformed(let problem) {
            throw StartupProblem("LIAISON_MASTER_KEY: \(problem)")
        }
    }

    /// Prints why the hub does not start and gives the exit status for it.
    func refuseToStart(_ reason: any Error) -> ExitCode {
        FileHandle.standardError.write(Data("liaisond: refusing to start: \(reason)\n".utf8))
        return ExitCode(2)
    }
}

/// A reason not to start that is neither the policy's nor the key material's.
struct StartupProblem: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A `host:port` pair.
struct Endpoint {
    let host: String
    let port: Int

    init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = DecimalText.parse(text[text.index(after: colon)...], in: 0...65535) else { return nil }
        let host = String(text[..<colon])
        guard !host.isEmpty else { return nil }
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.port = port
    }
}
