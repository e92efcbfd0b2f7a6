import Hummingbird
import LiaisonCore
import LiaisonHub

/// Resolves the TLS peer's certificate CN to a declared principal; identity never comes from a header.
struct IdentityMiddleware: RouterMiddleware {
    typealias Context = LiaisonRequestContext
    let hub: Hub
    let identities: PeerIdentityCache
    /// Paths answered without a declared principal (the handshake still required a certificate from the CA).
    let openPaths: Set<String> = ["/healthz"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if openPaths.contains(request.uri.path) { return try await next(request, context) }
        let principal: Principal
        switch try await identities.identity(of: context.channel) {
        case .commonName(let name):
            principal = try hub.principal(commonName: name)
        case .anonymous:
            throw HubError(.forbidden, code: "no_identity", message: "the client certificate has no Subject CN",
                           hint: "Use a certificate issued by the hub's CA whose CN is a principal of the policy")
        case .revoked:
            throw HubError(.forbidden, code: "certificate_revoked", message: "the client certificate has been revoked by the hub's CA",
                           hint: "Ask the hub's administrator for a new certificate")
        }
        let extraHeaders = ResponseHeaders()
        var response = try await RequestPrincipal.$current.withValue(principal) {
            try await ResponseHeaders.$current.withValue(extraHeaders) { try await next(request, context) }
        }
        for field in extraHeaders.all { response.headers[field.name] = field.value }
        return response
    }
}
