import Hummingbird
import LiaisonHub

/// Refuses request bodies larger than a push can be (the payload limit, base64-inflated, plus metadata)
/// before they are read into memory; the payload's exact size is checked again after decoding.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = LiaisonRequestContext
    let payloadLimit: Int

    var bodyLimit: Int { (payloadLimit + 2) / 3 * 4 + 256 * 1024 }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap(Int.init) {
            // A declared length is enforced by the HTTP parser; refuse early, without reading.
            guard length <= bodyLimit else { throw tooLarge() }
            return try await next(request, context)
        }
        var request = request
        if request.method == .post || request.method == .put || request.method == .patch {
            // No declared length (chunked): read at most the limit.
            do {
                _ = try await request.collectBody(upTo: bodyLimit)
            } catch let error as HTTPError where error.status == .contentTooLarge {
                throw tooLarge()
            }
        }
        return try await next(request, context)
    }

    func tooLarge() -> HubError {
        HubError(.tooLarge, code: "payload_too_large", message: "the request body is larger than this hub accepts (payloads up to \(payloadLimit) bytes)",
                 hint: "Split the material into several items or ask the operator to raise --max-payload", field: "payload")
    }
}
