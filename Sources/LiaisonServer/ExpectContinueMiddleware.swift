import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Answers `Expect: 100-continue` (RFC 9110, 10.1.1): the interim `100 Continue` goes out when the hub starts reading
/// the body, so a client sends it only to a request the hub has taken.
///
/// curl asks so for every body over 1 MiB and, told nothing, waits a second before it sends the body anyway: each
/// streamed push from curl began a second late. A request refused before its body is read (its length, its sender,
/// its headers) gets its final answer instead, with `Connection: close`, since the client then may never send the
/// body the connection would have to be read past.
struct ExpectContinueMiddleware: RouterMiddleware {
    typealias Context = LiaisonRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard Self.expectsContinue(request.headers) else { return try await next(request, context) }
        let interim = Interim(channel: context.channel)
        var request = request
        request.body = RequestBody(asyncSequence: ContinuedBody(base: request.body, interim: interim))
        var response = try await next(request, context)
        if !interim.sent { response.headers[.connection] = "close" }
        return response
    }

    /// Whether a request asks for `100 Continue` before it sends its body (the expectation is case-insensitive).
    static func expectsContinue(_ headers: HTTPFields) -> Bool {
        headers[values: .expect].contains { $0.lowercased() == "100-continue" }
    }

    /// The interim answer.
    static let continueHead = HTTPResponsePart.head(HTTPResponse(status: .continue))

    /// Sends `100 Continue` once, on the request's connection.
    final class Interim: Sendable {
        private let channel: any Channel
        private let state = Mutex(false)

        init(channel: any Channel) {
            self.channel = channel
        }

        var sent: Bool { state.withLock { $0 } }

        func send() async throws {
            guard state.withLock({ sent in defer { sent = true }; return !sent }) else { return }
            // Written from the pipeline's end, as the answer will be, and before anyone reads the body or answers.
            try await channel.writeAndFlush(ExpectContinueMiddleware.continueHead)
        }
    }

    /// The request's body, which sends `100 Continue` when it is first read.
    struct ContinuedBody: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let base: RequestBody
        let interim: Interim

        struct AsyncIterator: AsyncIteratorProtocol {
            var base: RequestBody.AsyncIterator
            let interim: Interim
            var started = false

            mutating func next() async throws -> ByteBuffer? {
                if !started {
                    started = true
                    try await interim.send()
                }
                return try await base.next()
            }
        }

        func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(base: base.makeAsyncIterator(), interim: interim)
        }
    }
}
