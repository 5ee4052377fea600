import Testing
@testable import KubeProto

private func read<T>(_ bytes: [UInt8], _ body: (inout ProtoReader) throws(ProtoError) -> T) throws(ProtoError) -> T {
    let r: Result<T, ProtoError> = bytes.withUnsafeBytes { b in
        var reader = ProtoReader(b)
        return Result { () throws(ProtoError) -> T in try body(&reader) }
    }
    return try r.get()
}

func kind(_ body: () throws -> Void) -> ProtoError.Kind? {
    do { try body(); return nil } catch let e as ProtoError { return e.kind } catch { return nil }
}

@Suite struct WireTests {
    @Test func varintRoundTrip() throws {
        let values: [UInt64] = [0, 1, 127, 128, 255, 300, 16383, 16384, 1 << 31, UInt64(UInt32.max), 1 << 56, UInt64.max - 1, UInt64.max]
        for v in values {
            var w = ProtoWriter()
            w.varint(v)
            #expect(w.bytes.count == ProtoWriter.varintSize(v))
            #expect(try read(w.bytes) { r throws(ProtoError) in try r.readVarint() } == v)
        }
        var w = ProtoWriter()
        w.varint(UInt64(bitPattern: -1))
        #expect(w.bytes.count == 10)
        #expect(try read(w.bytes) { r throws(ProtoError) in try r.readInt64() } == -1)
    }

    @Test func varintErrors() throws {
        // 11 bytes of continuation.
        #expect(kind { _ = try read([UInt8](repeating: 0xFF, count: 11)) { r throws(ProtoError) in try r.readVarint() } } == .overlongVarint)
        // 10th byte > 1 overflows 64 bits.
        #expect(kind { _ = try read([UInt8](repeating: 0xFF, count: 9) + [0x02]) { r throws(ProtoError) in try r.readVarint() } } == .overlongVarint)
        #expect(kind { _ = try read([0x80, 0x80]) { r throws(ProtoError) in try r.readVarint() } } == .truncated)
        #expect(kind { _ = try read([]) { r throws(ProtoError) in try r.readVarint() } } == .truncated)
        // Non-minimal but within 10 bytes is accepted, as by Go.
        #expect(try read([0x81, 0x80, 0x00]) { r throws(ProtoError) in try r.readVarint() } == 1)
    }

    @Test func tags() throws {
        var w = ProtoWriter()
        w.tag(2, .lengthDelimited)
        #expect(w.bytes == [0x12])
        w = ProtoWriter()
        w.tag(15, .lengthDelimited)
        #expect(w.bytes == [0x7A])
        w = ProtoWriter()
        w.tag(ProtoLimits.maxFieldNumber, .fixed32)
        let t = try read(w.bytes) { r throws(ProtoError) in try r.readTag() }
        #expect(t == ProtoTag(field: ProtoLimits.maxFieldNumber, wireType: .fixed32))
        #expect(kind { _ = try read([0x06]) { r throws(ProtoError) in try r.readTag() } } == .badWireType(6))
        #expect(kind { _ = try read([0x0F]) { r throws(ProtoError) in try r.readTag() } } == .badWireType(7))
        #expect(kind { _ = try read([0x02]) { r throws(ProtoError) in try r.readTag() } } == .badFieldNumber)
        // Field 2^29 does not exist.
        var big = ProtoWriter()
        big.varint(UInt64(1 << 29) << 3)
        #expect(kind { _ = try read(big.bytes) { r throws(ProtoError) in try r.readTag() } } == .badFieldNumber)
    }

    @Test func lengthDelimited() throws {
        #expect(try read([0x03, 0x61, 0x62, 0x63]) { r throws(ProtoError) in try r.readString() } == "abc")
        #expect(kind { _ = try read([0x04, 0x61]) { r throws(ProtoError) in try r.readLengthDelimited() } } == .truncated)
        #expect(kind { _ = try read([0xFF, 0xFF, 0xFF, 0xFF, 0x0F]) { r throws(ProtoError) in try r.readLengthDelimited() } } == .lengthTooLarge)
        // Invalid UTF-8 is repaired, not fatal.
        #expect(try read([0x01, 0xFF]) { r throws(ProtoError) in try r.readString() } == "\u{FFFD}")
    }

