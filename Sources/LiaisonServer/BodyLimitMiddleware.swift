import Hummingbird
import LiaisonHub
import NIOCore

/// Refuses request bodies larger than a push can be (the payload limit, base64-inflated, plus metadata)
/// before they are read into memory, and holds every body against the hub-wide `ByteBudget` until its
/// answer is written; the payload's exact size is checked again after decoding.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = LiaisonRequestContext
    let payloadLimit: Int
    let budget: ByteBudget

    var bodyLimit: Int { Self.bodyLimit(payloadLimit: payloadLimit) }

    /// The largest body that can carry a payload of `payloadLimit` bytes (HubLimits bounds it, so this cannot overflow).
    static func bodyLimit(payloadLimit: Int) -> Int { (payloadLimit + 2) / 3 * 4 + 256 * 1024 }

    /// The largest streamed payload (`HubLimits.streamedPayloadBytes`).
    let streamLimit: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.isStreamedPush(request) {
            try StreamedPushHeaders.check(request.headers)
            // Streamed to the store chunk by chunk as it is read, never held whole: no budget; the hub counts its bytes.
            if let declared = request.headers[.contentLength], let length = Int(declared), length > streamLimit {
                throw HubError(.tooLarge, code: "payload_too_large", message: "the streamed payload is \(length) bytes; this hub accepts at most \(streamLimit)",
                               hint: "Split the material into several items or ask the operator to raise --max-stream-payload", field: "payload")
            }
            return try await next(request, context)
        }
        if let declared = request.headers[.contentLength] {
            // A declared length is enforced by the HTTP parser; refuse early, without reading.
            guard let length = Int(declared), length >= 0 else { throw HubError(.invalid, code: "bad_request", message: "Content-Length is not a number", hint: "Send a valid Content-Length or none") }
            guard length <= bodyLimit else { throw tooLarge() }
            guard budget.reserve(length) else { throw busy() }
            defer { budget.release(length) }
            return try await next(request, context)
        }
        guard request.method == .post || request.method == .put || request.method == .patch else { return try await next(request, context) }
        // No declared length (chunked): read at most the limit, taking the budget as the bytes come.
        var request = request
        var collected = ByteBuffer()
        var reserved = 0
        defer { budget.release(reserved) }
        for try await chunk in request.body {
            guard chunk.readableBytes <= bodyLimit - collected.readableBytes else { throw tooLarge() }
            guard budget.reserve(chunk.readableBytes) else { throw busy() }
            reserved += chunk.readableBytes
            collected.writeImmutableBuffer(chunk)
        }
        request.body = RequestBody(buffer: collected)
        return try await next(request, context)
    }

    /// A push whose payload streams: the body itself (`application/octet-stream`), or a form's file part
    /// (`multipart/form-data`, `MultipartPush`).
    static func isStreamedPush(_ request: Request) -> Bool {
        guard request.method == .post, request.uri.path == "/v1/items", let type = request.headers[.contentType] else { return false }
        return type.lowercased().hasPrefix("application/octet-stream") || MultipartPush.isForm(type)
    }

    func tooLarge() -> HubError {
        HubError(.tooLarge, code: "payload_too_large", message: "the request body is larger than this hub accepts (payloads up to \(payloadLimit) bytes)",
                 hint: "Split the material into several items or ask the operator to raise --max-payload", field: "payload")
    }

    func busy() -> HubError {
        HubError(.unavailable, code: "busy", message: "the hub is holding as many request bodies as its memory budget allows",
                 hint: "Nothing was stored; retry after the time in Retry-After")
    }
}
