import CacheStore
import KubeJSON
import KubeProto
import KubeRequest
import NIOCore
import OutpostProxy

/// A watch served from the cache while the apiserver is away. It is held open (an offline
/// watch that ended at once would look like an error to client-go), sends BOOKMARKs when asked
/// to, ends at `timeoutSeconds`, and ends when the apiserver is back so the client re-watches
/// the cloud from the resourceVersion it has. Watching from "" or "0" first sends the cached
/// objects as ADDED; from a resourceVersion older than the cache's it gets the apiserver's
/// 410 Expired ERROR event (the cache keeps current state, not history), so the client relists
/// — from the cache, which is cheap.
final class WatchAnswer: LocalResponder {
    private let ctx: AnswerContext
    private let selection: Selection
    private let options: ListOptions
    private let bookmarkInterval: TimeAmount
    private var cancelled = false
    private var writer: LocalResponseWriter?
    private var timeoutTimer: Scheduled<Void>?
    private var bookmarkTimer: Scheduled<Void>?
    private var bookmark: [UInt8] = []
    private var startedAt = NIODeadline.now()
    private var encoding: AnswerEncoding = .json
    private var kinds = KindRegistry.Kinds(kind: "", apiVersion: "")
    private static let batchSize = 256
    /// The apiserver's default when the client gives no timeoutSeconds (its min-request-timeout).
    static let defaultTimeout: Int64 = 1800

    init(ctx: AnswerContext, selection: Selection, options: ListOptions, bookmarkInterval: TimeAmount) {
        self.ctx = ctx
        self.selection = selection
        self.options = options
        self.bookmarkInterval = bookmarkInterval
    }

    private enum Plan: Sendable {
        case noScope
        case notAcceptable
        case expired(requested: String, current: String, encoding: AnswerEncoding)
        case hold(rv: String, kinds: KindRegistry.Kinds, encoding: AnswerEncoding, initial: CacheReader.Batch?)
    }

    func start(_ writer: LocalResponseWriter) {
        startedAt = .now()
        ctx.metrics.answered("watch")
        self.writer = writer
        let ctx = self.ctx, selection = self.selection
        let requested = options.resourceVersion
        let wantsInitial = requested.isEmpty || requested == "0"
        ctx.reader.run(on: writer.eventLoop) { store -> Plan in
            guard let scope = try ctx.coveringScope(store, selector: selection.key) else {
                return .noScope
            }
            let kinds = ctx.reader.kinds.lookup(ctx.collection)
            guard let encoding = try ctx.encoding(store) else { return .notAcceptable }
            if !wantsInitial, let want = UInt64(requested), let have = UInt64(scope.resourceVersion), want < have {
                return .expired(requested: requested, current: scope.resourceVersion, encoding: encoding)
            }
            let initial = wantsInitial
                ? try CacheReader.batch(store, ctx.collection, namespace: ctx.namespace, after: nil,
                                        selection: selection, filter: ctx.filter, count: Self.batchSize,
                                        encoding: encoding, kinds: kinds)
                : nil
            return .hold(rv: scope.resourceVersion, kinds: kinds, encoding: encoding, initial: initial)
        }.assumeIsolated().whenComplete { [self] result in
            guard !cancelled else { return }
            switch result {
            case .failure(let error):
                ctx.logger.warning("offline watch failed: the local cache could not be read", metadata: ["error": "\(error)"])
                writer.finish(with: .unavailable("the local cache could not be read: \(error)"))
            case .success(.noScope):
                writer.finish(with: .noCachedData(ctx.collection, namespace: ctx.namespace, what: "a watch of"))
            case .success(.notAcceptable):
                writer.finish(with: .notAcceptable("some \(ctx.collection.resource) are cached as JSON"))
            case .success(.expired(let want, let have, let encoding)):
                writer.head(LocalResponseWriter.streamingHead(contentType: Self.contentType(encoding)))
                writer.body(ByteBuffer(bytes: WatchFrames.expired(requested: want, current: have, encoding: encoding)))
                writer.end()
            case .success(.hold(let rv, let kinds, let encoding, let initial)):
                self.encoding = encoding
                self.kinds = kinds
                bookmark = WatchFrames.bookmark(rv, encoding: encoding, kinds: kinds)
                writer.head(LocalResponseWriter.streamingHead(contentType: Self.contentType(encoding)))
                if options.watchTimeoutSeconds == 0 {
                    finish()
                    return
                }
                writer.flush()
                armTimers(writer)
                if let initial { sendInitial(initial, writer: writer) }
            }
        }
    }

    /// What the apiserver calls a watch stream's media type.
    static func contentType(_ encoding: AnswerEncoding) -> String {
        encoding == .protobuf ? "application/vnd.kubernetes.protobuf;stream=watch" : "application/json"
    }

    private func armTimers(_ writer: LocalResponseWriter) {
        let loop = writer.eventLoop.assumeIsolated()
        // timeoutSeconds absent or 0: the apiserver's default; negative: its context has expired
        // before the watch starts, so the stream ends at once (200, no events).
        let timeout = TimeAmount.seconds(options.watchTimeoutSeconds ?? Self.defaultTimeout)
        timeoutTimer = loop.scheduleTask(in: timeout) { [self] in finish() }
        if options.allowWatchBookmarks { scheduleBookmark(writer) }
    }

    private func scheduleBookmark(_ writer: LocalResponseWriter) {
        bookmarkTimer = writer.eventLoop.assumeIsolated().scheduleTask(in: bookmarkInterval) { [self] in
            guard !cancelled, let writer = self.writer else { return }
            writer.body(ByteBuffer(bytes: bookmark))
            writer.flush()
            scheduleBookmark(writer)
        }
    }

    private func sendInitial(_ batch: CacheReader.Batch, writer: LocalResponseWriter) {
        ctx.streamInitialEvents(batch, to: writer, selection: selection, batchSize: Self.batchSize, encoding: encoding,
                                kinds: kinds, isCancelled: { [self] in cancelled }, stop: { [self] in cancel() }, done: {})
    }

    private func finish() {
        guard !cancelled, let writer else { return }
        cancelTimers()
        self.writer = nil
        writer.flush()
        writer.end()
    }

    private func cancelTimers() {
        timeoutTimer?.cancel()
        timeoutTimer = nil
        bookmarkTimer?.cancel()
        bookmarkTimer = nil
    }

    func cancel() {
        cancelled = true
        cancelTimers()
        writer = nil
    }

    /// The apiserver is back: end the watch so the client re-watches the cloud from its
    /// resourceVersion. client-go counts a watch that ends within a second without any event as
    /// failed and relists (a full list over the WAN), so a young watch is ended only once a
    /// second old, and a BOOKMARK (when allowed) goes first.
    func upstreamReachabilityChanged(online: Bool) {
        guard online, !cancelled, let writer else { return }
        let age = NIODeadline.now() - startedAt
        let minimum = TimeAmount.milliseconds(1200)
        if age < minimum {
            timeoutTimer?.cancel()
            timeoutTimer = writer.eventLoop.assumeIsolated().scheduleTask(in: minimum - age) { [self] in endForRecovery() }
        } else {
            endForRecovery()
        }
    }

    private func endForRecovery() {
        guard !cancelled, let writer else { return }
        if options.allowWatchBookmarks && !bookmark.isEmpty { writer.body(ByteBuffer(bytes: bookmark)) }
        finish()
    }

    func shutdown() { finish() }
}
