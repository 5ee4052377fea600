import KubeJSON
import KubeTable
import NIOCore
import NIOHTTP1
import OutpostProxy

/// Filters a Table watch (`kubectl get -w`) of a filtered resource event by event. Each event's
/// object is a one-row Table; only the stream's first event carries `columnDefinitions` (later
/// ones say `null`), so when that event is dropped its definitions move to the next event the
/// client gets. Rows are cut back to the client's `includeObject` when the apiserver was asked for
/// more (see `TablePlan`). BOOKMARK and ERROR events pass as they are. Nothing is cached.
final class TableWatchTee: ResponseInterceptor {
    private let ctx: TeeContext
    private let strip: IncludeObject?
    private let apiVersion: String
    private var splitter: WatchEventSplitter
    private var active = false
    private var broken = false
    /// Column definitions of a dropped first event, for the next event sent.
    private var pendingColumns: [UInt8]?
    private var out = ByteBuffer()

    init(ctx: TeeContext, strip: IncludeObject?, apiVersion: String) {
        self.ctx = ctx
        self.strip = strip
        self.apiVersion = apiVersion
        splitter = WatchEventSplitter()
    }

    func head(_ head: HTTPResponseHead, to sink: ResponseSink) {
        active = TableTee.isReadableTable(head)
        sink.sendHead(active ? ResponseShape.withoutContentLength(head) : head)
    }

    func body(_ buffer: ByteBuffer, to sink: ResponseSink) {
        guard active, !broken else {
            if !broken { sink.sendBody(buffer) }
            return
        }
        do {
            var events: [(WatchEventType, [UInt8], [UInt8])] = []
            try buffer.withReadableBytes { bytes in
                try splitter.feed(bytes) { event in
                    events.append((event.type, Array(event.eventBytes), Array(event.objectBytes)))
                }
            }
            for (type, eventBytes, object) in events { try forward(type, eventBytes, object) }
        } catch {
            ctx.logger.warning("table watch not parseable", metadata: ["gvr": "\(ctx.collection.gvr)", "error": "\(error)"])
            broken = true
            out = ByteBuffer()
            sink.abortResponse()
            return
        }
        if out.readableBytes > 0 {
            sink.sendBody(out)
            out = ByteBuffer()
        }
    }

    private func forward(_ type: WatchEventType, _ eventBytes: [UInt8], _ object: [UInt8]) throws {
        switch type {
        case .bookmark, .error, .unknown:
            out.writeBytes(eventBytes)
            out.writeInteger(UInt8(ascii: "\n"))
            return
        default: break
        }
        let table = try JSONNode.parse(object, skipping: ["rows"])   // rows are split below, by range
        var kept: [[UInt8]] = []
        for member in table.members where member.key == "rows" {
            var rows = JSONListSplitter(fieldPaths: ctx.indexer.paths, shape: .table)
            let wrapped = Array("{\"rows\":".utf8) + object[member.range] + Array("}".utf8)
            for segment in try rows.feed(wrapped) {
                guard case .item(let row, let meta) = segment, !ctx.drops(meta) else { continue }
                kept.append(try strip.map { try RowRewrite.strip(row: row, to: $0, apiVersion: apiVersion) } ?? row)
            }
        }
        if kept.isEmpty {
            // Dropped: its column definitions (the stream's first event) go with the next event.
            if let r = table.range(of: "columnDefinitions"), table["columnDefinitions"] != .null {
                pendingColumns = Array(object[r])
            }
            return
        }
        var rebuilt: [UInt8] = [UInt8(ascii: "{")]
        for (i, member) in table.members.enumerated() {
            if i > 0 { rebuilt.append(UInt8(ascii: ",")) }
            JSONWriter.appendString(member.key, to: &rebuilt)
            rebuilt.append(UInt8(ascii: ":"))
            switch member.key {
            case "columnDefinitions" where member.value == .null && pendingColumns != nil:
                rebuilt += pendingColumns!
                pendingColumns = nil
            case "rows":
                rebuilt.append(UInt8(ascii: "["))
                for (j, row) in kept.enumerated() {
                    if j > 0 { rebuilt.append(UInt8(ascii: ",")) }
                    rebuilt += row
                }
                rebuilt.append(UInt8(ascii: "]"))
            default:
                rebuilt += object[member.range]
            }
        }
        rebuilt.append(UInt8(ascii: "}"))
        var event: [UInt8] = []
        rebuilt.withUnsafeBytes { WatchEventWriter.write(type: type, object: $0, into: &event) }
        out.writeBytes(event)
    }

    func end(to sink: ResponseSink) {}
    func abort() {}
}
