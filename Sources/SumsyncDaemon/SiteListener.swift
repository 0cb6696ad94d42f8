import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import NIOSSL
import NIOTLS
import SumsyncModel
import Synchronization

/// The TLS context the site listener hands each new connection; a reload swaps it, and connections
/// open at that moment keep the one they started with.
package final class ServerTLSContext: Sendable {
    private let current: Mutex<NIOSSLContext>

    package init(_ context: NIOSSLContext) {
        current = Mutex(context)
    }

    package var context: NIOSSLContext { current.withLock { $0 } }

    package func replace(with context: NIOSSLContext) {
        current.withLock { $0 = context }
    }
}

/// Every listener's child channel: HTTP/1.1, behind TLS when the site's `url` is https, with the
/// connection guard (header timeout, connection cap) in its pipeline.
struct SiteChildChannel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value

    let base: HTTP1Channel
    let tls: ServerTLSContext?
    let onTLSRefusal: (@Sendable (_ peer: String, _ reason: String) -> Void)?

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard let tls else { return base.setup(channel: channel, logger: logger) }
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.context))
            try channel.pipeline.syncOperations.addHandler(TLSRefusalHandler(report: onTLSRefusal))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 (over TLS when `tls` is set) with the header timeout, idle timeout and connection cap.
    static func site(
        tls: ServerTLSContext?, tracker: ConnectionTracker, headerTimeout: TimeAmount, idleTimeout: TimeAmount,
        onTLSRefusal: (@Sendable (_ peer: String, _ reason: String) -> Void)? = nil
    ) -> HTTPServerBuilder {
        .init { responder in
            let configuration = HTTP1Channel.Configuration(
                additionalChannelHandlers: [ConnectionGuardHandler(tracker: tracker, headerTimeout: headerTimeout)],
                idleTimeout: idleTimeout
            )
            return SiteChildChannel(
                base: HTTP1Channel(responder: responder, configuration: configuration), tls: tls,
                onTLSRefusal: onTLSRefusal)
        }
    }
}

/// The open connections of one listener. Past `limit`, a new connection closes the one that has been
/// idle longest (no request in progress: a silent or kept-alive connection), so a flood of idle
/// connections cannot lock out a health probe or a child's pull; when every connection is busy, the
/// new one is closed instead.
package final class ConnectionTracker: Sendable {
    private struct Entry {
        let channel: any Channel
        let sequence: UInt64
        var busy: Bool
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var sequence: UInt64 = 0
        var lastWarning: ContinuousClock.Instant?
    }

    private let state = Mutex(State())
    package let limit: Int
    let name: String
    let logger: Logger

    package init(name: String, limit: Int, logger: Logger) {
        self.name = name
        self.limit = limit
        self.logger = logger
    }

    package var count: Int { state.withLock { $0.entries.count } }

    /// Registers a new connection; returns the connection to close, if the listener is over its limit.
    func opened(_ channel: any Channel) -> (any Channel)? {
        let (victim, warn) = state.withLock { state -> ((any Channel)?, Bool) in
            state.sequence += 1
            state.entries[ObjectIdentifier(channel)] = Entry(channel: channel, sequence: state.sequence, busy: false)
            guard state.entries.count > limit else { return (nil, false) }
            let idle = state.entries.values.filter { !$0.busy && $0.channel !== channel }
            let victim = idle.min { $0.sequence < $1.sequence }?.channel ?? channel
            state.entries[ObjectIdentifier(victim)] = nil
            let now = ContinuousClock.now
            let warn = state.lastWarning.map { now - $0 > .seconds(60) } ?? true
            if warn { state.lastWarning = now }
            return (victim, warn)
        }
        if warn {
            logger.warning(
                "The \(name) listener is at its limit of \(limit) connections ([hierarchy] max-connections, at most half of LimitNOFILE=); closing the longest-idle connection for each new one (logged once a minute).",
                metadata: ["listener": "\(name)", "connections.limit": "\(limit)"]
            )
        }
        return victim
    }

    func busy(_ channel: any Channel, _ busy: Bool) {
        state.withLock { state in
            let key = ObjectIdentifier(channel)
            if state.entries[key] != nil { state.entries[key]!.busy = busy }
        }
    }

    func closed(_ channel: any Channel) {
        _ = state.withLock { $0.entries.removeValue(forKey: ObjectIdentifier(channel)) }
    }
}

/// Per connection: registers with the tracker, closes the connection when its first request head has
/// not arrived within the header timeout, and marks it busy from a request head to the end of its response.
final class ConnectionGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let tracker: ConnectionTracker
    let headerTimeout: TimeAmount
    private var headerTimer: Scheduled<Void>?

    init(tracker: ConnectionTracker, headerTimeout: TimeAmount) {
        self.tracker = tracker
        self.headerTimeout = headerTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        if let victim = tracker.opened(channel) {
            victim.close(promise: nil)
            if victim === channel { return }
        }
        channel.closeFuture.whenComplete { [tracker] _ in tracker.closed(channel) }
        headerTimer = context.eventLoop.assumeIsolated().scheduleTask(in: headerTimeout) {
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        headerTimer?.cancel()
        headerTimer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            headerTimer?.cancel()
            headerTimer = nil
            tracker.busy(context.channel, true)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            tracker.busy(context.channel, false)
        }
        context.write(data, promise: promise)
    }
}

/// Reports a TLS handshake that failed, once per connection, with the peer's address: a plain-http
/// request, a client certificate from another CA, an expired one, or a client that gave up.
final class TLSRefusalHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    let report: (@Sendable (_ peer: String, _ reason: String) -> Void)?
    private var handshakeDone = false
    private var reported = false

    init(report: (@Sendable (_ peer: String, _ reason: String) -> Void)?) {
        self.report = report
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event { handshakeDone = true }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !handshakeDone, !reported {
            reported = true
            report?(SiteRequestContext.peerText(context.channel.remoteAddress), Self.describe(error))
        }
        context.fireErrorCaught(error)
    }

    static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("HTTP_REQUEST") || text.contains("WRONG_VERSION_NUMBER") {
            return "plain http sent to an https site (use https:// in the peer's config)"
        }
        if text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("certificate verify failed") {
            return
                "the client's certificate does not chain to the hierarchy CA, or is expired or not yet valid (\(text))"
        }
        if text.contains("PEER_DID_NOT_RETURN_A_CERTIFICATE") {
            return "the client presented no certificate"
        }
        return "TLS handshake failed: \(text)"
    }
}

/// At most `perMinute` log entries a minute for one kind of event (a port scan must not flood the
/// journal); the first entry after a suppressed stretch says how many were left out.
final class LogBudget: Sendable {
    private struct State {
        var windowStart = ContinuousClock.now
        var used = 0
        var suppressed = 0
    }

    private let state = Mutex(State())
    let perMinute: Int

    init(perMinute: Int) {
        self.perMinute = perMinute
    }

    /// Nil when this entry is to be left out; else how many were left out before it.
    func take(now: ContinuousClock.Instant = .now) -> Int? {
        state.withLock { state in
            if now - state.windowStart >= .seconds(60) {
                state.windowStart = now
                state.used = 0
            }
            guard state.used < perMinute else {
                state.suppressed += 1
                return nil
            }
            state.used += 1
            defer { state.suppressed = 0 }
            return state.suppressed
        }
    }
}
