// Strict, allocation-free JSON cursor over a complete (or possibly truncated) buffer.
// Truncation is reported as `.unexpectedEnd` so streaming callers can fall back to
// carrying the partial value into the next chunk.

@usableFromInline
enum ASCII {
    static let quote: UInt8 = 0x22        // "
    static let backslash: UInt8 = 0x5C    // \
    static let lbrace: UInt8 = 0x7B       // {
    static let rbrace: UInt8 = 0x7D       // }
    static let lbracket: UInt8 = 0x5B     // [
    static let rbracket: UInt8 = 0x5D     // ]
    static let colon: UInt8 = 0x3A        // :
    static let comma: UInt8 = 0x2C        // ,
    static let minus: UInt8 = 0x2D        // -
    static let plus: UInt8 = 0x2B         // +
    static let dot: UInt8 = 0x2E          // .
    static let zero: UInt8 = 0x30
    static let nine: UInt8 = 0x39
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let t: UInt8 = 0x74
    static let f: UInt8 = 0x66
    static let n: UInt8 = 0x6E
    static let u: UInt8 = 0x75

    @inline(__always) static func isWS(_ c: UInt8) -> Bool {
        c == space || c == lf || c == cr || c == tab
    }
    @inline(__always) static func isDigit(_ c: UInt8) -> Bool {
        c &- zero < 10
    }
    @inline(__always) static func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case 0x30...0x39: return UInt32(c - 0x30)
        case 0x41...0x46: return UInt32(c - 0x41 + 10)
        case 0x61...0x66: return UInt32(c - 0x61 + 10)
        default: return nil
        }
    }
}

/// A raw string token: the bytes between the quotes, and whether they contain escapes.
struct RawString {
    var range: Range<Int>
    var hasEscapes: Bool
}

struct Cursor {
    let buf: UnsafeRawBufferPointer
    var pos: Int
    /// Absolute stream offset of `buf[0]`, used for error offsets.
    let base: Int
    /// When false, a number that runs into the end of the buffer is reported as
    /// `.unexpectedEnd` (it might continue in the next chunk).
    let isFinal: Bool

    init(_ buf: UnsafeRawBufferPointer, pos: Int = 0, base: Int = 0, isFinal: Bool = true) {
        self.buf = buf
        self.pos = pos
        self.base = base
        self.isFinal = isFinal
    }

    @inline(__always) var count: Int { buf.count }
    @inline(__always) var atEnd: Bool { pos >= buf.count }

    @inline(__always) func error(_ kind: JSONError.Kind, at p: Int? = nil) -> JSONError {
        JSONError(kind, offset: base + (p ?? pos))
    }

    @inline(__always) mutating func skipWS() {
        while pos < buf.count && ASCII.isWS(buf[pos]) { pos += 1 }
    }

    /// Skips whitespace and returns the next byte without consuming it.
    @inline(__always) mutating func peek() throws(JSONError) -> UInt8 {
        skipWS()
        guard pos < buf.count else { throw error(.unexpectedEnd) }
        return buf[pos]
    }

    @inline(__always) mutating func expect(_ c: UInt8) throws(JSONError) {
        let b = try peek()
        guard b == c else { throw error(.unexpectedByte(b)) }
        pos += 1
    }

    /// After a member/element: consumes `,` (returns true) or the closing byte (returns false).
    @inline(__always) mutating func commaOrClose(_ close: UInt8) throws(JSONError) -> Bool {
        let b = try peek()
        pos += 1
        if b == ASCII.comma { return true }
        if b == close { return false }
        pos -= 1
        throw error(.unexpectedByte(b))
    }

    /// Opens an object; returns false if it is empty (and consumes the `}`).
    @inline(__always) mutating func beginObject() throws(JSONError) -> Bool {
        try expect(ASCII.lbrace)
        if try peek() == ASCII.rbrace { pos += 1; return false }
        return true
    }

    /// Reads an object key and the following colon.
    @inline(__always) mutating func key() throws(JSONError) -> RawString {
        let b = try peek()
        guard b == ASCII.quote else { throw error(.unexpectedByte(b)) }
        let k = try scanString()
        try expect(ASCII.colon)
        return k
    }

