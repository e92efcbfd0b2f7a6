import Hummingbird
import NIOCore
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
        let extraHeaders = ResponseHeaders()
        var response = try await serve(on: context.channel, operation: "\(request.method) \(request.uri.path)", headers: extraHeaders,
                                       translate: { ErrorMiddleware.translate($0, method: request.method, uri: request.uri) }) {
            // A feed read looks at its connection (a long-poll ends when its client goes away), a streamed answer at its
            // loop (`LoopPaced`).
            try await RequestConnection.$channel.withValue(context.channel) { try await next(request, context) }
        }
        for field in extraHeaders.all { response.headers[field.name] = field.value }
        return response
    }

    /// Runs `work` as the connection's declared principal (`RequestPrincipal`), under one policy whatever a SIGHUP
    /// reloads meanwhile. A refusal the hub did not trace (input the generated layer rejected) is traced here, as
    /// `translate` reads the error, under `operation` unless the error names its own.
    func serve<T>(on channel: any Channel, operation: String, headers: ResponseHeaders, translate: (any Error) -> HubError,
                  _ work: () async throws -> T) async throws -> T {
        let peer = try await identities.identity(of: channel)
        let hubContext = try await authenticate(peer)
        ObservedRequest.current?.principal = hubContext.principal.id
        do {
            return try await RequestPrincipal.$context.withValue(hubContext) {
                try await RequestPrincipal.$certificate.withValue(peer.certificate) {
                    try await ResponseHeaders.$current.withValue(headers) { try await work() }
                }
            }
        } catch {
            let refused = translate(error)
            if refused.recorded { throw refused }
            // Failures of the hub are not refusals; the original error goes on to be logged, with whose request it was.
            if refused.kind == .internalFailure || refused.kind == .integrity { throw AttributedFailure(principal: hubContext.principal.id, error: error) }
            throw await hubContext.refusal(refused, operation: FailureLog.operation(of: error) ?? operation)
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
