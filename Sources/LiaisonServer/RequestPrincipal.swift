import LiaisonCrypto
import LiaisonHub

/// The request being handled as the hub's services see it (who asks, under which policy snapshot, at what time),
/// set by `IdentityMiddleware` around the generated OpenAPI handlers, which see only HTTP types.
enum RequestPrincipal {
    @TaskLocal static var context: HubContext?
    /// The certificate the principal presented on this connection.
    @TaskLocal static var certificate: X509Certificate?
}