    // MARK: strings

    /// `pos` at the opening quote. Validates and skips the string.
    mutating func scanString() throws(JSONError) -> RawString {
        let n = buf.count
        let p = buf.baseAddress!
        let start = pos + 1
        var i = start
        var esc = false
        while true {
            // SWAR: 8 bytes at a time while none is a quote, backslash or control byte.
            while i &+ 8 <= n {
                let w = (p + i).loadUnaligned(as: UInt64.self)
                let q = w ^ 0x2222_2222_2222_2222
                let b = w ^ 0x5C5C_5C5C_5C5C_5C5C
                let hit = ((q &- 0x0101_0101_0101_0101) & ~q)
                    | ((b &- 0x0101_0101_0101_0101) & ~b)
                    | ((w &- 0x2020_2020_2020_2020) & ~w)
                let m = hit & 0x8080_8080_8080_8080
                if m != 0 {
                    // The lowest flagged byte is exact (borrows only propagate upwards).
                    i &+= m.trailingZeroBitCount &>> 3
                    break
                }
                i &+= 8
            }
            guard i < n else { pos = i; throw error(.unexpectedEnd) }
            let c = p.load(fromByteOffset: i, as: UInt8.self)
            if c == ASCII.quote {
                pos = i + 1
                return RawString(range: start..<i, hasEscapes: esc)
            } else if c == ASCII.backslash {
                esc = true
                guard i + 1 < n else { pos = i; throw error(.unexpectedEnd) }
                switch buf[i + 1] {
                case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74:
                    i += 2
                case ASCII.u:
                    guard i + 6 <= n else {
                        // Validate what we have so garbage is reported as garbage.
                        var j = i + 2
                        while j < n { if ASCII.hexValue(buf[j]) == nil { throw error(.invalidEscape, at: i) }; j += 1 }
                        pos = i; throw error(.unexpectedEnd)
                    }
                    for j in (i + 2)..<(i + 6) where ASCII.hexValue(buf[j]) == nil {
                        throw error(.invalidEscape, at: i)
                    }
                    i += 6
                default:
                    throw error(.invalidEscape, at: i)
                }
            } else if c < 0x20 {
                throw error(.controlCharacterInString, at: i)
            } else {
                i &+= 1
            }
        }
    }

    /// Reads a string value at `pos` (after whitespace) and decodes it.
    mutating func readString() throws(JSONError) -> String {
        let b = try peek()
        guard b == ASCII.quote else { throw error(.unexpectedByte(b)) }
        let s = try scanString()
        return decode(s)
    }

    func decode(_ s: RawString) -> String {
        decodeJSONString(UnsafeRawBufferPointer(rebasing: buf[s.range]), hasEscapes: s.hasEscapes)
    }

    /// Compares a raw key with an ASCII literal (escaped keys are decoded first).
    @inline(__always) func keyEquals(_ k: RawString, _ lit: StaticString) -> Bool {
        let litCount = lit.utf8CodeUnitCount
        if !k.hasEscapes {
            guard k.range.count == litCount else { return false }
            return memEqual(buf.baseAddress! + k.range.lowerBound, UnsafeRawPointer(lit.utf8Start), litCount)
        }
        return slowKeyEquals(k, UnsafeRawBufferPointer(start: lit.utf8Start, count: litCount))
    }

    func keyEquals(_ k: RawString, bytes: UnsafeRawBufferPointer) -> Bool {
        if !k.hasEscapes {
            guard k.range.count == bytes.count else { return false }
            if bytes.count == 0 { return true }
            return memEqual(buf.baseAddress! + k.range.lowerBound, bytes.baseAddress!, bytes.count)
        }
        return slowKeyEquals(k, bytes)
    }

    func slowKeyEquals(_ k: RawString, _ bytes: UnsafeRawBufferPointer) -> Bool {
        let decoded = decode(k)
        return decoded.utf8.elementsEqual(bytes)
    }

    // MARK: scalars

