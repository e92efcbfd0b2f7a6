public import Hummingbird
public import HummingbirdCore
import HummingbirdTLS
public import LiaisonHub
public import Logging
public import NIOCore
import NIOSSL
import LiaisonAPI
import OpenAPIHummingbird

/// Builds the HTTPS application: mutual TLS, identity, error translation and the generated API routes.
public enum HubServer {
    public static func application(
        hub: Hub, settings: ServerSettings, logger: Logger, metrics: HubMetrics? = nil, connections: ConnectionGauge? = nil,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let router = Router(context: LiaisonRequestContext.self)
        let alarm = StorageAlarm(logger: logger, dataDirectory: settings.dataDirectory)
        let bodyLimit = BodyLimitMiddleware.bodyLimit(payloadLimit: hub.limits.payloadBytes)
        let observation = RequestObservationMiddleware(logger: logger, metrics: metrics)
        let errors = ErrorMiddleware(logger: logger, storageAlarm: alarm, metrics: metrics)
        let identity = IdentityMiddleware(hub: hub, identities: PeerIdentityCache(revocations: settings.revocations))
        router.add(middleware: observation)
        // Outside the error answers, to which it may add `Connection: close`.
        router.add(middleware: ExpectContinueMiddleware())
        router.add(middleware: errors)
        router.add(middleware: WholeResponseMiddleware())
        // The budget holds at least one largest body, or the largest push could never be taken.
        let budget = ByteBudget(limit: max(settings.bodyBudgetBytes, bodyLimit))
        router.add(middleware: BodyLimitMiddleware(payloadLimit: hub.limits.payloadBytes, budget: budget, streamLimit: hub.limits.streamedPayloadBytes))
        router.add(middleware: identity)
        let space = settings.dataDirectory.flatMap { settings.reserveBytes > 0 ? StorageSpace(directory: $0, reserveBytes: settings.reserveBytes) : nil }
        if let space { router.add(middleware: StorageAdmissionMiddleware(space: space, bodyLimit: bodyLimit)) }
        router.add(middleware: AcceptMiddleware())
        let api = APIHandler(hub: hub, metrics: metrics)
        try api.registerHandlers(on: HandWrittenOperations(base: router, api: api), configuration: Wire.configuration)
        let lane = FastLane.Services(api: api, identity: identity, errors: errors, observation: observation,
                                     bodyLimit: bodyLimit, budget: budget, space: space, demand: hub.writeDemand)
        return Application(
            router: router,
            server: try httpsServer(settings, gauge: connections ?? ConnectionGauge(maximum: settings.connections.maximumConnections),
                                    lane: settings.fastLane ? lane : nil),
            configuration: ApplicationConfiguration(address: .hostname(settings.host, port: settings.port), serverName: serverName),
            onServerRunning: onServerRunning,
            logger: logger
        )
    }

    static let serverName = "liaison"

    /// HTTP/1.1 over mutual TLS, as the hub serves it (scripts/bench measures a bare route on the same server),
    /// with the connection cap and the handshake, header and idle deadlines of `settings.connections`, and with
    /// `lane` (if any) answering metadata and payload reads and listings in front of Hummingbird.
    static func httpsServer(_ settings: ServerSettings, gauge: ConnectionGauge? = nil, lane: FastLane.Services?) throws -> HTTPServerBuilder {
        let context = try NIOSSLContext(configuration: tlsConfiguration(settings))
        let limits = settings.connections
        let gauge = gauge ?? ConnectionGauge(maximum: limits.maximumConnections)
        return HTTPServerBuilder { responder in
            let http = HTTP1Channel(responder: responder, configuration: .init(additionalChannelHandlers: [RequestHeadWatcher()],
                                                                                idleTimeout: TimeAmount(limits.idleTimeout)))
            return GuardedTLSChannel(base: http, sslContext: context, limits: limits, gauge: gauge, lane: lane)
        }
    }

    /// The hub's server without the lane, for scripts/bench's bare routes.
    public static func httpsServer(_ settings: ServerSettings) throws -> HTTPServerBuilder {
        try httpsServer(settings, lane: nil)
    }

    /// TLS 1.2 minimum; a client certificate from the hub's CA is required (no hostname check on clients).
    static func tlsConfiguration(_ settings: ServerSettings) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(settings.certificatePath).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: settings.keyPath, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(settings.caPath))
        configuration.certificateVerification = .noHostnameVerification
        // BoringSSL leaves Ed25519 out of the signature algorithms it asks clients for unless told: without
        // it an Ed25519 client certificate is never sent and the handshake fails with "certificate required".
        configuration.verifySignatureAlgorithms = [
            .ecdsaSecp256R1Sha256, .rsaPssRsaeSha256, .rsaPkcs1Sha256, .ecdsaSecp384R1Sha384, .rsaPssRsaeSha384, .rsaPkcs1Sha384,
            .ecdsaSecp521R1Sha512, .rsaPssRsaeSha512, .rsaPkcs1Sha512, .ed25519,
        ]
        return configuration
    }

    /// The metrics listener: plain HTTP, `GET /metrics` only, in the Prometheus text format. It is a listener of its
    /// own so that a scraper needs no client certificate and reaches nothing of the API; bind it to loopback or a
    /// monitoring network.
    public static func metricsApplication(
        hub: Hub, metrics: HubMetrics, connections: ConnectionGauge, host: String, port: Int, logger: Logger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            let body = try await metrics.exposition(of: hub, connectionsOpen: connections.count)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
        }
        return Application(router: router, configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "liaison-metrics"),
                           onServerRunning: onServerRunning, logger: logger)
    }
}
