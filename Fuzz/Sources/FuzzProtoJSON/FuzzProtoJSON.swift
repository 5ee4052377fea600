import FuzzSupport
import KubeJSON
import KubeProto
import KubeProtoJSON

// Input: a protobuf body (`k8s\0` + Unknown naming the kind). Checks, beyond "never crashes":
// - a conversion yields one JSON object (KubeJSON validates it) whose kind and apiVersion are
//   the envelope's, and converting without TypeMeta succeeds or fails alike;
// - for an object, the metadata read from the JSON equals the metadata `ProtoObjectMeta` reads
//   from the protobuf (the cache indexes whichever format arrived; both must agree);
// - for a List, the JSON items are exactly the items converted one at a time (how offline
//   answers convert stored protobuf objects).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProtoJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Array(inputBuffer(data, size))
    let withTypeMeta = try? ProtoJSON.convert(envelope: input)
    let withoutTypeMeta = try? ProtoJSON.convert(envelope: input, includeTypeMeta: false)
    require((withTypeMeta == nil) == (withoutTypeMeta == nil), "TypeMeta changes whether the body converts")
    guard let json = withTypeMeta, let envelope = try? ProtoEnvelope.parse(input) else { return 0 }
    let jsonMeta: ObjectMeta
    do {
        jsonMeta = try ObjectMeta.parse(json)
        _ = try ObjectMeta.parse(withoutTypeMeta ?? [])
    } catch {
        require(false, "converted output is not one JSON object: \(error)")
        return 0
    }
    let kind = envelope.typeMeta.kind
    require(jsonMeta.kind == kind && jsonMeta.apiVersion == envelope.typeMeta.apiVersion,
            "JSON TypeMeta \(jsonMeta.kind ?? "-") \(jsonMeta.apiVersion ?? "-") vs envelope \(envelope.typeMeta)")
    let raw = Array(input[envelope.raw])
    if kind.hasSuffix("List") && kind.count > 4 {
        checkList(input, json: json, itemKind: String(kind.dropLast(4)), apiVersion: envelope.typeMeta.apiVersion)
    } else if kind != "Status", let protoMeta = try? ProtoObjectMeta.parse(raw, typeMeta: envelope.typeMeta) {
        require(protoMeta.name == jsonMeta.name && protoMeta.namespace == jsonMeta.namespace
                    && protoMeta.uid == jsonMeta.uid && protoMeta.resourceVersion == jsonMeta.resourceVersion
                    && protoMeta.generation == jsonMeta.generation
                    && protoMeta.hasDeletionTimestamp == jsonMeta.hasDeletionTimestamp,
                "metadata differs: protobuf \(detail(protoMeta)), JSON \(detail(jsonMeta))")
        let protoLabels = protoMeta.labels.map { "\($0.0)=\($0.1)" }.sorted()
        let jsonLabels = jsonMeta.labels.map { "\($0.0)=\($0.1)" }.sorted()
        require(protoLabels == jsonLabels, "labels differ: protobuf \(protoLabels), JSON \(jsonLabels)")
    }
    return 0
}

private func checkList(_ body: [UInt8], json: [UInt8], itemKind: String, apiVersion: String) {
    var protoItems: [[UInt8]] = []
    var splitter = ProtoListSplitter()
    do {
        _ = try body.withUnsafeBytes { b in
            try splitter.feed(b) { segment in
                if case .item(_, let message, _) = segment { protoItems.append(Array(message)) }
            }
        }
        try splitter.finish()
    } catch {
        return   // the splitter is stricter than a decoder (e.g. duplicate raw); nothing to compare
    }
    var jsonItems: [[UInt8]] = []
    var jsonSplitter = JSONListSplitter()
    do {
        _ = try json.withUnsafeBytes { b in
            try jsonSplitter.feed(b) { segment in
                if case .item(let bytes, _) = segment { jsonItems.append(Array(bytes)) }
            }
        }
        try jsonSplitter.finish()
    } catch {
        require(false, "converted List does not split as a JSON List: \(error)")
    }
    require(jsonItems.count == protoItems.count, "\(protoItems.count) protobuf items became \(jsonItems.count) JSON items")
    for (message, converted) in zip(protoItems, jsonItems) {
        do {
            let alone = try ProtoJSON.convert(message: message, kind: itemKind, apiVersion: apiVersion, includeTypeMeta: false)
            require(alone == converted, "an item converts differently alone than inside its List")
        } catch {
            require(false, "an item of a converted List does not convert alone: \(error)")
        }
    }
}

private func detail(_ m: ObjectMeta) -> String {
    [m.name, m.namespace, m.uid, m.resourceVersion].map(\.debugDescription).joined(separator: " ")
        + " generation \(m.generation.map(String.init) ?? "nil") deleting \(m.hasDeletionTimestamp)"
}
