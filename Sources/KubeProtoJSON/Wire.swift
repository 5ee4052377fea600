// A small bounds-checked protobuf wire reader. Every read checks the remaining length and
// throws instead of trapping, because the bytes come from the network or the cache and a
// malformed message must become a 406/500, never a crash. (A `KubeProto` module is growing
// its own reader in parallel; this file is self-contained so the two can be merged later.)

/// Protobuf wire types (the low 3 bits of a tag).
enum WireType: UInt8 {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case startGroup = 3
    case endGroup = 4
    case fixed32 = 5
}

/// A cursor over one protobuf message (or a sub-range of one). Offsets are absolute in `buffer`
/// so errors can point at the byte that was wrong.
struct WireReader {
    let buffer: UnsafeRawBufferPointer
    private(set) var position: Int
    let end: Int

    init(_ buffer: UnsafeRawBufferPointer, range: Range<Int>? = nil) {
        self.buffer = buffer
        let r = range ?? 0..<buffer.count
        position = r.lowerBound
        end = r.upperBound
    }

    var isAtEnd: Bool { position >= end }

    /// A base-128 varint of at most 10 bytes (gogo's limit: a longer one is "integer overflow").
    mutating func readVarint() throws(ProtoJSONError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = position
        while true {
            guard position < end else { throw ProtoJSONError(.truncated, offset: start) }
            let b = buffer[position]
            position += 1
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
            if shift >= 70 { throw ProtoJSONError(.malformedVarint, offset: start) }
        }
    }

    /// A field tag: (field number, wire type). Field number 0 and wire types 6/7 are invalid.
    mutating func readTag() throws(ProtoJSONError) -> (number: Int, wireType: WireType) {
        let start = position
        let v = try readVarint()
        guard let wt = WireType(rawValue: UInt8(v & 7)), v >> 3 != 0, v >> 3 <= 0x1FFF_FFFF else {
            throw ProtoJSONError(.invalidTag, offset: start)
        }
        return (Int(v >> 3), wt)
    }

    /// The payload range of a length-delimited field.
    mutating func readLengthDelimited() throws(ProtoJSONError) -> Range<Int> {
        let start = position
        let n = try readVarint()
        guard n <= UInt64(end - position) else { throw ProtoJSONError(.truncated, offset: start) }
        let r = position..<(position + Int(n))
        position = r.upperBound
        return r
    }

    mutating func skipFixed(_ n: Int) throws(ProtoJSONError) {
        guard end - position >= n else { throw ProtoJSONError(.truncated, offset: position) }
        position += n
    }

    /// Skips a field's value. Groups are deprecated and never produced by Kubernetes; they are
    /// rejected rather than skipped so a fuzzed input cannot make us recurse.
    mutating func skip(_ wireType: WireType, field: Int) throws(ProtoJSONError) {
        switch wireType {
        case .varint: _ = try readVarint()
        case .fixed64: try skipFixed(8)
        case .fixed32: try skipFixed(4)
        case .lengthDelimited: _ = try readLengthDelimited()
        case .startGroup, .endGroup: throw ProtoJSONError(.unsupportedWireType(field: field, wireType: wireType.rawValue), offset: position)
        }
    }
}
