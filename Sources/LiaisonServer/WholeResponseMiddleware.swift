import Hummingbird
import LiaisonHub
import NIOCore

/// Hands Hummingbird each answer as one buffer. The generated layer answers with a streamed body, which
/// Hummingbird writes as head, body and end in three separate trips to the event loop (measured: about
/// two TLS records and socket writes per answer). An answer up to `limit` bytes, already in memory in the
/// generated layer, is gathered here first so that it leaves in one write; a larger one (a big payload)
/// streams as before.
struct WholeResponseMiddleware: RouterMiddleware {
    typealias Context = LiaisonRequestContext
    /// As a delivery counts a large answer against the answer budget: what it does not count is gathered here.
    var limit = DeliveredBody.wholeLimit

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        if let whole = try await Self.whole(response.body, upTo: limit) {
            response.body = whole
        }
        return response
    }

    /// The body as one buffer when its declared length is at most `limit`; nil (stream it) otherwise.
    static func whole(_ body: ResponseBody, upTo limit: Int) async throws -> ResponseBody? {
        guard let length = body.contentLength, length <= limit else { return nil }
        let gathered = GatheredBody()
        try await body.write(BodyGatherer(into: gathered))
        let buffer = gathered.buffer
        guard let trailers = gathered.trailers else { return ResponseBody(byteBuffer: buffer) }
        return ResponseBody(contentLength: buffer.readableBytes) { writer in
            try await writer.write(buffer)
            try await writer.finish(trailers)
        }
    }
}

/// What a body wrote, kept by reference because the writer is consumed by `ResponseBody.write`.
private final class GatheredBody {
    var buffer = ByteBuffer()
    var trailers: HTTPFields?
}

private struct BodyGatherer: ResponseBodyWriter {
    let gathered: GatheredBody

    init(into gathered: GatheredBody) {
        self.gathered = gathered
    }

    func write(_ buffer: ByteBuffer) async throws {
        if gathered.buffer.readableBytes == 0 {
            gathered.buffer = buffer  // the usual single chunk: no copy
        } else {
            var incoming = buffer
            gathered.buffer.writeBuffer(&incoming)
        }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        gathered.trailers = trailingHeaders
    }
}
