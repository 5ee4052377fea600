import Foundation
import Testing
import KubeProto
@testable import KubeProtoJSON

/// A tiny protobuf encoder for hand-built messages.
struct PB {
    var b: [UInt8] = []
    mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 { b.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        b.append(UInt8(v))
    }
    mutating func tag(_ n: Int, _ wt: Int) { varint(UInt64(n << 3 | wt)) }
    mutating func int(_ n: Int, _ v: Int64) { tag(n, 0); varint(UInt64(bitPattern: v)) }
    mutating func bytes(_ n: Int, _ v: [UInt8]) { tag(n, 2); varint(UInt64(v.count)); b.append(contentsOf: v) }
    mutating func str(_ n: Int, _ s: String) { bytes(n, Array(s.utf8)) }
    mutating func msg(_ n: Int, _ build: (inout PB) -> Void) { var m = PB(); build(&m); bytes(n, m.b) }
    mutating func entry(_ n: Int, _ k: String, _ v: String) { msg(n) { $0.str(1, k); $0.str(2, v) } }
}

func pb(_ build: (inout PB) -> Void) -> [UInt8] { var m = PB(); build(&m); return m.b }

func json(_ kind: String, _ apiVersion: String = "v1", _ build: (inout PB) -> Void) throws -> String {
    String(decoding: try ProtoJSON.convert(message: pb(build), kind: kind, apiVersion: apiVersion), as: UTF8.self)
}

func escaped(_ bytes: [UInt8]) -> String {
    var out: [UInt8] = []
    bytes.withUnsafeBytes { GoJSON.appendString($0, to: &out) }
    return String(decoding: out, as: UTF8.self)
}

@Suite struct GoRulesTests {
    @Test func emptyPodHasZeroValuesOfItsStructs() throws {
        // Structs are never omitted (omitempty has no effect on them); a nil slice without
        // omitempty is null; the zero Time is null.
        #expect(try json("Pod") { _ in } ==
                #"{"kind":"Pod","apiVersion":"v1","metadata":{"creationTimestamp":null},"spec":{"containers":null},"status":{}}"#)
    }

    @Test func pointerToZeroIsEmittedValueZeroIsOmitted() throws {
        let s = try json("Pod") { p in
            p.msg(2) { spec in
                spec.msg(2) { c in
                    c.str(1, "main")
                    c.int(16, 0)                               // stdin: false (value, omitempty) → omitted
                    c.msg(15) { sc in sc.int(4, 0); sc.int(2, 0) } // runAsUser: 0, privileged: false (pointers)
                }
                spec.int(4, 0)                                 // terminationGracePeriodSeconds *int64 = 0
                spec.int(11, 0)                                // hostNetwork false → omitted
            }
        }
        #expect(s.contains(#""containers":[{"name":"main","resources":{},"securityContext":{"privileged":false,"runAsUser":0}}]"#), "\(s)")
        #expect(s.contains(#""terminationGracePeriodSeconds":0"#))
        #expect(!s.contains("hostNetwork") && !s.contains("stdin"))
    }

    @Test func nonOmitemptyScalarsAreWrittenAsZero() throws {
        // ServicePort: `port` (int32, no omitempty) → 0; targetPort (IntOrString struct) → 0.
        let s = try json("Service") { p in p.msg(2) { spec in spec.msg(1) { _ in } } }
        #expect(s.contains(#""ports":[{"port":0,"targetPort":0}]"#), "\(s)")
    }

    @Test func mapKeysAreSortedAndLastDuplicateWins() throws {
        let s = try json("ConfigMap") { p in
            p.msg(1) { m in
                m.entry(11, "b", "1"); m.entry(11, "a", "2"); m.entry(11, "b", "3"); m.entry(11, "B", "4")
            }
        }
        #expect(s.contains(#""labels":{"B":"4","a":"2","b":"3"}"#), "\(s)")
    }

    @Test func bytesAreBase64AndMissingMapValuesAreEmpty() throws {
        let s = try json("Secret") { p in
            p.msg(2) { $0.str(1, "one"); $0.bytes(2, [0xFF]) }
            p.msg(2) { $0.str(1, "two"); $0.bytes(2, [0xFF, 0xFE]) }
            p.msg(2) { $0.str(1, "three"); $0.bytes(2, [0xFF, 0xFE, 0xFD]) }
            p.msg(2) { $0.str(1, "zero") }
        }
        #expect(s.contains(#""data":{"one":"/w==","three":"//79","two":"//4=","zero":""}"#), "\(s)")
    }

    @Test func packedAndUnpackedRepeatedVarints() throws {
        let s = try json("Pod") { p in
            p.msg(2) { spec in
                spec.msg(14) { sc in
                    sc.int(4, 1)
                    var packed = PB(); packed.varint(2); packed.varint(UInt64(bitPattern: -3))
                    sc.bytes(4, packed.b)
                }
            }
        }
        #expect(s.contains(#""securityContext":{"supplementalGroups":[1,2,-3]}"#), "\(s)")
    }

