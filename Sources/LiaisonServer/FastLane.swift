import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import LiaisonAPI
import LiaisonHub
import LiaisonStore
import NIOCore
import NIOHTTPTypes
@_spi(Generated) import OpenAPIRuntime

/// The hub's most frequent requests, metadata reads (`GET /v1/items/{id}`), payload reads (`GET /v1/items/{id}/payload`),
/// listings (`GET /v1/items`) and JSON pushes (`POST /v1/items`), answered on the connection's own pipeline (reads on
/// its event loop too, pushes on the concurrency pool, see `answer`), in front of Hummingbird, whose router, request
/// and response types, middleware chain and generated transport cost more per request than a read itself
/// (`scripts/bench`: the hub's `healthz` against a bare route, a bare SwiftNIO answer against a bare Hummingbird one).
///
/// The work is the routed path's: the same identity and refusal tracing (`IdentityMiddleware.serve`), the same
/// operations (`HandWrittenOperations.item`, `.payloadFields`, `.listed` and `.pushed`), body limit and budget, error
/// answers (`ErrorMiddleware.refusal`), log line and metrics (`RequestObservationMiddleware.observe`), the same headers,
/// and a payload gathered whole or streamed as `WholeResponseMiddleware` decides. The lane takes only what the routed
/// path would read exactly so (see `itemID(of:)`, `payloadID(of:)`, `listing(of:)` and `pushLength(of:)`); a push
/// body that `NewItemJSON` does not read goes the routed way whole, to be refused there as before.
///
/// Answers leave in request order: the lane takes a request only while none sent before it is still with
/// Hummingbird, and holds what a client pipelines behind a request it is answering (reading no more meanwhile). The
/// next is answered once the connection has room for it, so a client that does not read its answers holds up only itself.
final class FastLane: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// What answering takes, shared by every connection.
    struct Services: Sendable {
        let api: APIHandler
        let identity: IdentityMiddleware
        let errors: ErrorMiddleware
        let observation: RequestObservationMiddleware
        /// As `BodyLimitMiddleware` holds bodies: the largest, and the hub-wide budget.
        let bodyLimit: Int
        let budget: ByteBudget
        /// As `StorageAdmissionMiddleware` admits pushes (nil: no reserve kept).
        let space: StorageSpace?
        /// Told of every request the lane answers, which its store's batches wait for (nil: a store whose batches do not).
        let demand: WriteDemand?
    }

    /// A request the lane is reading.
    private enum Taken {
        case read(HTTPRequest, id: String)
        case payload(HTTPRequest, id: String)
        case list(HTTPRequest, Operations.ListItems.Input)
        /// A push, its declared length held in the budget; its body so far is `pushBody`.
        case push(HTTPRequest, length: Int)
    }

    private let services: Services
    /// Requests passed on to Hummingbird whose answers have not been written yet.
    private var routed = 0
    private var taken: Taken?
    private var pushBody = ByteBuffer()
    private var answering = false
    /// Parts that arrived while the lane was answering, read once it has.
    private var held = CircularBuffer<HTTPRequestPart>()
    private var readWithheld = false
    /// The client closed its side while the lane was answering: told on once the answer is out, or Hummingbird,
    /// its requests done, would close the connection under the lane's answer.
    private var inputClosedWithheld = false
    /// An answer is out but the connection holds more than it should (past NIO's high-water mark): the client is not
    /// reading its answers. The lane stays answering, reading and answering nothing more, until the connection drains.
    private var waitingToWrite = false

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
        switch (part, taken) {
        case (.head(let head), _):
            if routed == 0, let id = Self.itemID(of: head) { return taken = .read(head, id: id) }
            if routed == 0, let id = Self.payloadID(of: head) { return taken = .payload(head, id: id) }
            if routed == 0, let input = Self.listing(of: head) { return taken = .list(head, input) }
            if routed == 0, let length = Self.pushLength(of: head, limit: services.bodyLimit), services.space?.admits(bytes: length) ?? true,
               services.budget.reserve(length) {
                pushBody = context.channel.allocator.buffer(capacity: length)
                // Taken: the body is read now, as `ExpectContinueMiddleware` tells a routed request's client.
                if ExpectContinueMiddleware.expectsContinue(head.headerFields) {
                    context.writeAndFlush(wrapOutboundOut(ExpectContinueMiddleware.continueHead), promise: nil)
                }
                return taken = .push(head, length: length)
            }
            routed += 1
        case (.body(let chunk), .push):
            pushBody.writeImmutableBuffer(chunk)
            return
        case (.body, .read(let head, _)), (.body, .payload(let head, _)), (.body, .list(let head, _)):
            // Not sent for a request without a length (see `itemID(of:)`); were one, the request goes the routed way.
            route(head, context: context)
        case (.end, .read(let head, let id)):
            taken = nil
            let (services, channel) = (services, context.channel)
            return answer(context: context) { await services.read(head, id: id, channel: channel) }
        case (.end, .payload(let head, let id)):
            taken = nil
            let (services, channel) = (services, context.channel)
            return answer(context: context) { await services.payload(head, id: id, channel: channel) }
        case (.end, .list(let head, let input)):
            taken = nil
            let (services, channel) = (services, context.channel)
            return answer(context: context) { await services.list(head, input, channel: channel) }
        case (.end, .push(let head, let length)):
            taken = nil
            let body = pushBody
            pushBody = ByteBuffer()
            guard let newItem = NewItemJSON.read(Data(body.readableBytesView)) else {
                // The routed path reads it with the generated layer and answers as it always did (its client was told
                // to continue already).
                services.budget.release(length)
                var head = head
                head.headerFields[.expect] = nil
                route(head, context: context)
                context.fireChannelRead(wrapInboundOut(.body(body)))
                break
            }
            let (services, channel, key) = (services, context.channel, head.headerFields[Self.idempotencyKey])
            return answer(context: context, onLoop: Self.answersOnLoop(length: length, newItem), then: { services.budget.release(length) }) {
                await services.push(head, newItem, idempotencyKey: key, channel: channel)
            }
        case (.body, nil), (.end, nil):
            break
        }
        context.fireChannelRead(wrapInboundOut(part))
    }

    /// Hands a request the lane began to read to Hummingbird after all.
    private func route(_ head: HTTPRequest, context: ChannelHandlerContext) {
        taken = nil
        routed += 1
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Only Hummingbird's answers pass here (the lane writes from its own place in the pipeline). An answer to a
        // request the lane never saw (a 400 for bytes the decoder refused) leaves the count below zero: the lane then
        // takes nothing more on that connection, the safe way to be wrong.
        if case .end = unwrapOutboundIn(data) { routed -= 1 }
        context.write(data, promise: promise)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        context.fireChannelWritabilityChanged()
        if waitingToWrite, context.channel.isWritable {
            waitingToWrite = false
            answered(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // The connection closed in the middle of a push's body: its share of the budget is free again.
        if case .push(_, let length) = taken { services.budget.release(length) }
        taken = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if answering, case .inputClosed? = event as? ChannelEvent { return inputClosedWithheld = true }
        context.fireUserInboundEventTriggered(event)
    }

    /// While the lane answers, reading stops only once the client has sent more (what it pipelines is held, at most one
    /// socket read's worth). A client that waits for its answer, as nearly all do, keeps the connection's read interest:
    /// withholding every read made the loop drop and take it back around each answer, two `epoll_ctl` calls a request.
    func read(context: ChannelHandlerContext) {
        if answering, !held.isEmpty { readWithheld = true } else { context.read() }
    }

    /// Answers with what `work` makes, then reads on. `work` runs on the connection's loop (`onLoop`), where it carries
    /// on after its store's commit without hopping to the concurrency pool and back; or on the pool, as Hummingbird runs
    /// a routed request, for the pushes whose work would hold up the loop's other connections (`answersOnLoop`).
    private func answer(context: ChannelHandlerContext, onLoop: Bool = true, then done: (() -> Void)? = nil,
                        _ work: @escaping @Sendable () async -> Answer) {
        answering = true
        let promise = context.eventLoop.makePromise(of: Answer.self)
        // Counted from now, as soon as the request is whole: a batch committing meanwhile may wait for its write.
        let demand = services.demand
        demand?.began()
        let counted: @Sendable () async -> Answer = {
            defer { demand?.ended() }
            return await work()
        }
        if onLoop {
            Task(executorPreference: executor) { promise.succeed(await counted()) }
        } else {
            Task { promise.succeed(await counted()) }
        }
        promise.futureResult.assumeIsolated().whenSuccess { answer in
            done?()
            var response = HTTPResponse(status: answer.status)
            response.headerFields = answer.headers
            switch answer.body {
            case .whole(let bytes): response.headerFields[.contentLength] = String(bytes.count)
            // Without a length, the encoder sends it in chunks, as Hummingbird sends an answer without one.
            case .streamed(let stream): if let length = stream.length { response.headerFields[.contentLength] = String(length) }
            }
            response.headerFields[.date] = HTTPDate.now
            response.headerFields[.server] = HubServer.serverName
            context.write(self.wrapOutboundOut(.head(response)), promise: nil)
            switch answer.body {
            case .whole(let bytes):
                context.write(self.wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: bytes))), promise: nil)
                context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
                self.answered(context: context)
            case .streamed(let stream):
                self.send(stream, context: context)
            }
        }
    }

    /// Writes a streamed answer's body piece by piece, each read while the last is being sent and written once it has
    /// left (a delivery holds two pieces at most whatever its size), then reads on. A piece that cannot be read or
    /// sent ends the connection, as it ends a routed answer whose head has left.
    private func send(_ stream: PayloadStream, context: ChannelHandlerContext) {
        // The task runs on the connection's loop (`executor`), where the handler and its context may be used.
        let bound = NIOLoopBound((lane: self, context: context), eventLoop: context.eventLoop)
        let sent = context.eventLoop.makePromise(of: Void.self)
        Task(executorPreference: executor) {
            do {
                var leaving: EventLoopFuture<Void>?
                for try await piece in stream {
                    try await leaving?.get()
                    let (lane, context) = bound.value
                    leaving = context.writeAndFlush(lane.wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: piece))))
                }
                try await leaving?.get()
                sent.succeed()
            } catch {
                sent.fail(error)
            }
        }
        sent.futureResult.assumeIsolated().whenComplete { result in
            guard case .success = result else { return context.close(promise: nil) }
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
            self.answered(context: context)
        }
    }

    /// An answer is out: what the client sent meanwhile is read, then reading goes on.
    private func answered(context: ChannelHandlerContext) {
        // The next answer is made only once the connection can take it: a client that pipelines requests and never
        // reads would otherwise have the hub keep every answer in memory (hundreds of megabytes from one connection).
        guard context.channel.isWritable else { return waitingToWrite = true }
        answering = false
        var replayed = false
        while !answering, let part = held.popFirst() {
            replayed = true
            read(part, context: context)
        }
        // What went on to Hummingbird reaches it only at the end of a read (NIOAsyncChannel takes reads in batches): a
        // routed request pipelined behind a lane answer waited for the client's next bytes, and a client that had sent all
        // its requests and waited got no answer to it.
        if replayed { context.fireChannelReadComplete() }
        guard !answering else { return }
        if inputClosedWithheld {
            inputClosedWithheld = false
            context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }
        if readWithheld {
            readWithheld = false
            context.read()
        }
    }

    /// Whether a push of a `length`-byte body runs on the connection's loop: when its work before the durable insert is
    /// decoding, digesting and sealing with symmetric keys of at most `loopPushLimit` bytes, tens of microseconds on the
    /// loop. A larger one, or a payload sealed to the hub (opening it is a private-key operation, about a millisecond
    /// with RSA), goes to the pool, where it holds up no other connection.
    static func answersOnLoop(length: Int, _ newItem: Components.Schemas.NewItem) -> Bool {
        length <= loopPushLimit && (newItem.contentEncoding == nil || newItem.contentEncoding == .identity)
    }

    static let loopPushLimit = 64 << 10

    struct Answer: Sendable {
        let status: HTTPResponse.Status
        var headers: HTTPFields
        /// Whole, or a payload read from the store as the connection takes it.
        var body: DeliveredBody

        /// A JSON answer, as the hand-written operations write it.
        static func json(_ status: HTTPResponse.Status, _ bytes: [UInt8]) -> Answer {
            Answer(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .whole(bytes))
        }
    }

    /// The item id of a metadata read the lane answers as the routed path would; nil for anything else.
    static func itemID(of head: HTTPRequest) -> String? {
        guard acceptsJSONPlainly(head) else { return nil }
        return plainID(of: head, before: [])
    }

    /// The item id of a payload read (`GET /v1/items/{id}/payload`) the lane answers as the routed path would: with no
    /// Accept header or `*/*` (one envelope for a sealed payload; frames go to a reader that names them); nil for
    /// anything else.
    static func payloadID(of head: HTTPRequest) -> String? {
        let accept = head.headerFields[values: .accept]
        guard accept.isEmpty || accept == ["*/*"] else { return nil }
        return plainID(of: head, before: payloadSuffix)
    }

    /// The id in a bodiless GET of `/v1/items/{id}` followed by `suffix`, when it needs no decoding: unreserved
    /// characters only (no escapes, no query, no further segment).
    private static func plainID(of head: HTTPRequest, before suffix: [UInt8]) -> String? {
        guard head.method == .get, let path = head.path, path.utf8.count > prefix.count + suffix.count, path.utf8.starts(with: prefix),
              path.utf8.suffix(suffix.count).elementsEqual(suffix) else { return nil }
        let id = path.utf8.dropFirst(prefix.count).dropLast(suffix.count)
        // No body: neither a length nor chunks.
        guard id.allSatisfy(PlainQuery.isUnreserved), head.headerFields[.contentLength] == nil, head.headerFields[.transferEncoding] == nil else { return nil }
        return String(Substring(id))
    }

    /// The input of a listing (`GET /v1/items?...`) the lane answers as the routed path would; nil for anything else,
    /// a query the generated layer's converter refuses among them.
    static func listing(of head: HTTPRequest) -> Operations.ListItems.Input? {
        guard head.method == .get, let path = head.path, path.utf8.starts(with: listPath),
              path.utf8.count == listPath.count || path.utf8.dropFirst(listPath.count).first == UInt8(ascii: "?"),
              head.headerFields[.contentLength] == nil, head.headerFields[.transferEncoding] == nil, acceptsJSONPlainly(head) else { return nil }
        return try? HandWrittenOperations.listInput(head)
    }

    /// The declared body length of a JSON push the lane reads as the routed path would (at most `limit`, the largest
    /// body); nil for anything else: another form of push, a length to refuse, chunks, `Liaison-*` headers (the
    /// streamed form's, which the generated layer decodes), or an idempotency key that would need decoding.
    static func pushLength(of head: HTTPRequest, limit: Int) -> Int? {
        guard head.method == .post, head.path == HandWrittenOperations.pushItem.path,
              head.headerFields[values: .contentType].count == 1, let type = head.headerFields[.contentType], HandWrittenOperations.plainJSONTypes.contains(type),
              head.headerFields[values: .contentLength].count == 1, let length = head.headerFields[.contentLength].flatMap({ Int($0) }),
              (1...limit).contains(length), head.headerFields[.transferEncoding] == nil, acceptsJSONPlainly(head) else { return nil }
        let keys = head.headerFields[values: idempotencyKey]
        guard keys.count <= 1, keys.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy(PlainQuery.isUnreserved) }),
              !HandWrittenOperations.namesStreamedFields(head.headerFields) else { return nil }
        return length
    }

    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    private static let prefix = Array("/v1/items/".utf8)
    private static let payloadSuffix = Array("/payload".utf8)
    private static let listPath = Array(HandWrittenOperations.listItems.path.utf8)

    /// No Accept header, or one of the plain ones (`plainAccepts`).
    private static func acceptsJSONPlainly(_ head: HTTPRequest) -> Bool {
        let accept = head.headerFields[values: .accept]
        return accept.isEmpty || (accept.count == 1 && plainAccepts.contains(accept[0]))
    }

    /// Accept headers that allow the JSON answer and that the routed path reads no differently.
    private static let plainAccepts: Set<String> = ["*/*", "application/json", "application/*"]
}

