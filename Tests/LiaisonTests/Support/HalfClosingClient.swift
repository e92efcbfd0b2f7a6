import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// One mTLS connection that sends a request and at once closes its own side (TLS close_notify, then the TCP write
/// side), as a client that gives up or a half-closing HTTP client does; it then collects whatever the hub sends back.
enum HalfClosingClient {
    /// Everything the hub sent on the connection until it closed it, or nil if nothing came within `seconds`.
    static func send(_ request: String, port: Int, certificate: String, key: String, ca: String, seconds: Int64) async throws -> String {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
        let context = try NIOSSLContext(configuration: tls)
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: request)).get()
        try await channel.close(mode: .output).get()
        // The hub answers and keeps or closes the connection; either way, what it sent is read until then.
        let timeout = channel.eventLoop.scheduleTask(in: .seconds(seconds)) { channel.close(promise: nil) }
        try? await channel.closeFuture.get()
        timeout.cancel()
        return collector.text
    }

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        private let received = Mutex("")
        var text: String { received.withLock { $0 } }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            received.withLock { $0 += String(buffer: buffer) }
            // A complete answer (chunked, ends with the last chunk) is all there is: close from here.
            if text.hasSuffix("0\r\n\r\n") { context.close(promise: nil) }
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case ChannelEvent.inputClosed? = event as? ChannelEvent { context.close(promise: nil) }
            context.fireUserInboundEventTriggered(event)
        }
    }
}
