import Foundation
import KubeJSON
@testable import KubeProto

/// Fixtures live next to this file (no Bundle: read through #filePath).
enum Fixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }
}

/// Deterministic RNG for fuzz tests (SplitMix64), so failures reproduce.
struct SeededRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The result of splitting a whole body.
struct SplitResult {
    var segments: [OwnedProtoListSegment] = []
    var info = ProtoListInfo()

    var prefix: [UInt8] { segments.flatMap { if case .prefix(let b) = $0 { return b } else { return [] } } }
    var suffix: [UInt8] { segments.flatMap { if case .suffix(let b) = $0 { return b } else { return [] } } }
    var items: [(frame: [UInt8], message: [UInt8], meta: ObjectMeta)] {
        segments.compactMap { if case .item(let f, let m, let meta) = $0 { return (f, m, meta) } else { return nil } }
    }
    /// Every emitted byte in order.
    var rejoined: [UInt8] {
        segments.flatMap { s -> [UInt8] in
            switch s {
            case .prefix(let b), .suffix(let b): return b
            case .item(let f, _, _): return f
            }
        }
    }
}

/// Feeds `body` cut at `cuts` (sorted offsets) and finishes.
func splitList(_ body: [UInt8], cuts: [Int] = [], paths: ProtoFieldPaths = .none,
               maxItemSize: Int = ProtoLimits.defaultMaxItemSize) throws -> SplitResult {
    var s = ProtoListSplitter(maxItemSize: maxItemSize, fieldPaths: paths)
    var r = SplitResult()
    var start = 0
    for c in cuts + [body.count] where c >= start {
        r.segments += try s.feed(Array(body[start..<c]))
        start = c
    }
    r.info = try s.finish()
    return r
}

func splitWatch(_ body: [UInt8], cuts: [Int] = [], paths: ProtoFieldPaths = .none,
                maxEventSize: Int = ProtoLimits.defaultMaxItemSize) throws -> [OwnedProtoWatchEvent] {
    var s = ProtoWatchSplitter(maxEventSize: maxEventSize, fieldPaths: paths)
    var out: [OwnedProtoWatchEvent] = []
    var start = 0
    for c in cuts + [body.count] where c >= start {
        out += try s.feed(Array(body[start..<c]))
        start = c
    }
    try s.finish()
    return out
}

/// Merges adjacent prefix/suffix pieces so chunkings can be compared.
func normalized(_ segs: [OwnedProtoListSegment]) -> [OwnedProtoListSegment] {
    var out: [OwnedProtoListSegment] = []
    for s in segs {
        switch (out.last, s) {
        case (.prefix(let a)?, .prefix(let b)): out[out.count - 1] = .prefix(a + b)
        case (.suffix(let a)?, .suffix(let b)): out[out.count - 1] = .suffix(a + b)
        case (_, .prefix(let b)) where b.isEmpty, (_, .suffix(let b)) where b.isEmpty: break
        default: out.append(s)
        }
    }
    return out
}

/// Builders for test messages.
enum Msg {
    static func objectMeta(name: String = "", namespace: String = "", uid: String = "", rv: String = "",
                           generation: Int64 = 0, labels: [(String, String)] = [], deleted: Bool = false) -> [UInt8] {
        var w = ProtoWriter()
        w.field(1, string: name)
        w.field(2, string: "")
        w.field(3, string: namespace)
        w.field(4, string: "")
        w.field(5, string: uid)
        w.field(6, string: rv)
        w.field(7, int64: generation)
        w.message(8) { $0.field(1, int64: 1_700_000_000) }
        if deleted { w.message(9) { $0.field(1, int64: 1_700_000_100) } }
        for (k, v) in labels { w.message(11) { $0.field(1, string: k); $0.field(2, string: v) } }
        return w.bytes
    }

    static func pod(_ md: [UInt8], nodeName: String = "n1", phase: String = "Pending") -> [UInt8] {
        var w = ProtoWriter()
        w.field(1, bytes: md)
        w.message(2) { s in
            s.field(3, string: "Always")
            s.field(10, string: nodeName)
            s.field(11, bool: false)
        }
        w.message(3) { $0.field(1, string: phase) }
        return w.bytes
    }

    static func podList(_ items: [[UInt8]], rv: String = "100", cont: String = "", remaining: Int64? = nil) -> [UInt8] {
        ProtoListWriter.encode(typeMeta: ProtoTypeMeta(apiVersion: "v1", kind: "PodList"),
                               listMeta: ProtoListMeta(resourceVersion: rv, continueToken: cont, remainingItemCount: remaining),
                               items: items)
    }

    static func samplePods(_ n: Int) -> [[UInt8]] {
        (0..<n).map { i in
            pod(objectMeta(name: "pod-\(i)", namespace: "ns", uid: "uid-\(i)", rv: "\(10 + i)",
                           generation: Int64(i), labels: [("app", "a\(i)"), ("tier", "t")], deleted: i == 1),
                nodeName: "node-\(i % 2)", phase: i % 2 == 0 ? "Running" : "Pending")
        }
    }
}

extension Array where Element == UInt8 {
    var hex: String { map { String(format: "%02x", $0) }.joined(separator: " ") }
}
