import NIOCore
import Synchronization

/// Sits in every connection's pipeline and notices when the client goes away: a half-close
/// (`inputClosed`; Hummingbird allows remote half-closure) or the connection closing. Work done for
/// that client registers a callback to be stopped then.
final class ClientCloseWatcher: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny
    typealias InboundOut = NIOAny

    private struct State {
        var closed = false
        var callbacks: [UInt64: @Sendable () -> Void] = [:]
        var nextToken: UInt64 = 0
    }

    private let state = Mutex(State())

    /// The watcher of each open connection, so request handlers find theirs without a hop to the
    /// event loop. Entries live from `handlerAdded` to the connection's end.
    private static let watchers = Mutex<[ObjectIdentifier: ClientCloseWatcher]>([:])

    static func watcher(for channel: any Channel) -> ClientCloseWatcher? {
        watchers.withLock { $0[ObjectIdentifier(channel)] }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let key = ObjectIdentifier(context.channel)
        Self.watchers.withLock { $0[key] = self }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        forget(context.channel)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { markClosed() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        markClosed()
        forget(context.channel)
        context.fireChannelInactive()
    }

    /// Calls `callback` when the client goes away (at once if it already has). Returns a token for
    /// ``remove(_:)``, or nil if the callback already ran.
    func onClose(_ callback: @escaping @Sendable () -> Void) -> UInt64? {
        let token = state.withLock { state -> UInt64? in
            guard !state.closed else { return nil }
            state.nextToken += 1
            state.callbacks[state.nextToken] = callback
            return state.nextToken
        }
        if token == nil { callback() }
        return token
    }

    func remove(_ token: UInt64?) {
        guard let token else { return }
        _ = state.withLock { $0.callbacks.removeValue(forKey: token) }
    }

    private func forget(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        Self.watchers.withLock { watchers in
            if watchers[key] === self { watchers[key] = nil }
        }
    }

    private func markClosed() {
        let callbacks = state.withLock { state -> [@Sendable () -> Void] in
            state.closed = true
            defer { state.callbacks = [:] }
            return Array(state.callbacks.values)
        }
        callbacks.forEach { $0() }
    }
}
