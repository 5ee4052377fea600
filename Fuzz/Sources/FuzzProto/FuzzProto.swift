import FuzzSupport
import KubeJSON
import KubeProto
import Selectors

// Input: any bytes, read as a protobuf List body (`k8s\0` + Unknown), a protobuf watch stream
// and one object body, with the field paths the cache extracts for pods. Checks, beyond
// "never crashes":
// - streaming is chunk-independent (cuts derived from the input), as for JSON;
// - an accepted list's segments concatenate to exactly the input (a tee forwards them);
//   every item frame is one field-2 record around its message, its metadata equals
//   `ProtoObjectMeta.parse` of the message alone, and its mask has the same length and
//   still frames as one record;
// - an accepted watch stream's frames concatenate to the input, each frame's length prefix
//   covers it exactly, and each object's metadata equals a parse of the object alone.

private let jsonPaths: FieldPaths = {
    var all: [[String]] = []
    for field in FieldLabelSupport.forResource(group: "", resource: "pods").fields {
        for path in field.source.paths {
            var keys: [String] = []
            for component in path {
                guard case .key(let k) = component else { keys = []; break }
                keys.append(k)
            }
            if !keys.isEmpty { all.append(keys) }
        }
    }
    all.append(["metadata", "labels", "app"])
    return FieldPaths(all)
}()
private let paths = ProtoFieldPaths(json: jsonPaths, group: "", resource: "pods")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProto(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = inputBuffer(data, size)
    let cuts = chunkCuts(length: input.count, seed: fnv1a(input))
    checkList(input, cuts: cuts)
    checkWatch(input, cuts: cuts)
    if let (envelope, meta) = try? ProtoObjectMeta.parseBody(input, fields: paths) {
        require(envelope.raw.lowerBound >= 4 && envelope.raw.upperBound <= input.count, "raw \(envelope.raw) outside the body")
        let alone = try? ProtoObjectMeta.parse(UnsafeRawBufferPointer(rebasing: input[envelope.raw]), fields: paths,
                                               typeMeta: envelope.typeMeta)
        require(alone == meta, "body metadata differs from its raw's")
        let re = ProtoEnvelope.encode(typeMeta: envelope.typeMeta, raw: UnsafeRawBufferPointer(rebasing: input[envelope.raw]))
        require(re.count == ProtoEnvelope.bodySize(typeMeta: envelope.typeMeta, rawLength: envelope.raw.count), "bodySize")
        if let again = try? ProtoEnvelope.parse(re) {
            require(again.typeMeta == envelope.typeMeta && Array(re[again.raw]) == Array(input[envelope.raw]),
                    "re-encoded envelope reads differently")
        } else {
            require(false, "re-encoded envelope does not parse")
        }
    }
    _ = try? ProtoListMeta.parse(input)
    return 0
}

private struct ListRun {
    var out: [UInt8] = []
    var items: [OwnedProtoListSegment] = []
    var info: ProtoListInfo?
    var ok = false
}

private func splitList(_ pieces: [UnsafeRawBufferPointer]) -> ListRun {
    var s = ProtoListSplitter(fieldPaths: paths)
    var run = ListRun()
    do {
        for piece in pieces {
            try s.feed(piece) { segment in
                switch segment {
                case .prefix(let b):
                    require(run.items.isEmpty, "prefix after an item")
                    run.out += b
                case .suffix(let b):
                    require(!run.items.isEmpty, "suffix before any item")
                    run.out += b
                case .item(let frame, let message, let meta):
                    checkItem(frame, message, meta)
                    run.out += frame
                    run.items.append(.item(frame: Array(frame), message: Array(message), meta: meta))
                }
            }
        }
        run.info = try s.finish()
        run.ok = true
    } catch {
        require(error is ProtoError, "list splitter threw \(error)")
    }
    return run
}

