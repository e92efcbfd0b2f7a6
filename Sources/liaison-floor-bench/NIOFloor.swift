import Foundation
import LiaisonCore
import LiaisonServer
import LiaisonStore
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// GET /healthz and GET /v1/audited on a bare SwiftNIO pipeline (handlers on the event loop): what the hub's hot routes would cost
/// served without Hummingbird. GET /healthz answers at once; GET /v1/audited appends a trail entry first, on the
/// store's committer, and answers on the event loop when it is durable (the task runs on the loop, as FastLane's do).
enum NIOFloor {
    static func run(host: String, port: Int, cert: String, key: String, ca: String, store: SQLiteStore?) throws {
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) },
                                                           privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
        tls.certificateVerification = .noHostnameVerification
        let context = try NIOSSLContext(configuration: tls)
        let ids = ItemIDGenerator()
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Answer(store: store, ids: ids))
                }
            }
            .bind(host: host, port: port).wait()
        try channel.closeFuture.wait()
    }

    final class Answer: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let store: SQLiteStore?
        let ids: ItemIDGenerator
        var keepAlive = true
        var audited = false

        init(store: SQLiteStore?, ids: ItemIDGenerator) {
            self.store = store
            self.ids = ids
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                keepAlive = head.isKeepAlive
                audited = head.uri == "/v1/audited"
            case .body: break
            case .end:
                guard audited, let store else { return ok(context) }
                let promise = context.eventLoop.makePromise(of: Void.self)
                let ids = ids
                // On the connection's loop, as the hub's FastLane runs its reads, and counted as it counts them.
                store.writeDemand.began()
                Task(executorPreference: EventLoopTaskExecutor(context.eventLoop)) {
                    defer { store.writeDemand.ended() }
                    do {
                        try await store.record(AuditRecord(time: Date(), actor: "office-3", action: .getItem, targets: [ids.next(at: Date())]))
                        promise.succeed()
                    } catch {
                        promise.fail(error)
                    }
                }
                promise.futureResult.assumeIsolated().whenComplete { _ in self.ok(context) }
            }
        }

        func ok(_ context: ChannelHandlerContext) {
            var headers = HTTPHeaders()
            headers.add(name: "content-length", value: "2")
            headers.add(name: "content-type", value: "text/plain")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: "ok")))), promise: nil)
            let keepAlive = keepAlive
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in if !keepAlive { context.close(promise: nil) } }
        }
    }
}
