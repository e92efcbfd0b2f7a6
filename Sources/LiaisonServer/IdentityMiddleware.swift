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
        let peer = try await identities.identity(of: context.channel)
        // From who the caller is to the answer, the request sees one policy, whatever a SIGHUP reloads meanwhile.
        let hubContext = try await authenticate(peer)
        ObservedRequest.current?.principal = hubContext.principal.id
        let extraHeaders = ResponseHeaders()
        do {
            var response = try await RequestPrincipal.$context.withValue(hubContext) {
                try await RequestPrincipal.$certificate.withValue(peer.certificate) {
                    try await ResponseHeaders.$current.withValue(extraHeaders) {
                        // Only a feed read looks at its connection (a long-poll ends when its client goes away).
                        guard request.uri.path == RequestConnection.feedPath else { return try await next(request, context) }
                        return try await RequestConnection.$channel.withValue(context.channel) { try await next(request, context) }
                    }
                }
            }
            for field in extraHeaders.all { response.headers[field.name] = field.value }
            return response
        } catch {
            // Refusals the hub did not see (input the generated layer rejected) are traced here.
            let refused = ErrorMiddleware.translate(error, request: request)
            if refused.recorded { throw refused }
            // Failures of the hub are not refusals; the original error goes on to be logged, with whose request it was.
            if refused.kind == .internalFailure || refused.kind == .integrity { throw AttributedFailure(principal: hubContext.principal.id, error: error) }
            throw await hubContext.refusal(refused, operation: FailureLog.operation(of: error) ?? "\(request.method) \(request.uri.path)")
        }
    }

    /// The request of the connection certificate's declared principal; every refusal is traced under the CN it presented.
    func authenticate(_ peer: PeerIdentity) async throws -> HubContext {
        switch peer.standing {
        case .commonName(let name):
            return try await hub.context(commonName: name)
        case .anonymous:
            throw await hub.refusal(HubError(.forbidden, code: "no_identity", message: "the client certificate has no Subject CN",
                                             hint: "Use a certificate issued by the hub's CA whose CN is a principal of the policy"),
                                    actor: "cn:", action: .authenticate)
        case .revoked(let name):
            throw await hub.refusal(HubError(.forbidden, code: "certificate_revoked", message: "the client certificate has been revoked by the hub's CA",
                                             hint: "Ask the hub's administrator for a new certificate"),
                                    actor: "cn:\(name)", action: .authenticate)
        }
    }
}
