/// The protobuf wire types. 6 and 7 are unassigned and rejected.
public enum ProtoWireType: UInt8, Sendable, Hashable {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case startGroup = 3
    case endGroup = 4
    case fixed32 = 5
}

/// A decoded field key.
public struct ProtoTag: Sendable, Hashable, CustomStringConvertible {
    public var field: Int
    public var wireType: ProtoWireType

    public init(field: Int, wireType: ProtoWireType) {
        self.field = field
        self.wireType = wireType
    }

    /// Decodes a tag varint value, validating the wire type and field number the way Go's
    /// `protowire.ConsumeTag` does.
    @inline(__always)
    public static func decode(_ key: UInt64, offset: Int) throws(ProtoError) -> ProtoTag {
        let wt = UInt8(truncatingIfNeeded: key & 7)
        guard let wireType = ProtoWireType(rawValue: wt) else { throw ProtoError(.badWireType(wt), offset: offset) }
        let field = key >> 3
        guard field >= 1, field <= UInt64(ProtoLimits.maxFieldNumber) else { throw ProtoError(.badFieldNumber, offset: offset) }
        return ProtoTag(field: Int(field), wireType: wireType)
    }

    public var description: String { "\(field):\(wireType)" }
}

/// Bounds-checked reader over one complete message held in memory.
///
/// Every read checks the remaining bytes first, so a hostile length can never make it read
/// outside `buffer`. Offsets in errors are `base + position`, so a reader over an item in
/// the middle of a stream reports stream offsets.
public struct ProtoReader {
    public let buffer: UnsafeRawBufferPointer
    /// Position of the next byte to read, relative to `buffer`.
    public private(set) var offset: Int
    /// Absolute stream offset of `buffer[0]`, for errors.
    public let base: Int

    public init(_ buffer: UnsafeRawBufferPointer, base: Int = 0) {
        self.buffer = buffer
        self.offset = 0
        self.base = base
    }

    /// A reader over `buffer[range]` whose offsets (in errors, `absoluteOffset` and
    /// `readLengthDelimitedRange`) are indexes into `buffer`: for walking a sub-message found
    /// by range without losing track of where it is. `range` must lie within `buffer`.
    public init(_ buffer: UnsafeRawBufferPointer, range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= buffer.count, "ProtoReader: range outside buffer")
        self.init(UnsafeRawBufferPointer(rebasing: buffer[range]), base: range.lowerBound)
    }

    public var isAtEnd: Bool { offset >= buffer.count }
    public var remaining: Int { buffer.count - offset }
    /// `base + offset`: where the next byte is, in the coordinates errors use.
    public var absoluteOffset: Int { base + offset }

    @inline(__always) func error(_ kind: ProtoError.Kind, at pos: Int? = nil) -> ProtoError {
        ProtoError(kind, offset: base + (pos ?? offset))
    }

    /// Reads a base-128 varint of up to 10 bytes. The 10th byte may only carry the top bit
    /// of a 64-bit value, as in Go's `protowire.ConsumeVarint`.
    @inline(__always)
    public mutating func readVarint() throws(ProtoError) -> UInt64 {
        let start = offset
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var i = offset
        let n = buffer.count
        while true {
            guard i < n else { throw error(.truncated, at: start) }
            let b = buffer[i]
            i += 1
            if shift == 63 {
                // 10th byte: only 0 or 1 fits.
                guard b <= 1 else { throw error(.overlongVarint, at: start) }
                result |= UInt64(b) << 63
                break
            }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { break }
            shift += 7
        }
        offset = i
        return result
    }

    public mutating func readTag() throws(ProtoError) -> ProtoTag {
        let start = offset
        let key = try readVarint()
        return try ProtoTag.decode(key, offset: base + start)
    }

    /// Reads a length prefix and returns the payload, which must fit in the buffer.
    public mutating func readLengthDelimited() throws(ProtoError) -> UnsafeRawBufferPointer {
        let start = offset
        let len = try readVarint()
        guard len <= UInt64(remaining) else {
            throw error(len > UInt64(Int32.max) ? .lengthTooLarge : .truncated, at: start)
        }
        let r = offset..<(offset + Int(len))
        offset = r.upperBound
        return UnsafeRawBufferPointer(rebasing: buffer[r])
    }

    /// `readLengthDelimited`, returning where the payload is instead of the bytes: a range in
    /// absolute offsets (`base`-relative, like errors), so with `init(_:range:)` it indexes the
    /// outer buffer and can be kept, compared or sliced after the reader is gone.
    @inline(__always)
    public mutating func readLengthDelimitedRange() throws(ProtoError) -> Range<Int> {
        let start = offset
        let len = try readVarint()
        guard len <= UInt64(remaining) else {
            throw error(len > UInt64(Int32.max) ? .lengthTooLarge : .truncated, at: start)
        }
        let lower = offset
        offset += Int(len)
        return (base + lower)..<(base + offset)
    }

    public mutating func readFixed32() throws(ProtoError) -> UInt32 {
        guard remaining >= 4 else { throw error(.truncated) }
        var v: UInt32 = 0
        for k in 0..<4 { v |= UInt32(buffer[offset + k]) << (8 * UInt32(k)) }
        offset += 4
        return v
    }

    public mutating func readFixed64() throws(ProtoError) -> UInt64 {
        guard remaining >= 8 else { throw error(.truncated) }
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(buffer[offset + k]) << (8 * UInt64(k)) }
        offset += 8
        return v
    }

    // MARK: typed reads for schema fields

    /// Throws `.wrongWireType` unless `tag` has `wireType`. `tagOffset` is where the tag began.
    @inline(__always)
    public func expect(_ tag: ProtoTag, _ wireType: ProtoWireType, tagOffset: Int) throws(ProtoError) {
        guard tag.wireType == wireType else {
            throw ProtoError(.wrongWireType(field: tag.field, wireType: tag.wireType.rawValue), offset: base + tagOffset)
        }
    }

    /// A `string` field's value. Invalid UTF-8 is repaired as the apiserver's JSON shows it
    /// (`GoUTF8`): Go's proto2 `string` fields are not validated.
    public mutating func readString() throws(ProtoError) -> String {
        GoUTF8.string(try readLengthDelimited())
    }

    /// The value of string field `tag` (read at `tagOffset`), which must be length-delimited.
    public mutating func readString(_ tag: ProtoTag, tagOffset: Int) throws(ProtoError) -> String {
        try expect(tag, .lengthDelimited, tagOffset: tagOffset)
        return try readString()
    }

    /// The value of varint field `tag` (read at `tagOffset`) as an `int64`.
    public mutating func readInt64(_ tag: ProtoTag, tagOffset: Int) throws(ProtoError) -> Int64 {
        try expect(tag, .varint, tagOffset: tagOffset)
        return try readInt64()
    }

    /// An `int64`/`int32` field's value (int32 negatives are sign-extended on the wire).
    public mutating func readInt64() throws(ProtoError) -> Int64 {
        Int64(bitPattern: try readVarint())
    }

    public mutating func readBool() throws(ProtoError) -> Bool {
        try readVarint() != 0
    }

    /// Skips the value of a field whose tag was just read. Groups are skipped to their
    /// matching end-group tag (field numbers must match), at most `ProtoLimits.maxDepth` deep.
    /// An end-group tag here has no start: `.unmatchedEndGroup`.
    public mutating func skip(_ tag: ProtoTag, tagOffset: Int, depth: Int = 0) throws(ProtoError) {
        switch tag.wireType {
        case .varint: _ = try readVarint()
        case .fixed64: _ = try readFixed64()
        case .fixed32: _ = try readFixed32()
        case .lengthDelimited: _ = try readLengthDelimited()
        case .endGroup: throw error(.unmatchedEndGroup, at: tagOffset)
        case .startGroup:
            guard depth < ProtoLimits.maxDepth else { throw error(.tooDeep, at: tagOffset) }
            while true {
                let at = offset
                guard !isAtEnd else { throw error(.truncated) }
                let t = try readTag()
                if t.wireType == .endGroup {
                    guard t.field == tag.field else { throw error(.unmatchedEndGroup, at: at) }
                    return
                }
                try skip(t, tagOffset: at, depth: depth + 1)
            }
        }
    }

    /// Walks every field of the message to check its framing (tags, varints, lengths,
    /// groups). Payloads of length-delimited fields are not descended into: without the
    /// schema a string and a sub-message look alike.
    public mutating func validateToEnd() throws(ProtoError) {
        while !isAtEnd {
            let at = offset
            let t = try readTag()
            try skip(t, tagOffset: at)
        }
    }
}