extension FastLane.Services {
    /// A metadata read, as the routed path answers it.
    func read(_ head: HTTPRequest, id: String, channel: any Channel) async -> FastLane.Answer {
        await answering(Operations.GetItem.id, head, channel: channel) {
            .json(.ok, try await HandWrittenOperations.item(id: id, head, ServerRequestMetadata(pathParameters: ["id": Substring(id)]), api: api))
        }
    }

    /// A payload read, as the routed path answers it (`HandWrittenOperations.getItemPayload`).
    func payload(_ head: HTTPRequest, id: String, channel: any Channel) async -> FastLane.Answer {
        await answering(Operations.GetItemPayload.id, head, channel: channel) {
            try await HandWrittenOperations.handling(Operations.GetItemPayload.id, head, nil, ServerRequestMetadata(pathParameters: ["id": Substring(id)]), input: id) {
                let delivered = try await api.delivery(id: id, accept: head.headerFields[values: .accept])
                return FastLane.Answer(status: .ok, headers: try HandWrittenOperations.payloadFields(of: delivered, head), body: delivered.body)
            }
        }
    }

    /// A listing, as the routed path answers it.
    func list(_ head: HTTPRequest, _ input: Operations.ListItems.Input, channel: any Channel) async -> FastLane.Answer {
        await answering(Operations.ListItems.id, head, channel: channel) { .json(.ok, try await HandWrittenOperations.listed(input, head, api: api)) }
    }

