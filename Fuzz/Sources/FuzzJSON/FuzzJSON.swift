import FuzzSupport
import KubeJSON
import Selectors

// Input: any bytes, read as a List body, a watch stream and one object, with the field paths
// the cache extracts for pods. Checks, beyond "never crashes":
// - streaming is chunk-independent: fed whole or in pieces (cuts derived from the input), a
//   splitter accepts or rejects alike and emits the same items/events; before an error the
//   shorter run's items are a prefix of the longer's;
// - an item's (event object's) metadata equals `ObjectMeta.parse` of its own bytes;
// - an accepted list reassembled from its segments splits again to the same items and info;
// - a string written by `JSONWriter` reads back unchanged as a name.

private let fieldPaths: FieldPaths = {
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
    all.append(["metadata", "annotations", "note"])
    return FieldPaths(all)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = inputBuffer(data, size)
    let cuts = chunkCuts(length: input.count, seed: fnv1a(input))
    checkList(input, cuts: cuts)
    checkWatch(input, cuts: cuts)
    if let meta = try? ObjectMeta.parse(input, fields: fieldPaths) {
        require((try? ObjectMeta.parse(input, fields: fieldPaths)) == meta, "metadata parse is not deterministic")
        _ = try? ObjectMeta.parse(input)
        for s in [meta.name, meta.namespace, meta.resourceVersion] + meta.labels.map(\.1) + meta.fields.compactMap({ $0 }) {
            checkStringRoundTrip(s)
        }
    }
    return 0
}

private struct ListRun {
    var prefix: [UInt8] = []
    var items: [OwnedListSegment] = []
    var suffix: [UInt8] = []
    var info: ListInfo?
    var ok = false
}

private func splitList(_ pieces: [UnsafeRawBufferPointer]) -> ListRun {
    var s = JSONListSplitter(fieldPaths: fieldPaths)
    var run = ListRun()
    do {
        for piece in pieces {
            try s.feed(piece) { segment in
                switch segment {
                case .prefix(let b):
                    require(run.items.isEmpty && run.suffix.isEmpty, "prefix after an item or the suffix")
                    run.prefix += b
                case .item(let b, let meta):
                    require(run.suffix.isEmpty, "item after the suffix")
                    checkItem(b, meta)
                    run.items.append(.item(Array(b), meta))
                case .suffix(let b):
                    run.suffix += b
                }
            }
        }
        run.info = try s.finish()
        run.ok = true
    } catch {
        require(error is JSONError, "list splitter threw \(error)")
        require(!s.isComplete || run.ok, "errored splitter claims completeness")
    }
    return run
}

private func checkItem(_ bytes: UnsafeRawBufferPointer, _ meta: ObjectMeta) {
    do {
        let alone = try ObjectMeta.parse(bytes, fields: fieldPaths)
        require(alone == meta, "item metadata \(meta) differs from its own parse \(alone)")
    } catch {
        require(false, "emitted item does not parse alone: \(error)")
    }
}

private func checkList(_ input: UnsafeRawBufferPointer, cuts: [Int]) {
    let whole = splitList([input])
    let pieces = splitList(chunks(input, at: cuts))
    require(whole.ok == pieces.ok, "list accepted whole: \(whole.ok), in pieces: \(pieces.ok), cuts \(cuts)")
    if whole.ok {
        require(whole.items == pieces.items, "list items depend on chunking, cuts \(cuts)")
        require(whole.prefix == pieces.prefix && whole.suffix == pieces.suffix, "list prefix/suffix depend on chunking")
        require(whole.info == pieces.info, "list info depends on chunking")
        require(whole.info?.itemCount == whole.items.count, "itemCount \(whole.info?.itemCount ?? -1) vs \(whole.items.count)")
        // Reassemble: prefix, items joined by commas, suffix.
        var doc = whole.prefix
        for (i, item) in whole.items.enumerated() {
            if i > 0 { doc.append(UInt8(ascii: ",")) }
            if case .item(let b, _) = item { doc += b }
        }
        doc += whole.suffix
        let again = doc.withUnsafeBytes { splitList([$0]) }
        require(again.ok && again.items == whole.items && again.info == whole.info, "reassembled list splits differently")
    } else {
        let n = min(whole.items.count, pieces.items.count)
        require(Array(whole.items.prefix(n)) == Array(pieces.items.prefix(n)), "items before the error depend on chunking")
    }
}

private struct WatchRun {
    var events: [OwnedWatchEvent] = []
    var ok = false
}

private func splitWatch(_ pieces: [UnsafeRawBufferPointer]) -> WatchRun {
    var s = WatchEventSplitter(fieldPaths: fieldPaths)
    var run = WatchRun()
    do {
        for piece in pieces {
            try s.feed(piece) { event in
                do {
                    let alone = try ObjectMeta.parse(event.objectBytes, fields: fieldPaths)
                    require(alone == event.meta, "event metadata \(event.meta) differs from its object's parse \(alone)")
                } catch {
                    // Non-object payloads (an ERROR's Status is an object too) must at least be whole JSON.
                    require(false, "event object does not parse alone: \(error)")
                }
                _ = try? ObjectMeta.parse(event.eventBytes)
                run.events.append(event.owned)
            }
        }
        try s.finish()
        run.ok = true
    } catch {
        require(error is JSONError, "watch splitter threw \(error)")
    }
    return run
}

private func checkWatch(_ input: UnsafeRawBufferPointer, cuts: [Int]) {
    let whole = splitWatch([input])
    let pieces = splitWatch(chunks(input, at: cuts))
    require(whole.ok == pieces.ok, "watch accepted whole: \(whole.ok), in pieces: \(pieces.ok), cuts \(cuts)")
    if whole.ok {
        require(whole.events == pieces.events, "watch events depend on chunking, cuts \(cuts)")
    } else {
        let n = min(whole.events.count, pieces.events.count)
        require(Array(whole.events.prefix(n)) == Array(pieces.events.prefix(n)), "events before the error depend on chunking")
    }
}

private func checkStringRoundTrip(_ s: String) {
    for htmlSafe in [true, false] {
        var doc: [UInt8] = Array(#"{"metadata":{"name":"#.utf8)
        JSONWriter.appendString(s, to: &doc, htmlSafe: htmlSafe)
        doc += Array("}}".utf8)
        do {
            let meta = try ObjectMeta.parse(doc)
            require(meta.name == s, "string \(s.debugDescription) reads back as \(meta.name.debugDescription)")
        } catch {
            require(false, "written string \(s.debugDescription) does not parse: \(error)")
        }
    }
}
