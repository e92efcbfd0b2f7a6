import NIOCore
import NIOSSL
import NIOTLS

/// Closes a connection that does not finish its TLS handshake in time, or whose request headers do not
/// arrive in time once the request began. It sits right after TLS, where it sees the handshake's end and
/// the first plaintext bytes of each request; `RequestHeadWatcher`, after the HTTP decoder, tells it when
/// the headers are complete and when the answer is written. It also closes a connection whose answer cannot leave for
/// the idle timeout because the client reads none of it (the connection stays past NIO's high-water mark): such a
/// client holds its answer's buffers, and one that writes all its pipelined requests before it reads would wait forever.
final class ConnectionDeadlines: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum Stage { case handshaking, idle, readingHead, inRequest }
    private var stage = Stage.handshaking
    private var deadline: Scheduled<Void>?
    /// Armed while the connection cannot take more of an answer.
    private var stalled: Scheduled<Void>?
    private let limits: ConnectionLimits

    init(limits: ConnectionLimits) { self.limits = limits }

    func handlerAdded(context: ChannelHandlerContext) {
        arm(limits.handshakeTimeout, context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
        stalled?.cancel()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        stalled?.cancel()
        ConnectionClosures.shared.closed(context.channel, ended: true)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls, stage == .handshaking {
            disarm()
            stage = .idle
        }
        // The client closed its side (or TLS saw it go): a request still running, such as a long-poll, has nobody to answer.
        if case ChannelEvent.inputClosed? = event as? ChannelEvent { ConnectionClosures.shared.closed(context.channel, ended: false) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if stage == .idle { stage = .readingHead }
        context.fireChannelRead(data)
    }

    /// The header deadline is armed only when a read ends with the head still incomplete: most heads arrive whole in
    /// one read, and a timer scheduled and cancelled for each of them was 2% of a metadata read's CPU.
    func channelReadComplete(context: ChannelHandlerContext) {
        if stage == .readingHead, deadline == nil { arm(limits.headerTimeout, context: context) }
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        stalled?.cancel()
        stalled = nil
        if !context.channel.isWritable { stalled = closing(after: limits.idleTimeout, context: context) }
        context.fireChannelWritabilityChanged()
    }

    /// The request's headers are complete: its body and answer take as long as they take.
    func headReceived() {
        disarm()
        stage = .inRequest
    }

    /// The answer is written: the next bytes start the next request's header deadline.
    func answerWritten() {
        if stage == .inRequest { stage = .idle }
    }

    private func arm(_ timeout: Duration, context: ChannelHandlerContext) {
        disarm()
        deadline = closing(after: timeout, context: context)
    }

    /// The connection's close, `timeout` from now.
    private func closing(after timeout: Duration, context: ChannelHandlerContext) -> Scheduled<Void> {
        let channel = context.channel
        return context.eventLoop.scheduleTask(in: TimeAmount(timeout)) { channel.close(promise: nil) }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}

@available(*, unavailable)
extension ConnectionDeadlines: Sendable {}
