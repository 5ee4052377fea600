import CacheStore
import KubeJSON
import KubeProto
import KubeRequest
import NIOCore
import OutpostProxy

/// What every watch served from the cache writes (the offline `WatchAnswer` and the watch
/// cache's `HubWatchAnswer`), in the client's encoding: JSON lines or length-framed protobuf.
enum WatchFrames {
    /// ADDED events for objects already in `encoding` (a `CacheReader.Batch`'s bodies).
    static func added(_ bodies: [[UInt8]], encoding: AnswerEncoding, kinds: KindRegistry.Kinds) -> [UInt8] {
        var out: [UInt8] = []
        for body in bodies {
            switch encoding {
            case .json: body.withUnsafeBytes { WatchEventWriter.write(type: .added, object: $0, into: &out) }
            case .protobuf: out += ProtoWatchWriter.frame(type: .added, typeMeta: kinds.typeMeta, object: body)
            }
        }
        return out
    }

    /// A BOOKMARK at `resourceVersion` (with `annotations`, e.g. WatchList's initial-events-end).
    static func bookmark(_ resourceVersion: String, encoding: AnswerEncoding, kinds: KindRegistry.Kinds,
                         annotations: [(String, String)] = []) -> [UInt8] {
        switch encoding {
        case .json:
            return WatchEventWriter.bookmark(kind: kinds.kind, apiVersion: kinds.apiVersion, resourceVersion: resourceVersion,
                                             annotations: annotations)
        case .protobuf:
            return ProtoWatchWriter.bookmark(typeMeta: kinds.typeMeta, resourceVersion: resourceVersion, annotations: annotations)
        }
    }

    /// The apiserver's ERROR event for a watch from a resourceVersion it no longer has (410 Expired).
    static func expired(requested: String, current: String, encoding: AnswerEncoding) -> [UInt8] {
        let message = "too old resource version: \(requested) (\(current))"
        switch encoding {
        case .json:
            let status = StatusBody(message: message, reason: .expired, code: 410)
            return WatchEventWriter.event(type: .error, object: status.serialized(trailingNewline: false))
        case .protobuf:
            let status = ProtoStatusWriter.message(message: message, reason: StatusReason.expired.rawValue, code: 410)
            return ProtoWatchWriter.frame(type: .error, typeMeta: ProtoStatusWriter.typeMeta, object: status)
        }
    }
}

extension AnswerContext {
    /// Writes `batch` as ADDED events, then reads and writes the batches after it as the client
    /// takes them, and calls `done` once the last is out. A read that fails once part of the state
    /// is out calls `stop` and aborts the response: going on would tell the client the rest does
    /// not exist. `isCancelled` is asked before each step (the client may have gone).
    func streamInitialEvents(_ batch: CacheReader.Batch, to writer: LocalResponseWriter, selection: Selection,
                             batchSize: Int, encoding: AnswerEncoding, kinds: KindRegistry.Kinds,
                             isCancelled: @escaping () -> Bool, stop: @escaping () -> Void, done: @escaping () -> Void) {
        guard !isCancelled() else { return }
        let out = WatchFrames.added(batch.bodies, encoding: encoding, kinds: kinds)
        if !out.isEmpty { writer.body(ByteBuffer(bytes: out)) }
        writer.flush()
        guard let next = batch.next else {
            done()
            return
        }
        nextBatch(for: writer, after: next, selection: selection, count: batchSize, encoding: encoding, kinds: kinds) { result in
            guard !isCancelled() else { return }
            switch result {
            case .success(let batch):
                streamInitialEvents(batch, to: writer, selection: selection, batchSize: batchSize, encoding: encoding,
                                    kinds: kinds, isCancelled: isCancelled, stop: stop, done: done)
            case .failure(let error):
                stop()
                abort(writer, "watch", error)
            }
        }
    }
}
