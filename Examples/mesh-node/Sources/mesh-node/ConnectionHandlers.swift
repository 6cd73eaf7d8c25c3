import NIOCore
import NIOHTTP2

/// First in an inbound connection's pipeline: closes the connection unless the client has sent the
/// 24 bytes of the HTTP/2 client preface within `timeout` of the connection becoming active (a
/// slow or silent client must not hold a client slot). Whether the bytes are a valid preface is
/// `NIOHTTP2Handler`'s to judge; this handler only bounds the wait, then removes itself.
/// Event-loop bound: every method and the timer run on the channel's event loop.
final class HandshakeTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The HTTP/2 client connection preface, `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`, is 24 bytes.
    private static let prefaceLength = 24
    private let timeout: TimeAmount
    private let timedOut: () -> Void
    private var received = 0
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount, timedOut: @escaping () -> Void) {
        self.timeout = timeout
        self.timedOut = timedOut
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += unwrapInboundIn(data).readableBytes
        context.fireChannelRead(data)
        if received >= Self.prefaceLength, timer != nil {
            timer?.cancel()
            timer = nil
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    private func arm(_ context: ChannelHandlerContext) {
        guard timer == nil, received < Self.prefaceLength else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            let (handler, context) = loopBound.value
            guard handler.timer != nil else { return }
            handler.timer = nil
            handler.timedOut()
            context.close(promise: nil)
        }
    }
}

/// After `NIOHTTP2Handler` in an inbound connection's pipeline: counts the connection's open
/// streams (the stream initializer calls `streamOpened(_:)`, and each stream's close calls
/// `streamClosed()`: with the async multiplexer, `NIOHTTP2Handler` fires no stream events down the
/// pipeline) and
/// - closes the connection (GOAWAY, then close) once it has had no open stream for `idleTimeout`,
///   counted from activation or from its last stream's end;
/// - on `ChannelShouldQuiesceEvent` (graceful shutdown) sends GOAWAY naming the last stream it saw
///   (so new streams are refused), closes once the open streams have ended, and in any case after
///   `drainTimeout` (which closes, and so resets, the streams still open);
/// - closes the connection on any error that reaches it (a malformed frame is a connection error
///   for that client only).
/// Event-loop bound: every method and the timers run on the channel's event loop.
final class StreamActivityHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private let idleTimeout: TimeAmount
    private let drainTimeout: TimeAmount
    private let idleClosed: () -> Void
    private var context: ChannelHandlerContext?
    private var openStreams = 0
    private var lastStreamID = HTTP2StreamID.rootStream
    private var draining = false
    private var idleTimer: Scheduled<Void>?
    private var drainTimer: Scheduled<Void>?

    init(idleTimeout: TimeAmount, drainTimeout: TimeAmount, idleClosed: @escaping () -> Void) {
        self.idleTimeout = idleTimeout
        self.drainTimeout = drainTimeout
        self.idleClosed = idleClosed
    }

    /// A stream was created (by the peer); `id` is its stream ID when known.
    func streamOpened(_ id: HTTP2StreamID?) {
        openStreams += 1
        if let id { lastStreamID = max(lastStreamID, id) }
        idleTimer?.cancel()
        idleTimer = nil
    }

    /// A stream counted by `streamOpened(_:)` has closed.
    func streamClosed() {
        openStreams = max(0, openStreams - 1)
        guard openStreams == 0 else { return }
        if draining { goAwayAndClose() } else { armIdle() }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { armIdle() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        drainTimer?.cancel()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        armIdle()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        drainTimer?.cancel()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, !draining {
            draining = true
            idleTimer?.cancel()
            if openStreams == 0 {
                goAwayAndClose()
            } else {
                let goAway = HTTP2Frame(
                    streamID: .rootStream,
                    payload: .goAway(lastStreamID: lastStreamID, errorCode: .noError, opaqueData: nil)
                )
                context.writeAndFlush(wrapOutboundOut(goAway), promise: nil)
                let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                drainTimer = context.eventLoop.assumeIsolated().scheduleTask(in: drainTimeout) {
                    loopBound.value.close(promise: nil)
                }
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    private func armIdle() {
        guard let context, !draining, openStreams == 0 else { return }
        idleTimer?.cancel()
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: idleTimeout) {
            let handler = handler.value
            guard handler.openStreams == 0, !handler.draining else { return }
            handler.idleClosed()
            handler.goAwayAndClose()
        }
    }

    private func goAwayAndClose() {
        guard let context else { return }
        let goAway = HTTP2Frame(
            streamID: .rootStream,
            payload: .goAway(lastStreamID: lastStreamID, errorCode: .noError, opaqueData: nil)
        )
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(goAway)).assumeIsolated().whenComplete { _ in
            loopBound.value.close(promise: nil)
        }
    }
}
