import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import LiaisonAPI
import NIOCore
import NIOHTTPTypes
@_spi(Generated) import OpenAPIRuntime

/// Metadata reads (`GET /v1/items/{id}`, the hub's most frequent request) answered on the connection's own pipeline,
/// in front of Hummingbird, whose router, request and response types, middleware chain and generated transport cost
/// more per read than the read itself (`scripts/bench`: the hub's `healthz` against a bare route, and a bare SwiftNIO
/// answer against a bare Hummingbird one).
///
/// The read is the routed one: the same identity and refusal tracing (`IdentityMiddleware.serve`), the same operation
/// (`HandWrittenOperations.item`), the same error answers (`ErrorMiddleware.refusal`), log line and metrics
/// (`RequestObservationMiddleware.observe`), and the same headers. The lane takes only a request the routed path
/// would read exactly so: no query, no body, an id that needs no decoding, no Accept header or one of the plain ones.
/// Anything else goes on to Hummingbird untouched.
///
/// Answers leave in request order: the lane takes a request only while none sent before it is still with
/// Hummingbird, and holds what a client pipelines behind a request it is answering (reading no more meanwhile).
final class FastLane: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// What answering a read takes, shared by every connection.
    struct Services: Sendable {
        let api: APIHandler
        let identity: IdentityMiddleware
        let errors: ErrorMiddleware
        let observation: RequestObservationMiddleware
        let serverName: String
    }

    private let services: Services
    /// Requests passed on to Hummingbird whose answers have not been written yet.
    private var routed = 0
    /// The head of the request being read for the lane, and its item id.
    private var taken: (head: HTTPRequest, id: String)?
    private var answering = false
    /// Parts that arrived while the lane was answering, read once it has.
    private var held = CircularBuffer<HTTPRequestPart>()
    private var readWithheld = false
    /// The client closed its side while the lane was answering: told on once the answer is out, or Hummingbird,
    /// its requests done, would close the connection under the lane's answer.
    private var inputClosedWithheld = false

    private let executor: EventLoopTaskExecutor

    init(services: Services, loop: any EventLoop) {
        self.services = services
        executor = EventLoopTaskExecutor(loop)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if answering { return held.append(part) }
        read(part, context: context)
    }

    private func read(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            if routed == 0, let id = Self.itemID(of: head) {
                taken = (head, id)
                return
            }
            routed += 1
        case .body:
            // Not sent for a request without a length (see `itemID(of:)`); were one, the request goes the routed way.
            if let (head, _) = taken {
                taken = nil
                routed += 1
                context.fireChannelRead(wrapInboundOut(.head(head)))
            }
        case .end:
            if let (head, id) = taken {
                taken = nil
                return answer(head, id: id, context: context)
            }
        }
        context.fireChannelRead(wrapInboundOut(part))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Only Hummingbird's answers pass here (the lane writes from its own place in the pipeline). An answer to a
        // request the lane never saw (a 400 for bytes the decoder refused) leaves the count below zero: the lane then
        // takes nothing more on that connection, the safe way to be wrong.
        if case .end = unwrapOutboundIn(data) { routed -= 1 }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if answering, case .inputClosed? = event as? ChannelEvent { return inputClosedWithheld = true }
        context.fireUserInboundEventTriggered(event)
    }

    func read(context: ChannelHandlerContext) {
        if answering { readWithheld = true } else { context.read() }
    }

    private func answer(_ head: HTTPRequest, id: String, context: ChannelHandlerContext) {
        answering = true
        let (services, channel) = (services, context.channel)
        let promise = context.eventLoop.makePromise(of: Answer.self)
        Task(executorPreference: executor) { promise.succeed(await services.answer(head, id: id, channel: channel)) }
        promise.futureResult.assumeIsolated().whenSuccess { answer in
            var response = HTTPResponse(status: answer.status)
            response.headerFields = answer.headers
            response.headerFields[.contentLength] = String(answer.body.count)
            response.headerFields[.date] = HTTPDate.now
            response.headerFields[.server] = services.serverName
            context.write(self.wrapOutboundOut(.head(response)), promise: nil)
            context.write(self.wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: answer.body))), promise: nil)
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
            self.answering = false
            while !self.answering, let part = self.held.popFirst() { self.read(part, context: context) }
            guard !self.answering else { return }
            if self.inputClosedWithheld {
                self.inputClosedWithheld = false
                context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            }
            if self.readWithheld {
                self.readWithheld = false
                context.read()
            }
        }
    }

    struct Answer: Sendable {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let body: [UInt8]
    }

    static let path = HandWrittenOperations.getItem.path

    /// The item id of a metadata read the lane answers as the routed path would; nil for anything else.
    static func itemID(of head: HTTPRequest) -> String? {
        guard head.method == .get, let path = head.path, path.utf8.count > prefix.count, path.utf8.starts(with: prefix) else { return nil }
        let id = path.utf8.dropFirst(prefix.count)
        // Unreserved characters only: nothing to decode, no query, no further segment.
        guard id.allSatisfy(isUnreserved) else { return nil }
        // No body: neither a length nor chunks.
        guard head.headerFields[.contentLength] == nil, head.headerFields[.transferEncoding] == nil else { return nil }
        if let accept = head.headerFields[values: .accept].first {
            guard head.headerFields[values: .accept].count == 1, plainAccepts.contains(accept) else { return nil }
        }
        return String(Substring(id))
    }

    private static let prefix = Array("/v1/items/".utf8)
    /// Accept headers that allow the JSON answer and that the routed path reads no differently.
    private static let plainAccepts: Set<String> = ["*/*", "application/json", "application/*"]

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }
}

extension FastLane.Services {
    /// The read, as the routed path answers it: as the connection's principal, audited, errors answered and traced.
    func answer(_ head: HTTPRequest, id: String, channel: any Channel) async -> FastLane.Answer {
        let started = ContinuousClock.now
        let path = head.path ?? ""
        let observed = ObservedRequest()
        let answer = await ObservedRequest.$current.withValue(observed) { () async -> FastLane.Answer in
            do {
                let metadata = ServerRequestMetadata(pathParameters: ["id": Substring(id)])
                let body = try await identity.serve(on: channel, operation: "GET \(path)", headers: ResponseHeaders(),
                                                    translate: { ErrorMiddleware.translate($0, method: .get, uri: URI(path)) }) {
                    try await HandWrittenOperations.item(id: id, head, metadata, api: api)
                }
                return FastLane.Answer(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: body)
            } catch {
                let refusal = errors.refusal(for: error, method: .get, uri: URI(path))
                let (headers, body) = refusal.answer
                return FastLane.Answer(status: refusal.status, headers: headers, body: Array(body))
            }
        }
        observation.observe(operation: Operations.GetItem.id, principal: observed.principal, status: answer.status.code, since: started,
                            method: .get, path: path)
        return answer
    }
}

@available(*, unavailable)
extension FastLane: Sendable {}