    /// `pos` at the first byte of a number. Returns its range.
    mutating func scanNumber() throws(JSONError) -> Range<Int> {
        let n = buf.count
        let start = pos
        var i = pos
        @inline(__always) func end() -> JSONError {
            JSONError(.unexpectedEnd, offset: base + i)
        }
        if i < n && buf[i] == ASCII.minus { i += 1 }
        guard i < n else { throw end() }
        if buf[i] == ASCII.zero {
            i += 1
        } else if ASCII.isDigit(buf[i]) {
            while i < n && ASCII.isDigit(buf[i]) { i += 1 }
        } else {
            throw error(.invalidNumber, at: start)
        }
        if i < n && buf[i] == ASCII.dot {
            i += 1
            guard i < n else { throw end() }
            guard ASCII.isDigit(buf[i]) else { throw error(.invalidNumber, at: start) }
            while i < n && ASCII.isDigit(buf[i]) { i += 1 }
        }
        if i < n && (buf[i] == 0x65 || buf[i] == 0x45) {
            i += 1
            if i < n && (buf[i] == ASCII.plus || buf[i] == ASCII.minus) { i += 1 }
            guard i < n else { throw end() }
            guard ASCII.isDigit(buf[i]) else { throw error(.invalidNumber, at: start) }
            while i < n && ASCII.isDigit(buf[i]) { i += 1 }
        }
        if i == n && !isFinal { throw end() }
        pos = i
        return start..<i
    }

    /// `pos` at `t`, `f` or `n`. Returns the literal's first byte.
    mutating func scanLiteral() throws(JSONError) -> UInt8 {
        let c = buf[pos]
        let lit: StaticString
        switch c {
        case ASCII.t: lit = "true"
        case ASCII.f: lit = "false"
        case ASCII.n: lit = "null"
        default: throw error(.unexpectedByte(c))
        }
        let len = lit.utf8CodeUnitCount
        let litBytes = UnsafeRawBufferPointer(start: lit.utf8Start, count: len)
        var j = 0
        while j < len {
            guard pos + j < buf.count else { throw error(.unexpectedEnd, at: pos + j) }
            guard buf[pos + j] == litBytes[j] else { throw error(.unexpectedByte(buf[pos + j]), at: pos + j) }
            j += 1
        }
        pos += len
        return c
    }

    /// Parses an integer value (JSON number without fraction/exponent). Returns nil for
    /// non-integers and out-of-range values (the number is still consumed and validated).
    mutating func readInt64() throws(JSONError) -> Int64? {
        let r = try scanNumber()
        var i = r.lowerBound
        var neg = false
        if buf[i] == ASCII.minus { neg = true; i += 1 }
        var v: Int64 = 0
        while i < r.upperBound {
            let c = buf[i]
            guard ASCII.isDigit(c) else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(c - ASCII.zero))
            if o1 || o2 { return nil }
            v = a
            i += 1
        }
        return neg ? -v : v
    }

    // MARK: skipping

    /// Validates and skips one value of any type (after optional whitespace).
    mutating func skipValue() throws(JSONError) {
        let c = try peek()
        switch c {
        case ASCII.quote: _ = try scanString()
        case ASCII.lbrace, ASCII.lbracket: try skipContainer()
        case ASCII.t, ASCII.f, ASCII.n: _ = try scanLiteral()
        case ASCII.minus, ASCII.zero...ASCII.nine: _ = try scanNumber()
        default: throw error(.unexpectedByte(c))
        }
    }

    /// Iterative container skip with a fixed, stack-allocated nesting stack.
    private mutating func skipContainer() throws(JSONError) {
        var stack: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                    UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        try withUnsafeMutableBytes(of: &stack) { (st) throws(JSONError) in
            // 16 x 64 bits = 1024 levels.
            try skipContainer(bits: st)
        }
    }

    private mutating func skipContainer(bits st: UnsafeMutableRawBufferPointer) throws(JSONError) {
        // One bit per level: 1 = object, 0 = array. Capacity = st.count * 8 levels.
        let maxDepth = min(JSONLimits.maxDepth, st.count * 8)
        var depth = 0
        @inline(__always) func setBit(_ d: Int, _ obj: Bool) {
            let byte = d >> 3, bit = UInt8(1) << UInt8(d & 7)
            if obj { st[byte] |= bit } else { st[byte] &= ~bit }
        }
        @inline(__always) func isObj(_ d: Int) -> Bool {
            st[d >> 3] & (UInt8(1) << UInt8(d & 7)) != 0
        }
        // Expecting a value.
        valueLoop: while true {
            let c = try peek()
            switch c {
            case ASCII.lbrace:
                pos += 1
                if try peek() == ASCII.rbrace {
                    pos += 1
                } else {
                    guard depth < maxDepth else { throw error(.tooDeep) }
                    setBit(depth, true); depth += 1
                    _ = try key()
                    continue valueLoop
                }
            case ASCII.lbracket:
                pos += 1
                if try peek() == ASCII.rbracket {
                    pos += 1
                } else {
                    guard depth < maxDepth else { throw error(.tooDeep) }
                    setBit(depth, false); depth += 1
                    continue valueLoop
                }
            case ASCII.quote: _ = try scanString()
            case ASCII.t, ASCII.f, ASCII.n: _ = try scanLiteral()
            case ASCII.minus, ASCII.zero...ASCII.nine: _ = try scanNumber()
            default: throw error(.unexpectedByte(c))
            }
            // After a value.
            while depth > 0 {
                let obj = isObj(depth - 1)
                let b = try peek()
                if b == ASCII.comma {
                    pos += 1
                    if obj { _ = try key() }
                    continue valueLoop
                }
                if (obj && b == ASCII.rbrace) || (!obj && b == ASCII.rbracket) {
                    pos += 1
                    depth -= 1
                    continue
                }
                throw error(.unexpectedByte(b))
            }
            return
        }
    }
}

