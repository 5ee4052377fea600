/// Resumable, non-validating structural scanner used to find where a value that
/// straddles chunk boundaries ends. Validation happens afterwards, when the complete
/// value is parsed strictly by `Cursor`.
struct StructuralScan {
    enum Mode: UInt8 { case notStarted, container, string, scalar }
    var mode: Mode = .notStarted
    var depth = 0
    var inString = false
    var escape = false

    /// Scans `buf[from...]`. Returns the end index (exclusive) of the value if it completes
    /// inside this buffer. For scalars the terminating delimiter is not part of the value.
    mutating func scan(_ buf: UnsafeRawBufferPointer, from: Int) -> Int? {
        var i = from
        let n = buf.count
        if mode == .notStarted {
            guard i < n else { return nil }
            switch buf[i] {
            case ASCII.lbrace, ASCII.lbracket: mode = .container; depth = 1
            case ASCII.quote: mode = .string; inString = true
            default: mode = .scalar
            }
            i += 1
        }
        if mode == .scalar {
            while i < n {
                let c = buf[i]
                if c == ASCII.comma || c == ASCII.rbrace || c == ASCII.rbracket || ASCII.isWS(c) { return i }
                i += 1
            }
            return nil
        }
        let p = buf.baseAddress!
        while i < n {
            if inString {
                if escape {
                    escape = false
                    i += 1
                    continue
                }
                // Fast skip inside strings.
                while i &+ 8 <= n {
                    let w = (p + i).loadUnaligned(as: UInt64.self)
                    let q = w ^ 0x2222_2222_2222_2222
                    let b = w ^ 0x5C5C_5C5C_5C5C_5C5C
                    let hit = ((q &- 0x0101_0101_0101_0101) & ~q) | ((b &- 0x0101_0101_0101_0101) & ~b)
                    let m = hit & 0x8080_8080_8080_8080
                    if m != 0 { i &+= m.trailingZeroBitCount &>> 3; break }
                    i &+= 8
                }
                guard i < n else { return nil }
                let c = buf[i]
                i += 1
                if c == ASCII.backslash {
                    escape = true
                } else if c == ASCII.quote {
                    inString = false
                    if mode == .string { return i }
                }
            } else {
                let c = buf[i]
                i += 1
                switch c {
                case ASCII.quote: inString = true
                case ASCII.lbrace, ASCII.lbracket: depth += 1
                case ASCII.rbrace, ASCII.rbracket:
                    depth -= 1
                    if depth == 0 { return i }
                default: break
                }
            }
        }
        return nil
    }
}

/// Owns the carry buffer for one value in progress.
struct CarryBuffer {
    var bytes: [UInt8] = []
    /// Absolute stream offset of `bytes[0]`.
    var startOffset = 0
    var scan = StructuralScan()
    var active = false

    mutating func begin(at offset: Int) {
        bytes.removeAll(keepingCapacity: true)
        startOffset = offset
        scan = StructuralScan()
        active = true
    }

    mutating func append(_ buf: UnsafeRawBufferPointer, _ range: Range<Int>, limit: Int) throws(JSONError) {
        if bytes.count + range.count > limit {
            throw JSONError(.valueTooLarge(limit: limit), offset: startOffset)
        }
        bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[range]))
    }

    mutating func end() {
        active = false
        // Don't pin a huge buffer after an outsized item.
        if bytes.capacity > 1 << 20 { bytes = [] } else { bytes.removeAll(keepingCapacity: true) }
    }
}
