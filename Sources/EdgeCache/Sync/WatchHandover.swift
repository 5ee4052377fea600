import NIOCore
import NIOHTTP1
import OutpostProxy

/// A watch that went to the apiserver because its scope's reflector was not ready yet is handed
/// over once it is: the forwarded stream is ended cleanly (as the apiserver ends a watch at its
/// timeout) and the client re-watches from its last resourceVersion — now served by the watch
/// cache, from the history. Never within its first seconds (client-go counts a watch that ends
/// within a second without events as failed, and relists), never an error, and only for clients
/// that re-watch (reflectors: they ask for bookmarks).
final class WatchHandover: ResponseInterceptor {
    private let inner: ResponseInterceptor?
    private let hub: WatchHub
    /// Where the client's watch started: it has seen at least this far, so a resume from its
    /// position is inside the hub's history when this is (otherwise it would get 410 and relist).
    private let from: UInt64
    private var timer: Scheduled<Void>?
    private var ended = false
    static let firstCheck = TimeAmount.milliseconds(1500)
    static let interval = TimeAmount.seconds(2)

    init(inner: ResponseInterceptor?, hub: WatchHub, from: UInt64) {
        self.inner = inner
        self.hub = hub
        self.from = from
    }

    func head(_ head: HTTPResponseHead, to sink: ResponseSink) {
        if let inner { inner.head(head, to: sink) } else { sink.sendHead(head) }
        guard head.status == .ok else { return }
        schedule(in: Self.firstCheck, sink)
    }

    private func schedule(in delay: TimeAmount, _ sink: ResponseSink) {
        timer = sink.eventLoop.assumeIsolated().scheduleTask(in: delay) { [weak self, weak sink] in
            guard let self, let sink, !self.ended else { return }
            if let floor = self.hub.floor, floor <= self.from {
                self.ended = true
                sink.endStream()
            } else {
                self.schedule(in: Self.interval, sink)
            }
        }
    }

    func body(_ buffer: ByteBuffer, to sink: ResponseSink) {
        if let inner { inner.body(buffer, to: sink) } else { sink.sendBody(buffer) }
    }

    func end(to sink: ResponseSink) {
        timer?.cancel()
        inner?.end(to: sink)
    }

    func abort() {
        timer?.cancel()
        inner?.abort()
    }

    var readyForMore: Bool { inner?.readyForMore ?? true }
}
