/// A small append-only protobuf encoder, enough for the envelopes, list headers and watch
/// frames Outpost writes (and for building test messages). Fields are written in the order
/// called; callers follow field-number order, as Go's generated marshallers do, so our bytes
/// match the apiserver's.
public struct ProtoWriter: Sendable {
    public var bytes: [UInt8]

    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Bytes needed to encode `v` as a varint.
    @inline(__always)
    public static func varintSize(_ v: UInt64) -> Int {
        // 1 + floor(log2(v) / 7), 1 for zero.
        (63 - (v | 1).leadingZeroBitCount) / 7 + 1
    }

    /// Size of a length-delimited field with a payload of `length` bytes.
    @inline(__always)
    public static func fieldSize(field: Int, length: Int) -> Int {
        varintSize(UInt64(field << 3)) + varintSize(UInt64(length)) + length
    }

    public mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public mutating func tag(_ field: Int, _ wireType: ProtoWireType) {
        varint(UInt64(field) << 3 | UInt64(wireType.rawValue))
    }

    /// A length-delimited field (string, bytes or an already-encoded message).
    public mutating func field(_ field: Int, bytes payload: UnsafeRawBufferPointer) {
        tag(field, .lengthDelimited)
        varint(UInt64(payload.count))
        bytes.append(contentsOf: payload)
    }

    public mutating func field(_ field: Int, bytes payload: [UInt8]) {
        payload.withUnsafeBytes { self.field(field, bytes: $0) }
    }

    public mutating func field(_ field: Int, string: String) {
        var s = string
        s.withUTF8 { self.field(field, bytes: UnsafeRawBufferPointer($0)) }
    }

    public mutating func field(_ field: Int, varint v: UInt64) {
        tag(field, .varint)
        varint(v)
    }

    public mutating func field(_ field: Int, int64 v: Int64) {
        self.field(field, varint: UInt64(bitPattern: v))
    }

    public mutating func field(_ field: Int, bool v: Bool) {
        self.field(field, varint: v ? 1 : 0)
    }

    /// A sub-message field, built by `body` in a temporary writer.
    public mutating func message(_ field: Int, _ body: (inout ProtoWriter) -> Void) {
        var inner = ProtoWriter()
        body(&inner)
        self.field(field, bytes: inner.bytes)
    }

    /// Only the tag and length of a length-delimited field, for payloads streamed afterwards.
    public mutating func header(_ field: Int, length: Int) {
        tag(field, .lengthDelimited)
        varint(UInt64(length))
    }

    public mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }
    public mutating func raw(_ b: UnsafeRawBufferPointer) { bytes.append(contentsOf: b) }
}