@inline(__always)
func memEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
    var i = 0
    while i &+ 8 <= n {
        if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
        i &+= 8
    }
    while i < n {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
        i &+= 1
    }
    return true
}

/// Decodes the content of a JSON string (without quotes). Assumes escapes were validated
/// by `Cursor.scanString`; lone surrogates become U+FFFD, like Go's encoding/json.
func decodeJSONString(_ raw: UnsafeRawBufferPointer, hasEscapes: Bool) -> String {
    if !hasEscapes {
        return String(decoding: raw, as: UTF8.self)
    }
    var out: [UInt8] = []
    out.reserveCapacity(raw.count)
    var i = 0
    let n = raw.count
    @inline(__always) func hex4(_ at: Int) -> UInt32? {
        guard at + 4 <= n else { return nil }
        var v: UInt32 = 0
        for j in at..<(at + 4) {
            guard let h = ASCII.hexValue(raw[j]) else { return nil }
            v = v << 4 | h
        }
        return v
    }
    func appendScalar(_ v: UInt32) {
        let s = Unicode.Scalar(v) ?? "\u{FFFD}"
        for b in UTF8.encode(s)! { out.append(b) }
    }
    while i < n {
        let c = raw[i]
        if c != ASCII.backslash { out.append(c); i += 1; continue }
        guard i + 1 < n else { break }
        let e = raw[i + 1]
        i += 2
        switch e {
        case 0x62: out.append(0x08)
        case 0x66: out.append(0x0C)
        case 0x6E: out.append(0x0A)
        case 0x72: out.append(0x0D)
        case 0x74: out.append(0x09)
        case ASCII.u:
            guard let v = hex4(i) else { appendScalar(0xFFFD); i = n; break }
            i += 4
            if v >= 0xD800 && v < 0xDC00 {
                // High surrogate: need a following \uDC00-DFFF.
                if i + 6 <= n, raw[i] == ASCII.backslash, raw[i + 1] == ASCII.u,
                   let lo = hex4(i + 2), lo >= 0xDC00 && lo < 0xE000 {
                    i += 6
                    appendScalar(0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00))
                } else {
                    appendScalar(0xFFFD)
                }
            } else if v >= 0xDC00 && v < 0xE000 {
                appendScalar(0xFFFD)
            } else {
                appendScalar(v)
            }
        default: out.append(e)  // \" \\ \/
        }
    }
    return String(decoding: out, as: UTF8.self)
}