    /// A JSON push, as the routed path answers it: 201 when stored, 200 when it replays an earlier push.
    func push(_ head: HTTPRequest, _ newItem: Components.Schemas.NewItem, idempotencyKey: String?, channel: any Channel) async -> FastLane.Answer {
        await answering(Operations.PushItem.id, head, channel: channel) {
            let (bytes, created) = try await HandWrittenOperations.pushed(newItem, idempotencyKey: idempotencyKey, head, api: api)
            return .json(created ? .created : .ok, bytes)
        }
    }

    /// Runs `work` as the routed path runs an operation: as the connection's principal, refusals traced, errors
    /// answered, then the log line and the metrics.
    private func answering(_ operation: String, _ head: HTTPRequest, channel: any Channel,
                           _ work: () async throws -> FastLane.Answer) async -> FastLane.Answer {
        let started = ContinuousClock.now
        // The query is read for error messages only; like the routed path's, the log line and the trace name the path alone.
        let target = head.path ?? ""
        let uri = URI(target)
        let path = String(uri.path)
        let observed = ObservedRequest()
        let answer = await ObservedRequest.$current.withValue(observed) { () async -> FastLane.Answer in
            do {
                let extra = ResponseHeaders()
                var answer = try await identity.serve(on: channel, operation: "\(head.method) \(path)", headers: extra,
                                                      translate: { ErrorMiddleware.translate($0, method: head.method, uri: uri) }) {
                    try await work()
                }
                // As `IdentityMiddleware` adds them to a routed answer (a payload's `Liaison-Content-Type`).
                for field in extra.all { answer.headers[field.name] = field.value }
                // As `WholeResponseMiddleware` gathers a routed answer of a known, small length before its head leaves
                // (so that a piece that cannot be read is answered as an error).
                if case .streamed(let stream) = answer.body, let length = stream.length, length <= DeliveredBody.wholeLimit {
                    answer.body = .whole(try await stream.gathered())
                }
                return answer
            } catch {
                let refusal = errors.refusal(for: error, method: head.method, uri: uri)
                let (headers, body) = refusal.answer
                return FastLane.Answer(status: refusal.status, headers: headers, body: .whole(Array(body)))
            }
        }
        observation.observe(operation: operation, principal: observed.principal, status: answer.status.code, since: started, method: head.method, path: path)
        return answer
    }
}

@available(*, unavailable)
extension FastLane: Sendable {}
