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
        hub: Hub, settings: ServerSettings, logger: Logger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let router = Router(context: LiaisonRequestContext.self)
        router.add(middleware: ErrorMiddleware(logger: logger))
        router.add(middleware: WholeResponseMiddleware())
        router.add(middleware: BodyLimitMiddleware(payloadLimit: hub.limits.payloadBytes))
        router.add(middleware: IdentityMiddleware(hub: hub, identities: PeerIdentityCache(revocations: settings.revocations)))
        router.add(middleware: AcceptMiddleware())
        try APIHandler(hub: hub).registerHandlers(on: router, configuration: Wire.configuration)
        return Application(
            router: router,
            server: try httpsServer(settings),
            configuration: ApplicationConfiguration(address: .hostname(settings.host, port: settings.port), serverName: "liaison"),
            onServerRunning: onServerRunning,
            logger: logger
        )
    }

    /// HTTP/1.1 over mutual TLS, as the hub serves it (scripts/bench measures a bare route on the same server).
    public static func httpsServer(_ settings: ServerSettings) throws -> HTTPServerBuilder {
        try .tls(.http1(), tlsConfiguration: tlsConfiguration(settings))
    }

    /// TLS 1.2 minimum; a client certificate from the hub's CA is required (no hostname check on clients).
    static func tlsConfiguration(_ settings: ServerSettings) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(settings.certificatePath).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: settings.keyPath, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(settings.caPath))
        configuration.certificateVerification = .noHostnameVerification
        return configuration
    }
}