    @Test func subRangeReaderUsesOuterOffsets() throws {
        // [junk junk] then a message {1: "abc", 2: packed [1, 300]} at offset 2.
        var inner = ProtoWriter()
        inner.field(1, string: "abc")
        var packed = ProtoWriter()
        packed.varint(1); packed.varint(300)
        inner.field(2, bytes: packed.bytes)
        let bytes: [UInt8] = [0xEE, 0xEE] + inner.bytes + [0xEE]
        let range = 2..<(2 + inner.bytes.count)
        let got: Result<([Range<Int>], [UInt64]), ProtoError> = bytes.withUnsafeBytes { b in
            Result { () throws(ProtoError) -> ([Range<Int>], [UInt64]) in
                var r = ProtoReader(b, range: range)
                #expect(r.absoluteOffset == 2 && r.remaining == inner.bytes.count)
                var ranges: [Range<Int>] = []
                var values: [UInt64] = []
                while !r.isAtEnd {
                    _ = try r.readTag()
                    let payload = try r.readLengthDelimitedRange()
                    ranges.append(payload)
                    if ranges.count == 2 {
                        // A packed repeated varint: a reader over the payload's range.
                        var p = ProtoReader(b, range: payload)
                        while !p.isAtEnd { values.append(try p.readVarint()) }
                    }
                }
                #expect(r.absoluteOffset == range.upperBound)
                return (ranges, values)
            }
        }
        let (ranges, values) = try got.get()
        #expect(ranges == [4..<7, 9..<12])
        #expect(Array(bytes[ranges[0]]) == Array("abc".utf8))
        #expect(values == [1, 300])
        // Errors are in outer offsets too: the length at 3 runs past the range's end.
        let cut: [UInt8] = [0xEE, 0x0A, 0x0A, 0x05, 0x61]
        let err: Result<Range<Int>, ProtoError> = cut.withUnsafeBytes { b in
            var sub = ProtoReader(b, range: 2..<5)
            return Result { () throws(ProtoError) -> Range<Int> in _ = try sub.readTag(); return try sub.readLengthDelimitedRange() }
        }
        #expect(throws: ProtoError(.truncated, offset: 3)) { try err.get() }
        #expect(kind { _ = try read([0xFF, 0xFF, 0xFF, 0xFF, 0x0F]) { r throws(ProtoError) in try r.readLengthDelimitedRange() } } == .lengthTooLarge)
    }

    @Test func skipEveryWireType() throws {
        var w = ProtoWriter()
        w.field(1, varint: 300)
        w.tag(2, .fixed64); w.raw([1, 2, 3, 4, 5, 6, 7, 8])
        w.field(3, string: "hello")
        w.tag(4, .fixed32); w.raw([9, 9, 9, 9])
        w.tag(5, .startGroup)
        w.field(1, varint: 1)
        w.tag(6, .startGroup); w.field(2, string: "x"); w.tag(6, .endGroup)
        w.tag(5, .endGroup)
        w.field(7, string: "end")
        let fields = try read(w.bytes) { r throws(ProtoError) -> [Int] in
            var seen: [Int] = []
            while !r.isAtEnd {
                let at = r.offset
                let t = try r.readTag()
                seen.append(t.field)
                if t.field == 7 { #expect(try r.readString() == "end") } else { try r.skip(t, tagOffset: at) }
            }
            return seen
        }
        #expect(fields == [1, 2, 3, 4, 5, 7])
        #expect(try read([0x0A, 0x02, 0x08, 0x01]) { r throws(ProtoError) in try r.validateToEnd() } == ())
    }

    @Test func fixedValues() throws {
        #expect(try read([0x01, 0x02, 0x03, 0x04]) { r throws(ProtoError) in try r.readFixed32() } == 0x0403_0201)
        #expect(try read([1, 0, 0, 0, 0, 0, 0, 0x80]) { r throws(ProtoError) in try r.readFixed64() } == 0x8000_0000_0000_0001)
        #expect(kind { _ = try read([1, 2, 3]) { r throws(ProtoError) in try r.readFixed32() } } == .truncated)
        #expect(kind { _ = try read([1, 2, 3, 4, 5, 6, 7]) { r throws(ProtoError) in try r.readFixed64() } } == .truncated)
    }

    @Test func groupErrors() throws {
        // End group without start.
        #expect(kind { try read([0x0C]) { r throws(ProtoError) in try r.validateToEnd() } } == .unmatchedEndGroup)
        // Mismatched end group.
        #expect(kind { try read([0x0B, 0x14]) { r throws(ProtoError) in try r.validateToEnd() } } == .unmatchedEndGroup)
        // Unterminated group.
        #expect(kind { try read([0x0B, 0x08, 0x01]) { r throws(ProtoError) in try r.validateToEnd() } } == .truncated)
        // Deep nesting is refused, not a stack overflow.
        let deep = [UInt8](repeating: 0x0B, count: 100_000)
        #expect(kind { try read(deep) { r throws(ProtoError) in try r.validateToEnd() } } == .tooDeep)
        var ok = [UInt8](repeating: 0x0B, count: ProtoLimits.maxDepth)
        ok += [UInt8](repeating: 0x0C, count: ProtoLimits.maxDepth)
        #expect(kind { try read(ok) { r throws(ProtoError) in try r.validateToEnd() } } == nil)
    }

    @Test func wrongWireTypeIsReported() {
        let e = kind {
            try read([0x08, 0x01]) { r throws(ProtoError) in
                let t = try r.readTag()
                try r.expect(t, .lengthDelimited, tagOffset: 0)
            }
        }
        #expect(e == .wrongWireType(field: 1, wireType: 0))
    }

    @Test func writerSizes() {
        for len in [0, 1, 127, 128, 16383, 16384, 2_000_000] {
            var w = ProtoWriter()
            w.header(2, length: len)
            #expect(w.bytes.count + len == ProtoWriter.fieldSize(field: 2, length: len))
        }
        var w = ProtoWriter()
        w.message(1) { $0.field(1, string: "a"); $0.field(2, bool: true) }
        #expect(w.bytes == [0x0A, 0x05, 0x0A, 0x01, 0x61, 0x10, 0x01])
    }
}
