import NIOCore
import NIOHTTP1
import OutpostProxy

/// A watch that went to the apiserver because its scope's reflector was not ready yet is handed
/// over once it is: the forwarded stream is ended cleanly (as the apiserver ends a watch at its
/// timeout) and the client re-watches from its last resourceVersion — now served by the watch
/// cache, from the history. Never within its first seconds (client-go counts a watch that ends
/// within a second without events as failed, and relists), and never an error.
final class WatchHandover: ResponseInterceptor {
    private let inner: ResponseInterceptor?
    private let hub: WatchHub
    private var timer: Scheduled<Void>?
    private var ended = false
    static let firstCheck = TimeAmount.milliseconds(1500)
    static let interval = TimeAmount.seconds(2)

    init(inner: ResponseInterceptor?, hub: WatchHub) {
        self.inner = inner
        self.hub = hub
    }

    func head(_ head: HTTPResponseHead, to sink: ResponseSink) {
        if let inner { inner.head(head, to: sink) } else { sink.sendHead(head) }
        guard head.status == .ok else { return }
        schedule(in: Self.firstCheck, sink)
    }

    private func schedule(in delay: TimeAmount, _ sink: ResponseSink) {
        timer = sink.eventLoop.assumeIsolated().scheduleTask(in: delay) { [weak self, weak sink] in
            guard let self, let sink, !self.ended else { return }
            if self.hub.isReady {
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