/// Protobuf `string` fields the way the apiserver's Go code reads them. Go does not validate
/// them; its encoding/json then writes every byte that does not start a valid UTF-8 sequence
/// as U+FFFD. Swift's `String(decoding:)` repairs differently (one U+FFFD per maximal invalid
/// subpart: `F3 BC` followed by a non-continuation byte is one U+FFFD in Swift, two in Go), so
/// metadata and field values decoded with it would differ from what the apiserver's JSON — and
/// `KubeProtoJSON`'s conversion — shows for the same object.
public enum GoUTF8 {
    /// The length of the valid UTF-8 sequence at `s[i]` by Go's `utf8.DecodeRune` rules
    /// (overlong forms, surrogates and code points above U+10FFFF are invalid); 0 if none.
    /// `s[i]` must be ≥ 0x80.
    @inline(__always)
    public static func width(_ s: UnsafeRawBufferPointer, _ i: Int) -> Int {
        let c = s[i]
        let n = s.count - i
        @inline(__always) func cont(_ j: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
            j < n && s[i + j] >= lo && s[i + j] <= hi
        }
        switch c {
        case 0xC2...0xDF: return cont(1) ? 2 : 0
        case 0xE0: return cont(1, 0xA0) && cont(2) ? 3 : 0
        case 0xED: return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0
        case 0xE1...0xEF: return cont(1) && cont(2) ? 3 : 0
        case 0xF0: return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0
        case 0xF1...0xF3: return cont(1) && cont(2) && cont(3) ? 4 : 0
        case 0xF4: return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0
        default: return 0
        }
    }

    /// `bytes` as a String, each byte that does not start a valid sequence replaced by U+FFFD.
    public static func string(_ bytes: UnsafeRawBufferPointer) -> String {
        if let valid = String(validating: bytes, as: UTF8.self) { return valid }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 8)
        var i = 0
        while i < bytes.count {
            if bytes[i] < 0x80 {
                out.append(bytes[i])
                i += 1
                continue
            }
            let w = width(bytes, i)
            if w == 0 {
                out.append(contentsOf: [0xEF, 0xBF, 0xBD])
                i += 1
            } else {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i..<(i + w)]))
                i += w
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
