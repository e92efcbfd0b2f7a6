import Foundation
public import HTTPTypes
public import Hummingbird
import LiaisonAPI
public import LiaisonHub

/// A hub error is an HTTP response: its kind is the status, and the body is the contract's `ErrorResponse`
/// (`{"error": {"code", "message", "hint", "field"}}`). Hummingbird's own layers (metrics, tracing) read the status too.
extension HubError: HTTPResponseError {
    public var status: HTTPResponse.Status {
        switch kind {
        case .invalid: return .badRequest
        case .forbidden: return .forbidden
        case .notFound: return .notFound
        case .conflict: return .conflict
        case .tooLarge: return .contentTooLarge
        case .notAcceptable: return .notAcceptable
        case .gone: return .gone
        case .integrity, .internalFailure: return .internalServerError
        case .unavailable: return .serviceUnavailable
        case .methodNotAllowed: return .methodNotAllowed
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let (headers, body) = answer
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The answer's headers (besides its length) and body.
    var answer: (headers: HTTPFields, body: Data) {
        let body = Components.Schemas.ErrorResponse(error: .init(code: code, message: message, hint: hint, field: field))
        let data = (try? JSONEncoder().encode(body)) ?? Data(#"{"error":{"code":"internal","message":"error"}}"#.utf8)
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        // A full disk takes an operator; a spent memory budget frees itself within a request or two; a database
        // restart or failover takes seconds.
        if kind == .unavailable { headers[.retryAfter] = code == "busy" ? "1" : code == "database_unavailable" ? "5" : "30" }
        if !allow.isEmpty { headers[.allow] = allow.joined(separator: ", ") }
        return (headers, data)
    }
}