    @Test func int32IsTruncatedLikeGo() throws {
        // A negative int32 arrives sign-extended to 10 bytes.
        let s = try json("Service") { p in p.msg(2) { spec in spec.msg(1) { $0.int(3, -5) } } }
        #expect(s.contains(#""port":-5"#))
    }

    @Test func unknownFieldsAreSkipped() throws {
        let s = try json("Namespace") { p in
            p.int(99, 7); p.str(98, "x"); p.tag(97, 1); p.b += [1, 2, 3, 4, 5, 6, 7, 8]; p.tag(96, 5); p.b += [1, 2, 3, 4]
            p.msg(1) { $0.str(1, "ns") }
        }
        #expect(s == #"{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"ns","creationTimestamp":null},"spec":{},"status":{}}"#)
    }

    @Test func repeatedSingularMessageIsMerged() throws {
        let s = try json("Namespace") { p in
            p.msg(1) { $0.str(1, "ns"); $0.entry(11, "a", "1") }
            p.msg(1) { $0.str(3, "other"); $0.entry(11, "b", "2") }
        }
        #expect(s.contains(#""metadata":{"name":"ns","namespace":"other","creationTimestamp":null,"labels":{"a":"1","b":"2"}}"#), "\(s)")
    }

    @Test func inlineStructsJoinTheirParent() throws {
        // Volume{Name, VolumeSource `json:",inline"`}; Probe{Handler inline, ...}.
        let s = try json("Pod") { p in
            p.msg(2) { spec in
                spec.msg(1) { v in v.str(1, "data"); v.msg(2) { vs in vs.msg(2) { ed in ed.str(1, "Memory") } } }
                spec.msg(1) { v in v.str(1, "bare") }
            }
        }
        #expect(s.contains(#""volumes":[{"name":"data","emptyDir":{"medium":"Memory"}},{"name":"bare"}]"#), "\(s)")
    }

    @Test func withoutTypeMeta() throws {
        let out = try ProtoJSON.convert(message: [], kind: "Secret", apiVersion: "v1", includeTypeMeta: false)
        #expect(String(decoding: out, as: UTF8.self) == #"{"metadata":{"creationTimestamp":null}}"#)
    }
}

