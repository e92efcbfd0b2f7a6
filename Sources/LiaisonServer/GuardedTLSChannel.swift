import HummingbirdCore
import Logging
import NIOCore
import NIOSSL

/// TLS in front of the HTTP channel, as HummingbirdTLS's `TLSChannel` sets it up, plus the connection cap
/// and the handshake and header deadlines (`ConnectionDeadlines`) between TLS and HTTP, and the `FastLane`.
struct GuardedTLSChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let sslContext: NIOSSLContext
    let limits: ConnectionLimits
    let gauge: ConnectionGauge
    let lane: FastLane.Services?

    struct OverCapacity: Error {}

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        // Past the cap a connection is closed before any TLS work, so the open ones keep their share.
        guard gauge.admit() else {
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(OverCapacity())
        }
        let gauge = self.gauge
        channel.closeFuture.whenComplete { _ in gauge.release() }
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
            try channel.pipeline.syncOperations.addHandler(ConnectionDeadlines(limits: limits))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }.flatMapThrowing { value in
            // Behind Hummingbird's connection state (keep-alive, idle timeout), which then sees the lane's answers too.
            if let lane {
                let state = try channel.pipeline.syncOperations.handler(type: HTTPConnectionStateHandler.self)
                try channel.pipeline.syncOperations.addHandler(FastLane(services: lane, loop: channel.eventLoop), position: .after(state))
            }
            return value
        }
    }

    func handle(value: Base.Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension GuardedTLSChannel: HTTPChannelHandler where Base: HTTPChannelHandler {
    var responder: HTTPChannelHandler.Responder { base.responder }
}
