import LiaisonCore
import LiaisonCrypto

/// The authenticated principal of the request being handled, set by `IdentityMiddleware`
/// around the generated OpenAPI handlers, which see only HTTP types.
enum RequestPrincipal {
    @TaskLocal static var current: Principal?
    /// The certificate the principal presented on this connection.
    @TaskLocal static var certificate: X509Certificate?
}