private func checkItem(_ frame: UnsafeRawBufferPointer, _ message: UnsafeRawBufferPointer, _ meta: ObjectMeta) {
    guard let (tag, payload) = oneRecord(frame) else {
        require(false, "emitted item frame is not one record")
        return
    }
    require(tag == ProtoTag(field: 2, wireType: .lengthDelimited), "item frame tag \(tag)")
    require(payload == Array(message), "item frame does not end with its message")
    do {
        let alone = try ProtoObjectMeta.parse(message, fields: paths)
        require(alone == meta, "item metadata \(meta) differs from its own parse \(alone)")
    } catch {
        require(false, "emitted item's message does not parse alone: \(error)")
    }
    guard let masked = try? ProtoListSplitter.mask(frame: frame) else {
        require(false, "an emitted item cannot be masked")
        return
    }
    require(masked.count == frame.count, "mask changed the length")
    let record = masked.withUnsafeBytes { oneRecord($0) }
    require(record?.0 == ProtoTag(field: ProtoListSplitter.maskField, wireType: .lengthDelimited)
                && record?.1.allSatisfy { $0 == 0 } == true, "mask is not one zeroed field-15 record")
}

/// The tag and payload of `bytes` if they are exactly one length-delimited record.
private func oneRecord(_ bytes: UnsafeRawBufferPointer) -> (ProtoTag, [UInt8])? {
    var r = ProtoReader(bytes)
    guard let tag = try? r.readTag(), tag.wireType == .lengthDelimited,
          let payload = try? r.readLengthDelimited(), r.isAtEnd else { return nil }
    return (tag, Array(payload))
}

private func checkList(_ input: UnsafeRawBufferPointer, cuts: [Int]) {
    let whole = splitList([input])
    let pieces = splitList(chunks(input, at: cuts))
    require(whole.ok == pieces.ok, "list accepted whole: \(whole.ok), in pieces: \(pieces.ok), cuts \(cuts)")
    if whole.ok {
        require(whole.out == Array(input), "accepted list segments do not concatenate to the input")
        require(pieces.out == Array(input), "accepted list segments (in pieces) do not concatenate to the input")
        require(whole.items == pieces.items && whole.info == pieces.info, "list items depend on chunking, cuts \(cuts)")
        require(whole.info?.itemCount == whole.items.count, "itemCount")
    } else {
        let n = min(whole.items.count, pieces.items.count)
        require(Array(whole.items.prefix(n)) == Array(pieces.items.prefix(n)), "items before the error depend on chunking")
        require(Array(input.prefix(whole.out.count)) == whole.out, "emitted bytes are not the input's prefix")
        require(Array(input.prefix(pieces.out.count)) == pieces.out, "emitted bytes (in pieces) are not the input's prefix")
    }
}

private struct WatchRun {
    var events: [OwnedProtoWatchEvent] = []
    var ok = false
}

private func splitWatch(_ pieces: [UnsafeRawBufferPointer]) -> WatchRun {
    var s = ProtoWatchSplitter(fieldPaths: paths)
    var run = WatchRun()
    do {
        for piece in pieces {
            try s.feed(piece) { event in
                let f = event.frame
                require(f.count >= 4, "short frame")
                let n = Int(f[0]) << 24 | Int(f[1]) << 16 | Int(f[2]) << 8 | Int(f[3])
                require(n + 4 == f.count, "frame length \(n) vs \(f.count - 4)")
                if event.type != .error {
                    let alone = try? ProtoObjectMeta.parse(event.object, fields: paths, typeMeta: event.typeMeta)
                    require(alone == event.meta, "event metadata \(event.meta) differs from its object's parse")
                }
                run.events.append(event.owned)
            }
        }
        try s.finish()
        run.ok = true
    } catch {
        require(error is ProtoError, "watch splitter threw \(error)")
    }
    return run
}

private func checkWatch(_ input: UnsafeRawBufferPointer, cuts: [Int]) {
    let whole = splitWatch([input])
    let pieces = splitWatch(chunks(input, at: cuts))
    require(whole.ok == pieces.ok, "watch accepted whole: \(whole.ok), in pieces: \(pieces.ok), cuts \(cuts)")
    if whole.ok {
        require(whole.events == pieces.events, "watch events depend on chunking, cuts \(cuts)")
        require(whole.events.flatMap(\.frame) == Array(input), "accepted watch frames do not concatenate to the input")
    } else {
        let n = min(whole.events.count, pieces.events.count)
        require(Array(whole.events.prefix(n)) == Array(pieces.events.prefix(n)), "events before the error depend on chunking")
    }
}
