import NIOCore
import Synchronization

/// Keep-alive reuse of upstream connections, one idle stack per event loop so a client channel
/// always gets an upstream channel on its own loop. Loop-confined state lives in `LoopPool`;
/// the outer map is only touched to find a loop's pool.
public final class UpstreamPool: Sendable {
    public let connector: UpstreamConnector
    private let pools = Mutex<[ObjectIdentifier: LoopPool]>([:])
    private let maxIdle: Int

    public init(connector: UpstreamConnector) {
        self.connector = connector
        self.maxIdle = connector.configuration.maxIdleConnectionsPerLoop
    }

    /// A connection for one exchange: `reused` tells whether it came from the idle stack (the
    /// server may have closed it meanwhile, which makes a failure before any response retryable).
    public struct Lease: Sendable {
        public var channel: Channel
        public var reused: Bool
    }

    /// An idle connection from this loop's stack (unless `fresh`), or a new one.
    public func acquire(on loop: EventLoop, fresh: Bool = false) -> EventLoopFuture<Lease> {
        loop.preconditionInEventLoop()
        if !fresh, let channel = pool(for: loop).pop() {
            return loop.makeSucceededFuture(Lease(channel: channel, reused: true))
        }
        return connector.connect(on: loop).map { Lease(channel: $0, reused: false) }
    }

    /// Return a connection whose last exchange completed cleanly (request and response ended,
    /// keep-alive on both sides). Anything else must be closed by the caller instead.
    public func release(_ channel: Channel) {
        channel.eventLoop.preconditionInEventLoop()
        guard channel.isActive else { return }
        let pool = pool(for: channel.eventLoop)
        if !pool.push(channel, maxIdle: maxIdle) {
            channel.close(promise: nil)
        }
    }

    /// Close every idle connection (shutdown).
    public func closeIdle() {
        let all = pools.withLock { Array($0.values) }
        for p in all {
            p.loop.execute { p.closeAll() }
        }
    }

    private func pool(for loop: EventLoop) -> LoopPool {
        pools.withLock { map in
            let key = ObjectIdentifier(loop)
            if let p = map[key] { return p }
            let p = LoopPool(loop: loop)
            map[key] = p
            return p
        }
    }
}

/// Idle connections of one event loop. Only ever touched on that loop.
final class LoopPool: @unchecked Sendable {
    let loop: EventLoop
    private var idle: [(channel: Channel, since: NIODeadline)] = []
    private let maxIdleTime = TimeAmount.seconds(50)

    init(loop: EventLoop) { self.loop = loop }

    func pop() -> Channel? {
        loop.preconditionInEventLoop()
        let now = NIODeadline.now()
        while let (channel, since) = idle.popLast() {
            let watcher = try? channel.pipeline.syncOperations.handler(type: IdleConnectionHandler.self)
            if let watcher { channel.pipeline.syncOperations.removeHandler(watcher, promise: nil) }
            if channel.isActive && now - since < maxIdleTime && watcher != nil {
                return channel
            }
            channel.close(promise: nil)
        }
        return nil
    }

    func push(_ channel: Channel, maxIdle: Int) -> Bool {
        loop.preconditionInEventLoop()
        guard idle.count < maxIdle else { return false }
        let watcher = IdleConnectionHandler { [weak self] ch in self?.remove(ch) }
        do {
            try channel.pipeline.syncOperations.addHandler(watcher)
        } catch {
            return false
        }
        idle.append((channel, .now()))
        return true
    }

    func remove(_ channel: Channel) {
        idle.removeAll { $0.channel === channel }
    }

    func closeAll() {
        let all = idle
        idle.removeAll()
        for (c, _) in all { c.close(promise: nil) }
    }
}

/// Sits at the end of an idle upstream connection's pipeline: the server closing it, or sending
/// anything unsolicited, removes it from the pool so it is never handed to a request.
final class IdleConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let onDead: (Channel) -> Void

    init(onDead: @escaping (Channel) -> Void) { self.onDead = onDead }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        onDead(context.channel)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        onDead(context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        onDead(context.channel)
        context.close(promise: nil)
    }
}