@Suite struct SpecialTypeTests {
    func time(_ seconds: Int64, _ nanos: Int64 = 0, micro: Bool = false) -> String {
        var out: [UInt8] = []
        GoJSON.appendTime(seconds: seconds, nanos: nanos, micro: micro, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func timeFormats() {
        #expect(time(0) == #""1970-01-01T00:00:00Z""#)
        #expect(time(1_614_834_367, 999_999_999) == #""2021-03-04T05:06:07Z""#)      // truncated, not rounded
        #expect(time(1_614_834_367, 123_456_789, micro: true) == #""2021-03-04T05:06:07.123456Z""#)
        #expect(time(1_614_834_367, 0, micro: true) == #""2021-03-04T05:06:07.000000Z""#)
        #expect(time(-1) == #""1969-12-31T23:59:59Z""#)
        #expect(time(951_782_400) == #""2000-02-29T00:00:00Z""#)
        #expect(time(253_402_300_799) == #""9999-12-31T23:59:59Z""#)
        #expect(time(253_402_300_800) == #""10000-01-01T00:00:00Z""#)
        #expect(time(GoJSON.zeroTimeUnixSeconds) == "null")
        #expect(time(GoJSON.zeroTimeUnixSeconds + 1, -1_000_000_000) == "null")   // normalized to the zero time
        #expect(time(GoJSON.zeroTimeUnixSeconds, 1) == #""0001-01-01T00:00:00Z""#)
        #expect(time(10, -1) == #""1970-01-01T00:00:09Z""#)
    }

    @Test func timeFieldsOnTheWire() throws {
        let s = try json("Pod") { p in
            p.msg(1) { m in
                m.msg(8) { $0.int(1, 1_614_834_367); $0.int(2, 5) }   // creationTimestamp
                m.msg(9) { _ in }                                       // deletionTimestamp present but empty → zero → null
            }
        }
        #expect(s.contains(#""metadata":{"creationTimestamp":"2021-03-04T05:06:07Z","deletionTimestamp":null}"#), "\(s)")
        let lease = try json("Lease", "coordination.k8s.io/v1") { p in
            p.msg(2) { $0.msg(3) { t in t.int(1, 0); t.int(2, 1000) }; $0.int(5, 0) }
        }
        #expect(lease.contains(#""spec":{"acquireTime":"1970-01-01T00:00:00.000001Z","leaseTransitions":0}"#), "\(lease)")
    }

    @Test func durations() {
        func d(_ v: Int64) -> String {
            var out: [UInt8] = []
            GoJSON.appendDuration(v, to: &out)
            return String(decoding: out, as: UTF8.self)
        }
        #expect(d(0) == #""0s""#)
        #expect(d(1) == #""1ns""#)
        #expect(d(1_100) == #""1.1µs""#)
        #expect(d(2_200_000) == #""2.2ms""#)
        #expect(d(300_000_000) == #""300ms""#)
        #expect(d(1_500_000_000) == #""1.5s""#)
        #expect(d(3_600_000_000_000) == #""1h0m0s""#)
        #expect(d(-5_400_000_000_000) == #""-1h30m0s""#)
        #expect(d(61_000_000_001) == #""1m1.000000001s""#)
        #expect(d(.max) == #""2562047h47m16.854775807s""#)
        #expect(d(.min) == #""-2562047h47m16.854775808s""#)
    }

    @Test func quantities() throws {
        let s = try json("Pod") { p in
            p.msg(2) { spec in
                spec.msg(2) { c in
                    c.str(1, "c")
                    c.msg(8) { r in
                        r.msg(1) { e in e.str(1, "cpu"); e.msg(2) { $0.str(1, "500m") } }
                        r.msg(1) { e in e.str(1, "memory") }   // no value → zero Quantity → "0"
                    }
                }
            }
        }
        #expect(s.contains(#""resources":{"limits":{"cpu":"500m","memory":"0"}}"#), "\(s)")
    }

    @Test func intOrString() throws {
        let s = try json("Service") { p in
            p.msg(2) { spec in
                spec.msg(1) { $0.int(3, 80); $0.msg(4) { i in i.int(1, 1); i.str(3, "http") } }
                spec.msg(1) { $0.int(3, 81); $0.msg(4) { i in i.int(1, 0); i.int(2, 8081) } }
            }
        }
        #expect(s.contains(#""ports":[{"port":80,"targetPort":"http"},{"port":81,"targetPort":8081}]"#), "\(s)")
        #expect(throws: ProtoJSONError(.invalidIntOrString(type: 2), offset: 6)) {
            _ = try ProtoJSON.convert(message: pb { p in p.msg(2) { $0.msg(1) { $0.msg(4) { $0.int(1, 2) } } } },
                                      kind: "Service", apiVersion: "v1")
        }.map { _ in () }
    }

    @Test func rawExtensionIsCompactedAndEscaped() throws {
        let cr = try json("ControllerRevision", "apps/v1") { p in
            p.msg(2) { $0.str(1, " {\"a\" : [1, 2.5e3, true, null],\n \"h\": \"<&>\u{2028}\"} ") }
            p.int(3, 2)
        }
        #expect(cr.hasSuffix(#""data":{"a":[1,2.5e3,true,null],"h":"\u003c\u0026\u003e\u2028"},"revision":2}"#), "\(cr)")
        let utf8 = try json("ControllerRevision", "apps/v1") { p in p.msg(2) { $0.bytes(1, [0x22, 0xFF, 0x22]) } }
        #expect(utf8.contains(#""data":"\ufffd""#), "\(utf8)")
        let absent = try json("ControllerRevision", "apps/v1") { p in p.msg(2) { _ in } }
        #expect(absent.hasSuffix(#""data":null,"revision":0}"#), "\(absent)")
        for bad in ["", "{", "[1,]", "01", "{\"a\":1} x", "nul", "\"\u{1}\""] {
            #expect(throws: ProtoJSONError.self) {
                _ = try ProtoJSON.convert(message: pb { p in p.msg(2) { $0.str(1, bad) } }, kind: "ControllerRevision", apiVersion: "apps/v1")
            }
        }
    }

