import Testing
import KubeJSON
@testable import KubeProto

/// Invalid UTF-8 in protobuf strings reads as the apiserver's JSON shows it: one U+FFFD per byte
/// that does not start a valid sequence (Go's encoding/json), not Swift's repair (one U+FFFD per
/// maximal invalid subpart). Found by `Fuzz/` (FuzzProtoJSON): the cache indexed a protobuf
/// object under other metadata than `KubeProtoJSON` converted it to.
@Suite struct InvalidUTF8Tests {
    /// `61 9B F3 BC D8 62`: Go reads a, U+FFFD ×3 (9B, F3, BC), U+FFFD (D8), b. Swift's
    /// `String(decoding:)` makes `F3 BC` one U+FFFD.
    static let bytes: [UInt8] = [0x61, 0x9B, 0xF3, 0xBC, 0xD8, 0x62]
    static let goString = "a\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}b"

    @Test func goDecoding() {
        #expect(String(decoding: Self.bytes, as: UTF8.self) != Self.goString)   // why GoUTF8 exists
        let cases: [([UInt8], String)] = [
            (Self.bytes, Self.goString),
            ([0x68, 0xC3, 0xA9], "hé"),                                   // valid: unchanged
            ([0xC0, 0xAF], "\u{FFFD}\u{FFFD}"),                            // overlong
            ([0xED, 0xA0, 0x80], "\u{FFFD}\u{FFFD}\u{FFFD}"),              // surrogate
            ([0xF4, 0x90, 0x80, 0x80], "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"), // above U+10FFFF
            ([0xF0, 0x9F, 0x98, 0x80, 0xE2, 0x82], "😀\u{FFFD}\u{FFFD}"),  // truncated at the end
        ]
        for (input, expected) in cases {
            #expect(input.withUnsafeBytes { GoUTF8.string($0) } == expected, "\(input)")
        }
    }

    @Test func metadataAndFieldPaths() throws {
        let md = Msg.objectMeta(name: String(decoding: [0x6E], as: UTF8.self), namespace: "ns", uid: "u", rv: "1")
        // Append a second name (last wins, as in Go) and a label value, both with invalid bytes.
        var w = ProtoWriter()
        w.raw(md)
        w.field(1, bytes: Self.bytes)
        w.message(11) { $0.field(1, string: "k"); $0.field(2, bytes: Self.bytes) }
        var pod = ProtoWriter()
        pod.field(1, bytes: w.bytes)
        pod.message(2) { $0.field(10, bytes: Self.bytes) }   // spec.nodeName
        let paths = ProtoFieldPaths([(slot: 0, path: [2, 10], kind: .string)])
        let meta = try ProtoObjectMeta.parse(pod.bytes, fields: paths)
        #expect(meta.name == Self.goString)
        #expect(meta.label("k") == Self.goString)
        #expect(meta.fields == [Self.goString])
    }
}
