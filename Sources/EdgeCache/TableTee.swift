import KubeJSON
import KubeTable
import NIOCore
import NIOHTTP1
import OutpostProxy

/// Filters a `meta.k8s.io` Table (`kubectl get`) of a filtered resource row by row, so the client
/// keeps the apiserver's columns. The rows stream through one at a time (a Table can be as big as
/// its list); a dropped row is left out, a kept row is passed on, stripped back to the client's
/// `includeObject` when the router asked the apiserver for more of the object than the client did
/// (a field rule needs `spec`/`status`). Nothing of a Table is cached (rows are not objects).
/// A response that is not a Table (the client also took plain JSON and the apiserver chose it)
/// goes to `fallback`, the list tee the plain list would have had.
final class TableTee: ResponseInterceptor {
    private let ctx: TeeContext
    private let fallback: ResponseInterceptor
    /// What the client asked for in each row's object, when the apiserver was asked for more.
    private let strip: IncludeObject?
    private var splitter: JSONListSplitter
    private var table = false
    private var broken = false
    private var wroteRow = false
    private var out = ByteBuffer()
    /// The Table's apiVersion (`meta.k8s.io/v1` or `v1beta1`, as negotiated): PartialObjectMetadata uses it.
    private let apiVersion: String

    /// A get (`kubectl get pod NAME`): its one-row Table is held until the end, and a dropped row
    /// turns it into the apiserver's 404, as a filtered plain get does.
    private let getName: String?
    private var heldHead: HTTPResponseHead?
    private var droppedRow = false

    init(ctx: TeeContext, fallback: ResponseInterceptor, strip: IncludeObject?, apiVersion: String, getName: String? = nil) {
        self.ctx = ctx
        self.apiVersion = apiVersion
        self.getName = getName
        self.fallback = fallback
        self.strip = strip
        splitter = JSONListSplitter(fieldPaths: ctx.indexer.paths, shape: .table)
    }

    func head(_ head: HTTPResponseHead, to sink: ResponseSink) {
        guard Self.isReadableTable(head) else {
            fallback.head(head, to: sink)
            return
        }
        table = true
        if getName != nil {
            heldHead = ResponseShape.withoutContentLength(head)
        } else {
            sink.sendHead(ResponseShape.withoutContentLength(head))
        }
    }

    /// A 2xx uncompressed JSON answer to a Table ask is the Table (1.20 labels it plain
    /// `application/json`); the body is checked as it is split (`rows`, then `finish`).
    static func isReadableTable(_ head: HTTPResponseHead) -> Bool {
        guard head.status.code >= 200 && head.status.code < 300 else { return false }
        if let enc = head.headers.first(name: "content-encoding"), !enc.isEmpty, enc.lowercased() != "identity" { return false }
        guard let ct = head.headers.first(name: "content-type") else { return false }
        return ct.lowercased().split(separator: ";").first?.trimmingSpaces() == "application/json"
    }

    func body(_ buffer: ByteBuffer, to sink: ResponseSink) {
        guard table else { return fallback.body(buffer, to: sink) }
        guard !broken else { return }
        do {
            try buffer.withReadableBytes { bytes in
                try splitter.feed(bytes) { segment in
                    switch segment {
                    case .prefix(let b), .suffix(let b):
                        out.writeBytes(b)
                    case .item(let b, let meta):
                        try row(b, meta)
                    }
                }
            }
        } catch {
            // What went out no longer lines up with the apiserver's bytes: end it as broken.
            ctx.logger.warning("table not parseable", metadata: ["gvr": "\(ctx.collection.gvr)", "error": "\(error)"])
            broken = true
            out = ByteBuffer()
            if let head = heldHead {
                heldHead = nil
                sink.sendHead(head)
            }
            sink.abortResponse()
            return
        }
        if out.readableBytes > 0 && getName == nil {
            sink.sendBody(out)
            out = ByteBuffer()
        }
    }

    private func row(_ bytes: UnsafeRawBufferPointer, _ meta: ObjectMeta) throws {
        if ctx.drops(meta) {
            droppedRow = true
            return
        }
        if wroteRow { out.writeInteger(UInt8(ascii: ",")) }
        wroteRow = true
        if let strip {
            out.writeBytes(try RowRewrite.strip(row: Array(bytes), to: strip, apiVersion: apiVersion))
        } else {
            out.writeBytes(bytes)
        }
    }

    func end(to sink: ResponseSink) {
        guard table else { return fallback.end(to: sink) }
        guard !broken else { return }
        do {
            try splitter.finish()
        } catch {
            // A truncated Table must not end cleanly.
            broken = true
            if let head = heldHead {
                heldHead = nil
                sink.sendHead(head)
            }
            sink.abortResponse()
            return
        }
        guard let head = heldHead, let name = getName else { return }
        heldHead = nil
        if droppedRow {
            let status = StatusResponses.notFound(ctx.collection, name: name)
            sink.sendHead(status.head)
            sink.sendBody(status.body)
        } else {
            sink.sendHead(head)
            sink.sendBody(out)
        }
        out = ByteBuffer()
    }

    func abort() {
        if !table { fallback.abort() }
    }

    var readyForMore: Bool { table ? true : fallback.readyForMore }
}