    @Test func fieldsV1IsInline() throws {
        let s = try json("ConfigMap") { p in
            p.msg(1) { m in m.msg(17) { e in e.str(1, "kubectl"); e.str(6, "FieldsV1"); e.msg(7) { $0.str(1, #"{"f:data":{}}"#) } } }
        }
        #expect(s.contains(#""managedFields":[{"manager":"kubectl","fieldsType":"FieldsV1","fieldsV1":{"f:data":{}}}]"#), "\(s)")
    }
}

@Suite struct EscapingTests {
    @Test func goEscapes() {
        #expect(escaped(Array("a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}".utf8)) == #""a\"b\\c\n\r\t\b\f\u0001\u001f""#)
        #expect(escaped(Array("<a href='x'>&</a>".utf8)) == #""\u003ca href='x'\u003e\u0026\u003c/a\u003e""#)
        #expect(escaped(Array("\u{2028}x\u{2029}".utf8)) == #""\u2028x\u2029""#)
        #expect(escaped(Array("é😀\u{FFFD}/".utf8)) == "\"é😀\u{FFFD}/\"")
        #expect(escaped(Array("\u{7f}".utf8)) == "\"\u{7f}\"")
    }

    @Test func invalidUTF8BecomesOneReplacementPerBadByte() {
        #expect(escaped([0x61, 0xFF, 0x62]) == #""a\ufffdb""#)
        #expect(escaped([0xE2, 0x82, 0x61]) == #""\ufffd\ufffda""#)          // truncated 3-byte sequence: Go reports 2
        #expect(escaped([0xED, 0xA0, 0x80]) == #""\ufffd\ufffd\ufffd""#)    // surrogate
        #expect(escaped([0xC0, 0xAF]) == #""\ufffd\ufffd""#)                // overlong
        #expect(escaped([0xF4, 0x90, 0x80, 0x80]) == #""\ufffd\ufffd\ufffd\ufffd""#)  // > U+10FFFF
        #expect(escaped([0xE2, 0x80]) == #""\ufffd\ufffd""#)                // truncated at the end
    }

    @Test func mapKeysAndValuesAreEscaped() throws {
        let s = try json("ConfigMap") { p in p.entry(2, "<k>", "v&") }
        #expect(s.contains(#""data":{"\u003ck\u003e":"v\u0026"}"#))
    }
}

@Suite struct ErrorTests {
    @Test func unknownKind() {
        #expect(throws: ProtoJSONError(.unknownKind(apiVersion: "example.com/v1", kind: "Widget"), offset: 0)) {
            _ = try ProtoJSON.convert(message: [], kind: "Widget", apiVersion: "example.com/v1")
        }
        #expect(!ProtoJSON.isSupported(apiVersion: "v1", kind: "Deployment"))
        for (v, k) in [("v1", "Pod"), ("v1", "PodList"), ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"),
                       ("apps/v1", "DaemonSet"), ("apps/v1", "ReplicaSet"), ("coordination.k8s.io/v1", "Lease"),
                       ("discovery.k8s.io/v1beta1", "EndpointSlice"), ("events.k8s.io/v1", "Event"), ("v1", "Status")] {
            #expect(ProtoJSON.isSupported(apiVersion: v, kind: k), "\(v) \(k)")
        }
    }

    @Test func malformedWire() {
        func err(_ bytes: [UInt8]) -> ProtoJSONError.Kind? {
            do { _ = try ProtoJSON.convert(message: bytes, kind: "Pod", apiVersion: "v1"); return nil }
            catch { return error.kind }
        }
        #expect(err([0x0A, 0x05, 0x0A]) == .truncated)                       // length past the end
        #expect(err([0x0A]) == .truncated)                                   // tag without value
        #expect(err([0x80]) == .truncated)                                   // unfinished varint tag
        #expect(err([0x00, 0x00]) == .invalidTag)                            // field 0
        #expect(err([0x0F]) == .invalidTag)                                  // wire type 7
        #expect(err([0x08, 0x01]) == .unsupportedWireType(field: 1, wireType: 0))  // metadata as a varint
        #expect(err([0x98, 0x06] + Array(repeating: 0xFF, count: 10) + [0x01]) == .malformedVarint)  // field 99 varint of 11 bytes
        #expect(err([0x0B]) == .unsupportedWireType(field: 1, wireType: 3))  // group
        #expect(err([]) == nil)
    }

    @Test func errorLeavesOutputUntouched() {
        var out: [UInt8] = Array("prefix".utf8)
        #expect(throws: ProtoJSONError.self) {
            try ProtoJSON.append(message: [0x12, 0x02, 0x12, 0x05], kind: "Pod", apiVersion: "v1", to: &out)
        }
        #expect(out == Array("prefix".utf8))
    }

    @Test func envelopeErrors() {
        #expect(throws: ProtoJSONError(.notAnEnvelope, offset: 0)) { _ = try ProtoJSON.convert(envelope: Array("{}".utf8)) }
        #expect(throws: ProtoJSONError(.notAnEnvelope, offset: 0)) { _ = try ProtoJSON.convert(envelope: [0x6B, 0x38]) }
        #expect(throws: ProtoJSONError(.notAnEnvelope, offset: 4)) { _ = try ProtoJSON.convert(envelope: ProtoEnvelope.magic) }
        let gz = ProtoEnvelope.magic + pb { p in p.msg(1) { $0.str(1, "v1"); $0.str(2, "Pod") }; p.bytes(2, []); p.str(3, "gzip") }
        #expect(throws: ProtoJSONError(.unsupportedContentEncoding("gzip"), offset: 4)) { _ = try ProtoJSON.convert(envelope: gz) }
        // Wire errors inside the envelope keep their body offsets.
        #expect(throws: ProtoJSONError(.truncated, offset: 5)) { _ = try ProtoJSON.convert(envelope: ProtoEnvelope.magic + [0x12, 0x05]) }
    }
}
